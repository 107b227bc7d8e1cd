"""Which application is calling: the API key headers of a request, checked against the key's
cached record (`lib.access.api_keys.ApiKeyRecord`).

Every request outside the exempt paths (`lib.access.paths`) sends `X-API-Key: <key id>`.

* A publishable key (`zk_pub_...`, browser storefronts) needs nothing more; when the request
  carries an `Origin` header, that origin must be one of the key's allowed origins.
* A secret key (`zk_sec_...`, server-side callers) also proves it holds one of the key's
  unexpired secrets, either by sending it, `X-API-Secret: zk_secret_...`, or, without the secret
  ever travelling, by signing the request with `X-Timestamp` and `X-Signature`.

Signing a request
-----------------
1. `timestamp`: the current Unix time in whole seconds, as decimal digits (`1764183600`).
2. `body_hash`: lower-case hex SHA-256 of the exact body bytes sent (for no body, the hash
   of the empty string, `e3b0c442...7852b855`).
3. `message`, four lines joined by `\\n` (no trailing newline):
   `{timestamp}\\n{METHOD}\\n{path}?{query}\\n{body_hash}`, with METHOD in upper case, `path`
   the URL path as sent (`/api/v1/orders`), `query` the raw query string as sent, without
   the `?` (`page=2&page_size=50`; empty when there is none, so the line ends in `?`).
4. `signing_key`: the lower-case hex SHA-256 of the secret (64 characters, as ASCII bytes);
   the server keeps only this hash, which is why it is the key.
5. `signature`: lower-case hex HMAC-SHA256 of `message` under `signing_key`.
6. Send `X-API-Key: <key id>`, `X-Timestamp: <timestamp>`, `X-Signature: <signature>`.

In Python::

    import hashlib, hmac, time

    timestamp = str(int(time.time()))
    body_hash = hashlib.sha256(body).hexdigest()
    message = f"{timestamp}\\n{method.upper()}\\n{path}?{query}\\n{body_hash}".encode()
    signing_key = hashlib.sha256(secret.encode()).hexdigest().encode()
    signature = hmac.new(signing_key, message, hashlib.sha256).hexdigest()

A timestamp more than `API_SIGNATURE_WINDOW` seconds (default 300) away from the server's
clock is refused (401 `signature_expired`), and each signature is accepted once (401
`signature_replayed`): sign every attempt afresh, retries included. Two identical requests
signed in the same second have the same signature, so the second is refused: make them differ
(a query parameter), or wait a second.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest
from django.utils.encoding import escape_uri_path

from db.models import ApiKeyKind
from lib.access.api_key_cache import ApiKeyRecord
from lib.access.api_keys import key_id_is_well_formed, secret_hash
from lib.access.context import ApiKeyInfo
from lib.conf import config
from lib.errors import ApiError

SIGNATURE_PATTERN = re.compile(r"[0-9a-f]{64}")
TIMESTAMP_PATTERN = re.compile(r"[0-9]{1,12}")
DEFAULT_PORTS = {"http": ":80", "https": ":443"}


def unauthenticated(code: str) -> ApiError:
    return ApiError(code, status=401)


def signature_message(*, timestamp: str, method: str, path: str, query: str, body: bytes) -> bytes:
    body_hash = hashlib.sha256(body).hexdigest()
    return f"{timestamp}\n{method.upper()}\n{path}?{query}\n{body_hash}".encode()


def signature_compute(*, signing_key: str, message: bytes) -> str:
    """`signing_key` is the SHA-256 hex of the secret (what the database stores)."""
    return hmac.new(signing_key.encode(), message, hashlib.sha256).hexdigest()


def request_body(request: HttpRequest) -> bytes:
    try:
        return request.body
    except RequestDataTooBig:
        raise ApiError("payload_too_large", status=413) from None


@dataclass(frozen=True, slots=True)
class KeyCredentials:
    """The API key headers of one request, checked for form only (no store consulted yet)."""

    key_id: str
    secret: str | None = None
    signature: str | None = None
    message: bytes = b""
    # Found before any store was asked ("signature_invalid", "signature_expired"); reported
    # only once the key itself is known to be good.
    signature_error: str | None = None

    @property
    def nonce_key(self) -> str | None:
        """The KV key that claims this signature (`SET NX`), for a signature worth checking."""
        if self.signature is None or self.signature_error:
            return None
        return f"sig:{self.signature}"


def credentials_read(request: HttpRequest, *, now: float) -> KeyCredentials:
    key_id = request.headers.get("X-API-Key", "").strip()
    if not key_id:
        raise unauthenticated("api_key_required")
    if not key_id_is_well_formed(key_id):
        raise unauthenticated("api_key_invalid")
    raw_signature = request.headers.get("X-Signature")
    if raw_signature is None:
        return KeyCredentials(key_id, secret=request.headers.get("X-API-Secret") or None)
    signature = raw_signature.strip().lower()
    timestamp = request.headers.get("X-Timestamp", "").strip()
    if not SIGNATURE_PATTERN.fullmatch(signature) or not TIMESTAMP_PATTERN.fullmatch(timestamp):
        return KeyCredentials(key_id, signature=signature, signature_error="signature_invalid")
    if abs(now - int(timestamp)) > config.api_signature_window:
        return KeyCredentials(key_id, signature=signature, signature_error="signature_expired")
    message = signature_message(
        timestamp=timestamp,
        method=request.method or "GET",
        path=escape_uri_path(request.path),
        query=request.META.get("QUERY_STRING", ""),
        body=request_body(request),
    )
    return KeyCredentials(key_id, signature=signature, message=message)


def origin_key(origin: str) -> str:
    """An `Origin` header as stored in allowed origins (lower case, no default port)."""
    origin = origin.strip().lower()
    scheme = origin.partition("://")[0]
    default_port = DEFAULT_PORTS.get(scheme)
    if default_port and origin.endswith(default_port):
        origin = origin.removesuffix(default_port)
    return origin


def api_key_authenticate(
    record: ApiKeyRecord | None,
    credentials: KeyCredentials,
    *,
    origin: str | None,
    nonce_claimed: bool,
    now: float,
) -> ApiKeyInfo:
    """The calling key, or the 401/403 that refuses the request."""
    if record is None:
        raise unauthenticated("api_key_invalid")
    if record.revoked:
        raise unauthenticated("api_key_revoked")
    if record.kind == ApiKeyKind.PUBLISHABLE:
        if origin is not None and origin_key(origin) not in record.origins:
            raise ApiError("origin_denied", status=403)
        return record.info()
    live_hashes = record.live_secret_hashes(now)
    if credentials.signature is not None:
        if credentials.signature_error:
            raise unauthenticated(credentials.signature_error)
        if not any(
            hmac.compare_digest(
                signature_compute(signing_key=digest, message=credentials.message),
                credentials.signature,
            )
            for digest in live_hashes
        ):
            raise unauthenticated("signature_invalid")
        if not nonce_claimed:
            raise unauthenticated("signature_replayed")
    elif credentials.secret is not None:
        presented = secret_hash(credentials.secret)
        if not any(hmac.compare_digest(presented, digest) for digest in live_hashes):
            raise unauthenticated("api_secret_invalid")
    else:
        raise unauthenticated("api_secret_required")
    return record.info()
