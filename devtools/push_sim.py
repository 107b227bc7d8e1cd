"""A local web push service speaking RFC 8030 (push), RFC 8291 (aes128gcm) and RFC 8292 (VAPID).

- `POST /push/<id>` delivers a message to subscription `<id>`: 201 Created with a `Location`
  of the message; 410 Gone for an unknown or expired subscription; 401 without a valid
  `Authorization: vapid t=<ES256 JWT>,k=<P-256 public key>` (the JWT's signature checked with
  `k`, its `aud` this service's origin, `exp` in the future and at most 24 hours ahead, a `sub`);
  400 without `TTL` or with a `Content-Encoding` other than aes128gcm; 413 above 4096 bytes.
  The encrypted body is kept as sent: only the subscriber's private key can read it.
- Browsers' side, for tests and local use: `POST /__sim/subscriptions` issues a new endpoint
  (`{"endpoint": ".../push/<id>"}`); `DELETE /__sim/subscriptions/<id>` expires it;
  `GET /__sim/messages?id=<id>` lists the received messages (body base64url, headers);
  `POST /__sim/failures` `{"status": [429, 503]}` answers the next pushes with those statuses;
  `{}` resets.

Run alone: `python -m devtools.push_sim --port 8790`.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from devtools.sim_runner import SimulatorServer, command_line, serve_until_interrupted
from devtools.wsgi_server import Environ, StartResponse, json_response

MAX_BODY = 4096
MAX_JWT_LIFETIME = 24 * 3600


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class State:
    subscriptions: set[str] = field(default_factory=set)
    messages: list[dict[str, Any]] = field(default_factory=list)
    forced: list[int] = field(default_factory=list)  # statuses for the next pushes
    lock: threading.Lock = field(default_factory=threading.Lock)


def vapid_check(authorization: str, *, origin: str, now: float) -> str:
    """ "" when `authorization` is a valid VAPID header for `origin`, else why not."""
    scheme, _, params = authorization.partition(" ")
    if scheme.lower() != "vapid":
        return "not the vapid scheme"
    values = dict(part.strip().split("=", 1) for part in params.split(",") if "=" in part)
    token, key = values.get("t", ""), values.get("k", "")
    try:
        header_b64, claims_b64, signature_b64 = token.split(".")
        header = json.loads(b64url_decode(header_b64))
        claims = json.loads(b64url_decode(claims_b64))
        public_key = ec.EllipticCurvePublicKey.from_encoded_point(
            ec.SECP256R1(), b64url_decode(key)
        )
        raw = b64url_decode(signature_b64)
    except ValueError:
        return "malformed token or key"
    if header.get("alg") != "ES256" or len(raw) != 64:
        return "not an ES256 JWT"
    signature = encode_dss_signature(int.from_bytes(raw[:32]), int.from_bytes(raw[32:]))
    try:
        public_key.verify(
            signature, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256())
        )
    except InvalidSignature:
        return "bad signature"
    if claims.get("aud") != origin:
        return f"aud {claims.get('aud')!r} is not {origin!r}"
    expires = claims.get("exp")
    if not isinstance(expires, int) or not now < expires <= now + MAX_JWT_LIFETIME:
        return "exp missing, past or more than 24 hours ahead"
    if not claims.get("sub"):
        return "no sub claim"
    return ""


class PushServiceSim:
    """The WSGI app."""

    def __init__(self) -> None:
        self.state = State()
        self.url = ""

    def origin(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    def __call__(self, environ: Environ, start_response: StartResponse):
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        if path.startswith("/__sim/"):
            return self.control(start_response, method, path, body, environ)
        if method == "POST" and path.startswith("/push/"):
            return self.push(start_response, path.removeprefix("/push/"), body, environ)
        return json_response(start_response, 404, {"reason": "not found"})

    def push(self, start_response: StartResponse, sub_id: str, body: bytes, environ: Environ):
        with self.state.lock:
            known = sub_id in self.state.subscriptions
            forced = self.state.forced.pop(0) if self.state.forced else None
        if not known:
            return json_response(start_response, 410, {"reason": "subscription expired"})
        problem = vapid_check(
            environ.get("HTTP_AUTHORIZATION", ""), origin=self.origin(), now=time.time()
        )
        if problem:
            return json_response(start_response, 401, {"reason": problem})
        if environ.get("HTTP_CONTENT_ENCODING", "") != "aes128gcm" and body:
            return json_response(start_response, 400, {"reason": "Content-Encoding: aes128gcm"})
        ttl = environ.get("HTTP_TTL", "")
        if not ttl.isdigit():
            return json_response(start_response, 400, {"reason": "TTL header required"})
        if len(body) > MAX_BODY:
            return json_response(start_response, 413, {"reason": "payload too large"})
        if forced is not None:
            return json_response(start_response, forced, {"reason": "injected failure"})
        message_id = uuid.uuid4().hex
        with self.state.lock:
            self.state.messages.append(
                {
                    "id": message_id,
                    "subscription": sub_id,
                    "body": b64url(body),
                    "ttl": int(ttl),
                    "urgency": environ.get("HTTP_URGENCY", "normal"),
                    "topic": environ.get("HTTP_TOPIC", ""),
                }
            )
        start_response(
            "201 Created",
            [("Location", f"{self.url}/message/{message_id}"), ("Content-Length", "0")],
        )
        return [b""]

    def control(
        self, start_response: StartResponse, method: str, path: str, body: bytes, environ: Environ
    ):
        data = json.loads(body) if body else {}
        if path == "/__sim/subscriptions" and method == "POST":
            sub_id = uuid.uuid4().hex
            with self.state.lock:
                self.state.subscriptions.add(sub_id)
            return json_response(start_response, 201, {"endpoint": f"{self.url}/push/{sub_id}"})
        if path.startswith("/__sim/subscriptions/") and method == "DELETE":
            with self.state.lock:
                self.state.subscriptions.discard(path.rsplit("/", 1)[1])
            return json_response(start_response, 200, {})
        if path == "/__sim/messages" and method == "GET":
            wanted = parse_qs(environ.get("QUERY_STRING", "")).get("id", [""])[0]
            return json_response(start_response, 200, {"messages": self.messages(wanted)})
        if path == "/__sim/failures" and method == "POST":
            with self.state.lock:
                self.state.forced = [int(status) for status in data.get("status", [])]
            return json_response(start_response, 200, {"status": self.state.forced})
        return json_response(start_response, 404, {"reason": "not found"})

    def messages(self, sub_id: str = "") -> list[dict[str, Any]]:
        with self.state.lock:
            return [m for m in self.state.messages if not sub_id or m["subscription"] == sub_id]


class PushServiceSimulator(SimulatorServer[PushServiceSim]):
    def subscribe(self) -> str:
        """A new endpoint, as a browser's `pushManager.subscribe()` would get."""
        sub_id = uuid.uuid4().hex
        with self.state.lock:
            self.state.subscriptions.add(sub_id)
        return f"{self.url}/push/{sub_id}"

    def expire(self, endpoint: str) -> None:
        with self.state.lock:
            self.state.subscriptions.discard(endpoint.rsplit("/", 1)[1])

    def fail_next(self, *statuses: int) -> None:
        with self.state.lock:
            self.state.forced = list(statuses)

    def received(self, endpoint: str) -> list[dict[str, Any]]:
        return self.sim.messages(endpoint.rsplit("/", 1)[1])


def start_push_simulator(host: str = "127.0.0.1", port: int = 0) -> PushServiceSimulator:
    """Serve the push service on a daemon thread (`port=0` picks a free one)."""
    return PushServiceSimulator(PushServiceSim(), host, port, name="push-service-sim")


if __name__ == "__main__":
    options = command_line(__doc__ or "", port=8790).parse_args()
    running = start_push_simulator(options.host, options.port)
    serve_until_interrupted(
        running,
        f"Push service simulator on {running.url}",
        f"New endpoint: POST {running.url}/__sim/subscriptions",
    )
