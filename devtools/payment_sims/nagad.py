"""A local Nagad (merchant checkout API v-0.2.0) for development and tests.

It holds its own RSA key pair (generated at start: `public_key_pem` is what the adapter's
NAGAD_PUBLIC_KEY must be) and knows the merchant's public key, and speaks the same scheme as
Nagad: request `sensitiveData` decrypted with its private key and the merchant's signature
checked; reply `sensitiveData` encrypted for the merchant and signed with its own key.

    POST /api/dfs/check-out/initialize/{merchantId}/{orderId}
    POST /api/dfs/check-out/complete/{paymentReferenceId}
    GET  /api/dfs/verify/payment/{paymentReferenceId}
    GET  /pay/{paymentReferenceId}        the payer's page: Pay / Fail / Cancel
    POST /pay/{paymentReferenceId}        action=pay|fail|cancel → 302 to the merchant callback
    POST /__hooks                         JSON: set test hooks from another process

Payment reference ids are shaped like Nagad's: long standard base64 (well over 100
characters) with `=` padding. Every one the simulator issues holds a `+`, a `/` and `=`, so
a merchant that does not URL-encode the reference as a path segment, or mangles it in a query
string, fails at once. Paths are routed on the raw request target, segment by segment
(a `%2F` inside a segment stays part of the reference, as on a real server).

Hooks (`sim.hooks` or POST /__hooks): `tamper_amount` (verify reports this amount),
`forge_signature` (replies signed with a stranger's key), `hang` (seconds to sleep before
answering any API call), `error` ([status, message]: the next API calls fail so).

    python -m devtools.payment_sims.nagad      # serves on 127.0.0.1:8794, prints the env to use
"""

from __future__ import annotations

import base64
import html
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from devtools.sim_runner import (
    SimulatorServer,
    assignments,
    command_line,
    serve_until_interrupted,
)
from devtools.wsgi_server import Environ, StartResponse, json_response, status_line
from lib.payments.nagad import (
    decrypt,
    encrypt,
    load_public_key,
    sensitive_json,
    sign,
    signature_valid,
)

DEFAULT_PORT = 8794
API_PREFIX = "/api/dfs/"
DHAKA = ZoneInfo("Asia/Dhaka")
RETURN_STATUS = {"pay": "Success", "fail": "Failed", "cancel": "Aborted"}
REFERENCE_BYTES = 79  # 108 base64 characters
STATUS_CODE = {"Success": "00_0000_000", "Failed": "00_1111_001", "Aborted": "00_1111_002"}


def new_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def public_pem(key: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> str:
    public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def dhaka_now() -> str:
    return datetime.now(DHAKA).strftime("%Y%m%d%H%M%S")


def payment_reference(merchant_id: str, order_id: str) -> str:
    """A reference shaped like Nagad's: base64 of `time.merchant.order.` and random bytes,
    REFERENCE_BYTES long (108 characters, ending in `==`), and (drawn again until it does)
    holding a `+` and a `/`. It must still fit, with the challenge, in one RSA block of the
    initialize reply."""
    stamp = datetime.now(DHAKA).strftime("%m%d%H%M%S%f")[:13]
    head = f"{stamp}.{merchant_id}.{order_id}.".encode()
    while True:
        size = max(REFERENCE_BYTES - len(head), 12)
        tail = secrets.token_bytes(size + (1 - len(head) - size) % 3)  # length % 3 == 1: "=="
        reference = base64.b64encode(head + tail).decode()
        if "+" in reference and "/" in reference:
            return reference


def path_segments(environ: Environ) -> list[str]:
    """The request path split on `/` before percent-decoding each segment."""
    raw = str(environ.get("REQUEST_URI") or quote(environ.get("PATH_INFO", "")))
    path = urlsplit(raw).path
    return [unquote(segment) for segment in path.strip("/").split("/")]


@dataclass
class Hooks:
    tamper_amount: str | None = None
    forge_signature: bool = False
    hang: float = 0.0
    error: tuple[int, str] | None = None

    def reset(self) -> None:
        self.tamper_amount, self.forge_signature, self.hang, self.error = None, False, 0.0, None


@dataclass
class NagadPayment:
    reference: str
    merchant_id: str
    order_id: str
    challenge: str
    amount: str = ""
    callback_url: str = ""
    status: str = "OrderInitiated"
    issuer_ref: str = ""
    paid_at: str = ""
    info: dict = field(default_factory=dict)


class NagadSimulator:
    """The WSGI app; `merchant_id` and the merchant's public key PEM are what it accepts."""

    def __init__(self, *, merchant_id: str, merchant_public_key_pem: str) -> None:
        self.merchant_id = merchant_id
        self.merchant_key = load_public_key(merchant_public_key_pem, "merchant public key")
        self.private_key = new_private_key()
        self.public_key_pem = public_pem(self.private_key)
        self.hooks = Hooks()
        self.payments: dict[str, NagadPayment] = {}
        self.orders: set[tuple[str, str]] = set()
        self.lock = threading.Lock()
        self.url = ""  # set by start_nagad_simulator (the pay page's absolute address)

    # -- plumbing --------------------------------------------------------------------------

    def __call__(self, environ: Environ, start_response: StartResponse):
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        segments = path_segments(environ)
        try:
            size = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            size = 0
        raw = environ["wsgi.input"].read(size) if size else b""
        if path == "/__hooks" and method == "POST":
            return self.set_hooks(start_response, raw)
        if segments[0] == "pay" and len(segments) == 2:
            return self.pay_page(start_response, method, segments[1], raw)
        if not path.startswith(API_PREFIX):
            return json_response(start_response, 404, {"reason": "NotFound"})
        if self.hooks.hang:
            time.sleep(self.hooks.hang)
        if self.hooks.error:
            status, message = self.hooks.error
            return json_response(start_response, status, {"reason": "Error", "message": message})
        parts = segments[len(API_PREFIX.strip("/").split("/")) :]
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return self.refuse(start_response, "Invalid JSON")
        if method == "POST" and parts[:2] == ["check-out", "initialize"] and len(parts) == 4:
            return self.initialize(start_response, parts[2], parts[3], body, environ)
        if method == "POST" and parts[:2] == ["check-out", "complete"] and len(parts) == 3:
            return self.complete(start_response, parts[2], body, environ)
        if method == "GET" and parts[:2] == ["verify", "payment"] and len(parts) == 3:
            return self.verify(start_response, parts[2])
        return json_response(start_response, 404, {"reason": "NotFound"})

    def refuse(self, start_response: StartResponse, message: str, status: int = 400):
        return json_response(start_response, status, {"reason": "Invalid", "message": message})

    def opened(self, body: dict) -> dict | None:
        """The request's sensitive data, if it decrypts and the merchant signed it."""
        try:
            plaintext = decrypt(self.private_key, str(body.get("sensitiveData") or ""))
        except ValueError:
            return None
        if not signature_valid(self.merchant_key, plaintext, str(body.get("signature") or "")):
            return None
        data = json.loads(plaintext)
        return data if isinstance(data, dict) else None

    def sealed(self, data: dict[str, Any]) -> dict[str, str]:
        plaintext = sensitive_json(data)
        signer = new_private_key() if self.hooks.forge_signature else self.private_key
        return {
            "sensitiveData": encrypt(self.merchant_key, plaintext),
            "signature": sign(signer, plaintext),
        }

    @staticmethod
    def headers_ok(environ: Environ) -> bool:
        return all(
            environ.get(name)
            for name in ("HTTP_X_KM_API_VERSION", "HTTP_X_KM_IP_V4", "HTTP_X_KM_CLIENT_TYPE")
        )

    # -- the API ---------------------------------------------------------------------------

    def initialize(self, start_response, merchant_id, order_id, body, environ):
        if not self.headers_ok(environ):
            return self.refuse(start_response, "X-KM headers missing")
        data = self.opened(body)
        if data is None:
            return self.refuse(start_response, "Invalid signature or sensitive data")
        if merchant_id != self.merchant_id or data.get("merchantId") != merchant_id:
            return self.refuse(start_response, "Invalid merchant")
        if data.get("orderId") != order_id or not data.get("challenge"):
            return self.refuse(start_response, "Invalid order")
        with self.lock:
            if (merchant_id, order_id) in self.orders:
                return self.refuse(start_response, "Duplicate order id", 409)
            self.orders.add((merchant_id, order_id))
            reference = payment_reference(merchant_id, order_id)
            payment = NagadPayment(reference, merchant_id, order_id, secrets.token_hex(20))
            self.payments[reference] = payment
        reply = self.sealed(
            {
                "paymentReferenceId": reference,
                "challenge": payment.challenge,
                "acceptDateTime": dhaka_now(),
            }
        )
        return json_response(start_response, 200, reply)

    def complete(self, start_response, reference, body, environ):
        if not self.headers_ok(environ):
            return self.refuse(start_response, "X-KM headers missing")
        payment = self.payments.get(reference)
        if payment is None:
            return self.refuse(start_response, "Unknown payment reference", 404)
        data = self.opened(body)
        if data is None:
            return self.refuse(start_response, "Invalid signature or sensitive data")
        if (
            data.get("merchantId") != payment.merchant_id
            or data.get("orderId") != payment.order_id
            or data.get("challenge") != payment.challenge
            or data.get("currencyCode") != "050"
        ):
            return self.refuse(start_response, "Sensitive data does not match the payment")
        try:
            amount = Decimal(str(data.get("amount")))
        except ArithmeticError:
            return self.refuse(start_response, "Invalid amount")
        callback = str(body.get("merchantCallbackURL") or "")
        if amount <= 0 or not callback.startswith(("http://", "https://")):
            return self.refuse(start_response, "Invalid amount or callback URL")
        payment.amount, payment.callback_url = str(data["amount"]), callback
        payment.info = body.get("additionalMerchantInfo") or {}
        payment.status = "Ready"
        return json_response(
            start_response, 200, {"status": "Success", "callBackUrl": self.pay_url(reference)}
        )

    def pay_url(self, reference: str) -> str:
        return f"{self.url}/pay/{quote(reference, safe='')}"

    def verify(self, start_response, reference):
        payment = self.payments.get(reference)
        if payment is None:
            return self.refuse(start_response, "Unknown payment reference", 404)
        amount = self.hooks.tamper_amount or payment.amount
        return json_response(
            start_response,
            200,
            {
                "merchantId": payment.merchant_id,
                "orderId": payment.order_id,
                "paymentRefId": payment.reference,
                "amount": amount,
                "clientMobileNo": "017****5678",
                "merchantMobileNo": "01700000000",
                "orderDateTime": payment.paid_at,
                "issuerPaymentDateTime": payment.paid_at,
                "issuerPaymentRefNo": payment.issuer_ref,
                "additionalMerchantInfo": payment.info,
                "status": payment.status,
                "statusCode": STATUS_CODE.get(payment.status, "000"),
            },
        )

    # -- the payer's page ------------------------------------------------------------------

    def pay_page(self, start_response, method, reference, raw):
        payment = self.payments.get(reference)
        if payment is None or not payment.callback_url:
            start_response(status_line(404), [("Content-Type", "text/plain")])
            return [b"unknown payment"]
        if method == "GET":
            ref = html.escape(quote(reference, safe=""))
            page = (
                "<!doctype html><meta charset=utf-8><title>Nagad (simulator)</title>"
                f"<h1>Nagad</h1><p>Pay BDT {html.escape(payment.amount)} for order "
                f"{html.escape(payment.order_id)}</p>"
                + "".join(
                    f'<form method=post action="/pay/{ref}"><button name=action value={a}>'
                    f"{a.title()}</button></form>"
                    for a in RETURN_STATUS
                )
            ).encode()
            start_response(
                status_line(200),
                [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(page)))],
            )
            return [page]
        action = (parse_qs(raw.decode()).get("action") or [""])[0]
        status = RETURN_STATUS.get(action)
        if status is None:
            start_response(status_line(400), [("Content-Type", "text/plain")])
            return [b"action must be pay, fail or cancel"]
        with self.lock:
            if payment.status == "Ready":
                payment.status = status
                payment.paid_at = dhaka_now()
                if status == "Success":
                    payment.issuer_ref = f"7{secrets.token_hex(5).upper()}"
        query = {
            "merchant": payment.merchant_id,
            "order_id": payment.order_id,
            "payment_ref_id": payment.reference,
            "status": payment.status,
            "status_code": STATUS_CODE.get(payment.status, "000"),
            "message": f"Payment {payment.status}",
            "payment_dt": payment.paid_at,
            "issuer_payment_ref": payment.issuer_ref,
        }
        parts = urlsplit(payment.callback_url)
        joined = "&".join(filter(None, [parts.query, urlencode(query)]))
        start_response(status_line(302), [("Location", urlunsplit(parts._replace(query=joined)))])
        return [b""]

    def set_hooks(self, start_response, raw):
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            return self.refuse(start_response, "Invalid JSON")
        if data.get("reset"):
            self.hooks.reset()
        for name in ("tamper_amount", "forge_signature", "hang", "error"):
            if name in data:
                value = data[name]
                setattr(self.hooks, name, tuple(value) if name == "error" and value else value)
        return json_response(start_response, 200, {"ok": True})


class NagadSimulatorServer(SimulatorServer[NagadSimulator]):
    """A running simulator: `.url` (the base to pay at), `.api_url` (NAGAD_BASE_URL),
    `.sim` (hooks, payments), `.public_key_pem` (NAGAD_PUBLIC_KEY), `.env()`."""

    def __init__(
        self, sim: NagadSimulator, host: str, port: int, merchant_private_key_pem: str = ""
    ) -> None:
        super().__init__(sim, host, port, name="nagad-simulator")
        self.api_url = f"{self.url}/api/dfs"
        self.public_key_pem = sim.public_key_pem
        self.merchant_private_key_pem = merchant_private_key_pem

    def env(self) -> dict[str, str]:
        """Settings that point the adapter here (the merchant key only when generated here)."""
        return {
            "NAGAD_BASE_URL": self.api_url,
            "NAGAD_MERCHANT_ID": self.sim.merchant_id,
            "NAGAD_PUBLIC_KEY": self.public_key_pem,
            "NAGAD_MERCHANT_PRIVATE_KEY": self.merchant_private_key_pem,
        }


def start_nagad_simulator(
    *,
    merchant_id: str = "683002007104225",
    merchant_public_key_pem: str = "",
    host: str = "127.0.0.1",
    port: int = 0,
) -> NagadSimulatorServer:
    """Serve a simulator on a daemon thread (`port=0` picks a free one). Without a merchant
    public key, a merchant key pair is generated too (see `.env()`)."""
    merchant_private = ""
    if not merchant_public_key_pem:
        key = new_private_key()
        merchant_private, merchant_public_key_pem = private_pem(key), public_pem(key)
    sim = NagadSimulator(merchant_id=merchant_id, merchant_public_key_pem=merchant_public_key_pem)
    return NagadSimulatorServer(sim, host, port, merchant_private)


def main() -> None:  # pragma: no cover - manual use
    args = command_line(__doc__, port=DEFAULT_PORT).parse_args()
    server = start_nagad_simulator(host=args.host, port=args.port)
    heading = f"Nagad simulator on {server.url}; point the adapter at it with:"
    serve_until_interrupted(server, heading, *assignments(server.env()))


if __name__ == "__main__":  # pragma: no cover
    main()
