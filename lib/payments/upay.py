"""Upay merchant gateway: merchant auth, payment init, single payment status, bulk refund.

Protocol (Upay's public merchant API documentation):
- `POST payment/merchant-auth/ {merchant_id, merchant_key}` -> `code "MAS2001"`, `data.token`;
  every other call sends `Authorization: UPAY <token>`. The token is cached in KV for all
  functions, refreshed before it expires, and fetched by one caller at a time (SET NX lock).
- `POST payment/merchant-payment-init/` (merchant id, date, `txn_id` = our invoice, amount,
  `redirect_url`, invoice and customer fields) -> `code "MPIS2002"`, `data.gateway_url`.
  A reused `txn_id` answers `DTP4003`.
- The payer returns to `redirect_url?invoice_id=...&status=successful|failed|cancelled`: only a
  hint. `GET payment/single-payment-status/{txn_id}/` (`code "PS2005"`) is authoritative.
- `POST payment/bulk/refund/ [{txn_id, refund_amount}]` -> `code "MPR_200"` for the request as
  a whole; each refund is listed in `data.success_list` or `data.failed_list`.

Every call has a timeout; timeouts, network errors and 5xx raise a retryable `ProviderError`.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from lib.conf import UpayConfig, load_upay_config
from lib.payments.base import (
    ProviderError,
    ProviderRefund,
    ProviderStatus,
    RefundQuery,
    RefundResult,
    StartResult,
)

logger = logging.getLogger("zest.payments.upay")

DHAKA = ZoneInfo("Asia/Dhaka")
AUTH_OK = "MAS2001"
INIT_OK = "MPIS2002"
STATUS_OK = "PS2005"
REFUND_OK = "MPR_200"
DUPLICATE_TXN = "DTP4003"

CAPTURED = {"successful", "success", "completed", "complete", "paid"}
FAILED = {"failed", "failure", "fail", "declined", "rejected", "expired"}
CANCELLED = {"cancelled", "canceled", "cancel"}

LOCK_TTL = 15  # seconds one caller may hold the token refresh lock
LOCK_WAIT = 5.0  # seconds another caller waits for that refresh before fetching itself


def money(amount: Decimal) -> str:
    """Our rule: amounts travel as strings with two decimals."""
    return f"{Decimal(amount).quantize(Decimal('0.01'))}"


def parse_amount(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def refund_entry(entries: Any, txn_id: str) -> dict | None:
    """Our `txn_id`'s entry in one of the lists of a bulk refund answer."""
    if not isinstance(entries, list):
        return None
    return next((e for e in entries if isinstance(e, dict) and e.get("txn_id") == txn_id), None)


def map_state(status: str) -> str:
    value = (status or "").strip().lower()
    if value in CAPTURED:
        return "captured"
    if value in FAILED:
        return "failed"
    if value in CANCELLED:
        return "cancelled"
    return "pending"


class UpayGateway:
    name = "upay"

    def __init__(self, settings: UpayConfig | None = None, *, kv: Any = None) -> None:
        self.settings = settings or load_upay_config()
        self._kv = kv

    # --- KV-cached merchant token ------------------------------------------------------

    @property
    def kv(self) -> Any:
        if self._kv is None:
            from lib.kv import get_kv

            self._kv = get_kv()
        return self._kv

    @property
    def token_key(self) -> str:
        return f"payments:upay:token:{self.settings.merchant_id}"

    @property
    def lock_key(self) -> str:
        return f"payments:upay:token-lock:{self.settings.merchant_id}"

    def _cached_token(self, *, not_token: str = "") -> str | None:
        """A cached token with more than the refresh margin left (and not the one just refused)."""
        try:
            raw = self.kv.get(self.token_key)
        except Exception:
            logger.warning("upay token cache unreadable", exc_info=True)
            return None
        if not raw:
            return None
        try:
            cached = json.loads(raw)
            token, expires_at = cached["token"], float(cached["expires_at"])
        except (ValueError, KeyError, TypeError):
            return None
        if token == not_token or expires_at - time.time() <= self.settings.token_refresh_margin:
            return None
        return token

    def _store_token(self, token: str, ttl: int) -> None:
        try:
            value = json.dumps({"token": token, "expires_at": time.time() + ttl})
            self.kv.set(self.token_key, value, ex=max(ttl, 1))
        except Exception:
            logger.warning("upay token cache unwritable", exc_info=True)

    def token(self, *, refused: str = "") -> str:
        """The shared merchant token; `refused` = a token Upay just rejected (fetch a new one)."""
        token = self._cached_token(not_token=refused)
        if token:
            return token
        owner = secrets.token_hex(8)
        try:
            locked = bool(self.kv.set(self.lock_key, owner, nx=True, ex=LOCK_TTL))
        except Exception:
            locked = True  # no KV: fetch our own token
            owner = ""
        if not locked:
            deadline = time.monotonic() + LOCK_WAIT
            while time.monotonic() < deadline:
                time.sleep(0.05)
                token = self._cached_token(not_token=refused)
                if token:
                    return token
            # The lock holder is gone or slow: fetch one ourselves rather than fail the payment.
        try:
            token = self._cached_token(not_token=refused)  # refreshed while we took the lock
            if token:
                return token
            token, ttl = self._fetch_token()
            self._store_token(token, ttl)
            return token
        finally:
            if locked and owner:
                try:
                    if self.kv.get(self.lock_key) == owner:
                        self.kv.delete(self.lock_key)
                except Exception:
                    logger.warning("upay token lock not released", exc_info=True)

    def _fetch_token(self) -> tuple[str, int]:
        body = {
            "merchant_id": self.settings.merchant_id,
            "merchant_key": self.settings.merchant_key,
        }
        status, reply = self._send("POST", "payment/merchant-auth/", json_body=body)
        data = reply.get("data") if isinstance(reply.get("data"), dict) else {}
        token = data.get("token") or reply.get("token")
        if reply.get("code") != AUTH_OK or not token:
            raise ProviderError(
                f"Upay merchant auth refused ({status} {reply.get('code')}: "
                f"{reply.get('message', '')})",
                code="upay_auth_failed",
            )
        ttl = self.settings.token_ttl
        for field in ("expires_in", "expiry", "token_expiry_in"):
            try:
                ttl = int(data[field])
                break
            except (KeyError, TypeError, ValueError):
                continue
        return str(token), ttl

    # --- HTTP ---------------------------------------------------------------------------

    def _send(
        self, method: str, path: str, *, json_body: Any = None, token: str = ""
    ) -> tuple[int, dict]:
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"UPAY {token}"
        url = self.settings.base_url + path
        try:
            response = httpx.request(
                method, url, json=json_body, headers=headers, timeout=self.settings.http_timeout
            )
        except httpx.TimeoutException as exc:
            raise ProviderError(
                f"Upay did not answer {path} in time", code="upay_unavailable", retryable=True
            ) from exc
        except httpx.HTTPError as exc:
            raise ProviderError(
                f"Upay could not be reached ({type(exc).__name__})",
                code="upay_unavailable",
                retryable=True,
            ) from exc
        if response.status_code >= 500:
            raise ProviderError(
                f"Upay answered {path} with HTTP {response.status_code}",
                code="upay_unavailable",
                retryable=True,
            )
        try:
            reply = response.json()
        except ValueError as exc:
            raise ProviderError(
                f"Upay answered {path} with a non-JSON body (HTTP {response.status_code})",
                code="upay_unavailable",
                retryable=True,
            ) from exc
        if not isinstance(reply, dict):
            reply = {"data": reply}
        return response.status_code, reply

    def _call(self, method: str, path: str, *, json_body: Any = None) -> tuple[int, dict]:
        """An authorized call; a refused token is replaced once."""
        token = self.token()
        status, reply = self._send(method, path, json_body=json_body, token=token)
        if status in (401, 403):
            token = self.token(refused=token)
            status, reply = self._send(method, path, json_body=json_body, token=token)
            if status in (401, 403):
                raise ProviderError(
                    f"Upay refused the merchant token ({status} {reply.get('code')})",
                    code="upay_auth_failed",
                )
        return status, reply

    @staticmethod
    def _refused(what: str, status: int, reply: dict) -> ProviderError:
        code = str(reply.get("code", ""))
        message = f"Upay {what} refused ({status} {code}: {reply.get('message', '')})"
        if code == DUPLICATE_TXN:
            return ProviderError(message, code="upay_duplicate_txn")
        return ProviderError(message, code="upay_rejected")

    # --- Gateway -------------------------------------------------------------------------

    def start(
        self, *, payment_id: str, invoice: str, amount: Decimal, callback_url: str, customer: dict
    ) -> StartResult:
        s = self.settings
        body = {
            "date": datetime.now(DHAKA).strftime("%Y-%m-%d"),
            "txn_id": invoice,
            "invoice_id": invoice,
            "amount": money(amount),
            "merchant_id": s.merchant_id,
            "merchant_name": s.merchant_name,
            "merchant_code": s.merchant_code,
            "merchant_country_code": "BD",
            "merchant_city": s.merchant_city,
            "merchant_category_code": s.merchant_category_code,
            "merchant_mobile": s.merchant_mobile,
            "transaction_currency_code": "BDT",
            "redirect_url": callback_url,
            "customer_name": str(customer.get("name", "")),
            "customer_mobile": str(customer.get("phone", "")),
            "customer_email": str(customer.get("email", "")),
            "additional_info": {"payment_id": str(payment_id)},
        }
        status, reply = self._call("POST", "payment/merchant-payment-init/", json_body=body)
        data = reply.get("data") if isinstance(reply.get("data"), dict) else {}
        if reply.get("code") != INIT_OK or not data.get("gateway_url"):
            raise self._refused("payment init", status, reply)
        return StartResult(
            provider_payment_id=str(data.get("txn_id") or invoice),
            redirect_url=str(data["gateway_url"]),
            raw=reply,
        )

    def query(self, *, provider_payment_id: str) -> ProviderStatus:
        txn_id = provider_payment_id
        status, reply = self._call("GET", f"payment/single-payment-status/{txn_id}/")
        data = reply.get("data") if isinstance(reply.get("data"), dict) else {}
        if reply.get("code") != STATUS_OK or not data:
            raise self._refused("status query", status, reply)
        if str(data.get("txn_id", txn_id)) != txn_id:
            raise ProviderError(
                f"Upay answered the status of {data.get('txn_id')!r}, not {txn_id!r}",
                code="upay_rejected",
            )
        return ProviderStatus(
            provider_payment_id=txn_id,
            state=map_state(str(data.get("status", ""))),  # type: ignore[arg-type]
            amount=parse_amount(data.get("amount")),
            transaction_id=str(data.get("trx_id") or ""),
            raw=reply,
        )

    def confirm(self, *, provider_payment_id: str, callback: dict) -> ProviderStatus:
        # The return's `status=successful` is a hint only: the status API is authoritative.
        return self.query(provider_payment_id=provider_payment_id)

    def refund(
        self, *, provider_payment_id: str, transaction_id: str, amount: Decimal, reason: str
    ) -> RefundResult:
        """Upay answers `MPR_200` for the whole bulk request and lists each refund under
        `data.success_list` or `data.failed_list`: only a success entry for our `txn_id` is a
        refund; a failed entry is a refusal; neither leaves the outcome unknown (retryable)."""
        body = [{"txn_id": provider_payment_id, "refund_amount": money(amount)}]
        status, reply = self._call("POST", "payment/bulk/refund/", json_body=body)
        if reply.get("code") != REFUND_OK:
            raise self._refused("refund", status, reply)
        data = reply.get("data") if isinstance(reply.get("data"), dict) else {}
        failed = refund_entry(data.get("failed_list"), provider_payment_id)
        if failed is not None:
            raise ProviderError(
                f"Upay refused the refund of {provider_payment_id}: "
                f"{failed.get('reason') or failed.get('message') or ''}",
                code="upay_refund_refused",
            )
        done = refund_entry(data.get("success_list"), provider_payment_id)
        if done is None:
            raise ProviderError(
                f"Upay did not list the refund of {provider_payment_id}",
                code="upay_refund_unconfirmed",
                retryable=True,
            )
        refund_id = str(done.get("refund_trx_id") or done.get("refund_id") or "")
        refunded = parse_amount(done.get("refund_amount")) or Decimal(money(amount))
        return RefundResult(refund_id=refund_id, amount=refunded, raw=reply)

    def refund_status(self, *, query: RefundQuery) -> ProviderRefund:
        """Upay has no query by refund: the payment's status answer carries the total refunded
        (`refunded_amount`). More than we hold as confirmed by at least `amount` means our
        refund went through; no field at all means Upay cannot tell us (`unknown`)."""
        status = self.query(provider_payment_id=query.provider_payment_id)
        data = status.raw.get("data") if isinstance(status.raw.get("data"), dict) else {}
        total = parse_amount(data.get("refunded_amount"))
        if total is None:
            return ProviderRefund(state="unknown", raw=status.raw)
        if total - query.refunded_before >= query.amount:
            return ProviderRefund(state="refunded", amount=query.amount, raw=status.raw)
        return ProviderRefund(state="not_found", raw=status.raw)

    def callback_payment_id(self, *, request_data: dict) -> str:
        # Upay's return carries no signature: the status query in `confirm` is the check.
        value = request_data.get("invoice_id") or request_data.get("txn_id") or ""
        if isinstance(value, list):
            value = value[0] if value else ""
        value = str(value).strip()
        if not value or len(value) > 100:
            raise ProviderError("The Upay return has no invoice id", code="upay_bad_callback")
        return value


def gateway() -> UpayGateway:
    return UpayGateway()
