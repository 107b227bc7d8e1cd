"""Nagad merchant checkout (API v-0.2.0), per Nagad's public merchant integration guide.

1. `POST check-out/initialize/{merchantId}/{orderId}`: `sensitiveData` = base64 of the JSON
   `{merchantId, datetime, orderId, challenge}` RSA-encrypted (PKCS#1 v1.5) with Nagad's public
   key, `signature` = base64 SHA256withRSA (PKCS#1 v1.5) of the same JSON with our private key.
   The reply's `sensitiveData` is decrypted with our private key and its `signature` checked
   with Nagad's public key (a bad one is refused): `{paymentReferenceId, challenge, ...}`.
2. `POST check-out/complete/{paymentReferenceId}` with `{merchantId, orderId, currencyCode,
   amount, challenge}` (same scheme) and `merchantCallbackURL` → `callBackUrl` for the payer.
3. The payer comes back to the callback with `payment_ref_id`, `order_id`, `status` (a hint
   only): `GET verify/payment/{paymentReferenceId}` is the answer that counts.

Payment reference ids are long standard base64 strings (over 100 characters) with `=` padding
and may hold `+` and `/`: they are accepted as such from the callback (a `+` that arrived
unencoded in the query string reads as a space and is put back), and always percent-encoded
as one path segment (`reference_path`) on the way back to Nagad.

Nagad documents no refund API for this checkout, so `refund` raises
`ProviderError(code="unsupported")`: refunds go through Nagad's merchant portal.
All RSA work is done by `cryptography`; every call has a timeout.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from lib.conf import NagadConfig, load_nagad_config
from lib.payments.base import (
    ProviderError,
    ProviderRefund,
    ProviderStatus,
    RefundQuery,
    RefundResult,
    StartResult,
)

DHAKA = ZoneInfo("Asia/Dhaka")
CURRENCY_BDT = "050"  # ISO 4217 numeric code of the taka
ORDER_ID_MAX = 32  # Nagad's exact limit is not published: keep ids short and alphanumeric
# A payment reference: base64 (standard, or URL-safe) with its padding, at most 255 characters
# (what Payment.transaction_id and PaymentEvent.provider_reference hold).
REFERENCE = re.compile(r"[A-Za-z0-9+/_\-]{1,253}={0,2}")
CAPTURED = {"success"}
CANCELLED = {"aborted", "cancelled", "canceled"}
FAILED = {"failed", "unknownfailed", "fraud", "rejected", "expired"}


class NagadKeyError(ProviderError, ValueError):
    """A configured key is missing or is not a usable RSA key (a configuration error: the
    gateway is unusable, so callers answer 503 rather than crash)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="nagad_not_configured")


# --- keys and the encryption/signature scheme ---------------------------------------------


def _pem_bytes(value: str, name: str, kind: str) -> bytes:
    text = (value or "").replace("\\n", "\n").strip()
    if not text:
        raise NagadKeyError(f"{name} is not set: it must hold an RSA {kind} key (PEM).")
    if "-----BEGIN" not in text:  # Nagad's portal hands out the bare base64 body
        body = re.sub(r"\s+", "", text)
        label = "PRIVATE KEY" if kind == "private" else "PUBLIC KEY"
        lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
        text = f"-----BEGIN {label}-----\n{lines}\n-----END {label}-----"
    return text.encode()


def load_private_key(value: str, name: str = "NAGAD_MERCHANT_PRIVATE_KEY") -> rsa.RSAPrivateKey:
    """Our RSA private key from PEM (PKCS#8 or PKCS#1), with an error naming the setting."""
    try:
        key = serialization.load_pem_private_key(_pem_bytes(value, name, "private"), None)
    except NagadKeyError:
        raise
    except (ValueError, TypeError) as exc:
        raise NagadKeyError(
            f"{name} is not a valid unencrypted PEM RSA private key ({exc})."
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise NagadKeyError(f"{name} holds a {type(key).__name__}, not an RSA private key.")
    return key


def load_public_key(value: str, name: str = "NAGAD_PUBLIC_KEY") -> rsa.RSAPublicKey:
    """An RSA public key from PEM (SubjectPublicKeyInfo or PKCS#1), naming the setting."""
    try:
        key = serialization.load_pem_public_key(_pem_bytes(value, name, "public"))
    except NagadKeyError:
        raise
    except (ValueError, TypeError) as exc:
        raise NagadKeyError(f"{name} is not a valid PEM RSA public key ({exc}).") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise NagadKeyError(f"{name} holds a {type(key).__name__}, not an RSA public key.")
    return key


def sensitive_json(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def encrypt(public_key: rsa.RSAPublicKey, plaintext: str) -> str:
    return base64.b64encode(public_key.encrypt(plaintext.encode(), padding.PKCS1v15())).decode()


def decrypt(private_key: rsa.RSAPrivateKey, ciphertext: str) -> str:
    return private_key.decrypt(
        base64.b64decode(ciphertext, validate=True), padding.PKCS1v15()
    ).decode()


def sign(private_key: rsa.RSAPrivateKey, plaintext: str) -> str:
    signature = private_key.sign(plaintext.encode(), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode()


def signature_valid(public_key: rsa.RSAPublicKey, plaintext: str, signature: str) -> bool:
    try:
        public_key.verify(
            base64.b64decode(signature, validate=True),
            plaintext.encode(),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


def dhaka_now() -> str:
    return datetime.now(DHAKA).strftime("%Y%m%d%H%M%S")


def nagad_order_id(payment_id: str) -> str:
    """Our payment id as a Nagad order id: alphanumeric, at most ORDER_ID_MAX characters."""
    order_id = re.sub(r"[^A-Za-z0-9]", "", str(payment_id))[:ORDER_ID_MAX]
    if not order_id:
        raise ProviderError("the payment id gives no usable Nagad order id", code="invalid")
    return order_id


def money(amount: Decimal) -> str:
    return f"{Decimal(amount).quantize(Decimal('0.01'))}"


def payment_reference_valid(reference: str) -> str:
    """`reference` when it is shaped like a Nagad payment reference; ProviderError otherwise."""
    if not REFERENCE.fullmatch(reference):
        raise ProviderError("not a Nagad payment reference", code="invalid")
    return reference


def reference_path(template: str, reference: str) -> str:
    """`template` with `{reference}` filled in as one percent-encoded path segment (`/`, `+`
    and `=` are data in a reference, not path syntax)."""
    return template.format(reference=quote(payment_reference_valid(reference), safe=""))


# --- the adapter ------------------------------------------------------------------------


class NagadGateway:
    name = "nagad"

    def __init__(self, settings: NagadConfig, *, transport: httpx.BaseTransport | None = None):
        if not settings.merchant_id:
            raise NagadKeyError("NAGAD_MERCHANT_ID is not set.")
        self.settings = settings
        self.base_url = settings.base_url.rstrip("/")
        self.private_key = load_private_key(settings.merchant_private_key)
        self.nagad_key = load_public_key(settings.public_key)
        self.transport = transport

    # -- HTTP ------------------------------------------------------------------------------

    def _headers(self, client_ip: str) -> dict[str, str]:
        return {
            "X-KM-Api-Version": self.settings.api_version,
            "X-KM-IP-V4": client_ip or self.settings.merchant_ip,
            "X-KM-Client-Type": self.settings.client_type,
            "Content-Type": "application/json",
            "Accept": "application/json",
        }

    def _call(self, method: str, path: str, *, body: dict | None = None, headers=None) -> dict:
        url = f"{self.base_url}/{path.lstrip('/')}"
        try:
            with httpx.Client(timeout=self.settings.http_timeout, transport=self.transport) as c:
                response = c.request(method, url, json=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise ProviderError(
                f"Nagad did not answer {path} in time", code="timeout", retryable=True
            ) from exc
        except httpx.HTTPError as exc:
            raise ProviderError(
                f"Nagad could not be reached ({type(exc).__name__})",
                code="unreachable",
                retryable=True,
            ) from exc
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code >= 500:
            raise ProviderError(
                f"Nagad answered {response.status_code} on {path}",
                code="unavailable",
                retryable=True,
            )
        if response.status_code >= 400 or not isinstance(data, dict):
            reason = data.get("message") or data.get("reason") if isinstance(data, dict) else ""
            raise ProviderError(
                f"Nagad refused {path}: {response.status_code} {reason or ''}".strip(),
                code="rejected",
            )
        return data

    def _sealed(self, data: dict[str, Any]) -> dict[str, str]:
        plaintext = sensitive_json(data)
        return {
            "sensitiveData": encrypt(self.nagad_key, plaintext),
            "signature": sign(self.private_key, plaintext),
        }

    def _opened(self, reply: dict) -> dict:
        """The reply's sensitive data, decrypted and checked against Nagad's signature."""
        try:
            plaintext = decrypt(self.private_key, str(reply.get("sensitiveData") or ""))
        except (ValueError, binascii.Error) as exc:
            raise ProviderError("Nagad's reply could not be decrypted", code="bad_reply") from exc
        if not signature_valid(self.nagad_key, plaintext, str(reply.get("signature") or "")):
            raise ProviderError("Nagad's reply signature is invalid", code="bad_signature")
        try:
            data = json.loads(plaintext)
        except ValueError as exc:
            raise ProviderError("Nagad's reply is not JSON", code="bad_reply") from exc
        if not isinstance(data, dict):
            raise ProviderError("Nagad's reply is not an object", code="bad_reply")
        return data

    # -- Gateway ---------------------------------------------------------------------------

    def start(
        self, *, payment_id: str, invoice: str, amount: Decimal, callback_url: str, customer: dict
    ) -> StartResult:
        merchant_id = self.settings.merchant_id
        order_id = nagad_order_id(payment_id)
        headers = self._headers(str((customer or {}).get("ip") or ""))
        stamp = dhaka_now()
        init = self._call(
            "POST",
            f"check-out/initialize/{merchant_id}/{order_id}",
            body={
                "dateTime": stamp,
                **self._sealed(
                    {
                        "merchantId": merchant_id,
                        "datetime": stamp,
                        "orderId": order_id,
                        "challenge": secrets.token_hex(20),
                    }
                ),
            },
            headers=headers,
        )
        opened = self._opened(init)
        reference = str(opened.get("paymentReferenceId") or "")
        challenge = str(opened.get("challenge") or "")
        if not reference or not challenge:
            raise ProviderError("Nagad's initialize reply lacks a reference", code="bad_reply")
        complete = self._call(
            "POST",
            reference_path("check-out/complete/{reference}", reference),
            body={
                **self._sealed(
                    {
                        "merchantId": merchant_id,
                        "orderId": order_id,
                        "currencyCode": CURRENCY_BDT,
                        "amount": money(amount),
                        "challenge": challenge,
                    }
                ),
                "merchantCallbackURL": self.settings.callback_url or callback_url,
                "additionalMerchantInfo": {"invoice": str(invoice)},
            },
            headers=headers,
        )
        redirect = str(complete.get("callBackUrl") or "")
        if str(complete.get("status", "")).lower() != "success" or not redirect:
            raise ProviderError(
                f"Nagad did not accept the payment: {complete.get('message') or complete}",
                code="rejected",
            )
        return StartResult(
            provider_payment_id=reference,
            redirect_url=redirect,
            raw={
                "orderId": order_id,
                "paymentReferenceId": reference,
                "acceptDateTime": opened.get("acceptDateTime", ""),
                "status": complete.get("status"),
                "callBackUrl": redirect,
            },
        )

    def query(self, *, provider_payment_id: str) -> ProviderStatus:
        reference = payment_reference_valid(str(provider_payment_id))
        data = self._call(
            "GET",
            reference_path("verify/payment/{reference}", reference),
            headers={"Accept": "application/json"},
        )
        replied = str(data.get("paymentRefId") or reference)
        if replied != reference:
            raise ProviderError("Nagad verified another payment", code="mismatch")
        status = str(data.get("status") or "").lower()
        if status in CAPTURED:
            state = "captured"
        elif status in CANCELLED:
            state = "cancelled"
        elif status in FAILED:
            state = "failed"
        else:
            state = "pending"
        try:
            amount = Decimal(str(data["amount"])) if data.get("amount") not in (None, "") else None
        except (InvalidOperation, ValueError):
            raise ProviderError(
                "Nagad's verify reply has no valid amount", code="bad_reply"
            ) from None
        if state == "captured" and amount is None:
            raise ProviderError("Nagad reports success without an amount", code="bad_reply")
        return ProviderStatus(
            provider_payment_id=reference,
            state=state,
            amount=amount,
            transaction_id=str(data.get("issuerPaymentRefNo") or "") if state == "captured" else "",
            raw=data,
        )

    def confirm(self, *, provider_payment_id: str, callback: dict) -> ProviderStatus:
        """Verify with Nagad; the callback's status is only a hint. The order id Nagad reports
        must be the one in the callback (when it has one); the caller compares the amount and
        the order with its own payment record (`raw["orderId"]` is Nagad's order id)."""
        status = self.query(provider_payment_id=provider_payment_id)
        hinted = str((callback or {}).get("order_id") or "")
        verified = str(status.raw.get("orderId") or "")
        if hinted and verified and hinted != verified:
            raise ProviderError("Nagad's order id differs from the callback's", code="mismatch")
        return status

    def refund(
        self, *, provider_payment_id: str, transaction_id: str, amount: Decimal, reason: str
    ) -> RefundResult:
        raise ProviderError("refund not supported by the public API", code="unsupported")

    def refund_status(self, *, query: RefundQuery) -> ProviderRefund:
        raise ProviderError("refund not supported by the public API", code="unsupported")

    def callback_payment_id(self, *, request_data: dict) -> str:
        """The payer's return carries no signature: only the reference is taken from it, and
        `confirm` asks Nagad itself. Base64 holds no spaces: a space is a `+` that came
        unencoded in the query string."""
        reference = str((request_data or {}).get("payment_ref_id") or "").strip()
        try:
            return payment_reference_valid(reference.replace(" ", "+"))
        except ProviderError:
            raise ProviderError(
                "the Nagad callback has no valid payment_ref_id", code="invalid"
            ) from None


def gateway(config: NagadConfig | None = None) -> NagadGateway:
    """The Nagad adapter, configured from the environment unless `config` is given (tests)."""
    return NagadGateway(config or load_nagad_config())
