"""bKash tokenized checkout (v1.2.0-beta) as a `Gateway`.

* Token: `token/grant` once, then `token/refresh` shortly before expiry. The id_token is cached
  in Redis (`payments:bkash:token`, TTL = expires_in - 300 s) and shared by every instance; a
  `SET NX` lock makes exactly one instance grant or refresh while the others wait for its result
  (bKash penalises a grant per payment).
* `start` = `create` (mode 0011, intent sale, amount "1250.00"); the payer goes to `bkashURL`.
* `confirm` = `execute`, at most once per payment (bKash allows one): the first caller claims
  the payment in KV (`payments:bkash:execute:<paymentID>`, SET NX) before calling; concurrent
  callers wait for its answer and every other caller, now or later, asks `payment/status`
  instead. When bKash says the payment is already completed (2062/2117), or execute times out,
  or answers an error, `payment/status` decides too. A payer return whose `status` is not
  "success" (failure, cancel, missing or anything else) is only queried, never executed, and
  what bKash answers is what is recorded.
* `query` = `payment/status`; `refund` = `payment/refund`; `refund_status` = `payment/refund`
  with only `paymentID` and `trxID` (bKash's refund status query).

Every call has a timeout (`PAYMENT_HTTP_TIMEOUT`); every failure is a `BkashError`
(a `ProviderError` with one of the `bkash_*` codes and bKash's own `status_code`).
"""

from __future__ import annotations

import json
import secrets
import time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import httpx

from lib import conf
from lib.payments.base import (
    ProviderError,
    ProviderRefund,
    ProviderStatus,
    RefundQuery,
    RefundResult,
    StartResult,
)

TOKEN_KEY = "payments:bkash:token"  # noqa: S105 (a Redis key name)
LOCK_KEY = "payments:bkash:token:lock"
EXPIRY_MARGIN = 300  # seconds before bKash's expiry that a cached token stops being used
REFRESH_WINDOW = 600  # refresh (one instance) once less than this much usable life remains
LOCK_SECONDS = 30
EXECUTE_CLAIM_KEY = "payments:bkash:execute:{payment_id}"
EXECUTE_CLAIM_SECONDS = 86400  # outlives any bKash payment still open to execute
EXECUTE_RUNNING, EXECUTE_DONE = "running", "done"
ALREADY_DONE = {"2062", "2117"}  # payment already completed / already executed
CENTS = Decimal("0.01")

STATES = {
    "completed": "captured",
    "initiated": "pending",
    "authorized": "pending",
    "pending authorized": "pending",
    "failed": "failed",
    "expired": "failed",
    "declined": "failed",
    "cancelled": "cancelled",
    "canceled": "cancelled",
}


class BkashError(ProviderError):
    def __init__(
        self,
        message: str,
        *,
        code: str,
        retryable: bool = False,
        status_code: str = "",
        delivered: bool = True,
    ) -> None:
        super().__init__(message, code=code, retryable=retryable)
        self.status_code = status_code  # bKash's statusCode/errorCode, when it gave one
        self.delivered = delivered  # False: bKash certainly did not process the request


def money(amount: Decimal) -> str:
    return format(Decimal(amount).quantize(CENTS, rounding=ROUND_HALF_UP), "f")


def parse_amount(raw: Any) -> Decimal | None:
    if raw in (None, ""):
        return None
    try:
        return Decimal(str(raw))
    except InvalidOperation:
        return None


def status_code_of(body: dict) -> str:
    return str(body.get("statusCode") or body.get("errorCode") or "")


class BkashGateway:
    name = "bkash"

    def __init__(
        self,
        *,
        base_url: str,
        app_key: str,
        app_secret: str,
        username: str,
        password: str,
        timeout: float = 10.0,
        kv: Any = None,
    ) -> None:
        if not base_url:
            raise BkashError("BKASH_BASE_URL is not set", code="bkash_not_configured")
        self.base_url = base_url.rstrip("/") + "/tokenized/checkout/"
        self.app_key = app_key
        self.app_secret = app_secret
        self.username = username
        self.password = password
        self.timeout = timeout
        self._kv = kv

    # --- plumbing -------------------------------------------------------------------------

    @property
    def kv(self):
        if self._kv is None:
            from lib.kv import get_kv

            self._kv = get_kv()
        return self._kv

    def _post(self, path: str, body: dict, headers: dict[str, str]) -> dict:
        """POST JSON; a bKash error (HTTP or non-"0000" statusCode) raises BkashError."""
        try:
            reply = httpx.post(
                self.base_url + path,
                json=body,
                headers={"Accept": "application/json", **headers},
                timeout=self.timeout,
            )
        except httpx.ConnectError as exc:
            raise BkashError(
                f"bKash {path} unreachable: {type(exc).__name__}",
                code="bkash_unavailable",
                retryable=True,
                delivered=False,
            ) from exc
        except httpx.TimeoutException as exc:
            raise BkashError(
                f"bKash {path} timed out", code="bkash_unavailable", retryable=True
            ) from exc
        except httpx.HTTPError as exc:
            raise BkashError(
                f"bKash {path} unreachable: {type(exc).__name__}",
                code="bkash_unavailable",
                retryable=True,
            ) from exc
        if reply.status_code in (401, 403):
            raise BkashError(
                f"bKash {path}: HTTP {reply.status_code}",
                code="bkash_auth_failed",
                delivered=False,
            )
        if reply.status_code >= 500 or reply.status_code == 429:
            raise BkashError(
                f"bKash {path}: HTTP {reply.status_code}",
                code="bkash_unavailable",
                retryable=True,
            )
        try:
            data = reply.json()
        except ValueError as exc:
            raise BkashError(
                f"bKash {path}: not JSON (HTTP {reply.status_code})",
                code="bkash_unavailable",
                retryable=True,
            ) from exc
        if not isinstance(data, dict) or reply.status_code >= 400:
            raise BkashError(f"bKash {path}: HTTP {reply.status_code}", code="bkash_rejected")
        code = status_code_of(data)
        if (code and code != "0000") or ("errorCode" in data):
            message = data.get("statusMessage") or data.get("errorMessage") or "error"
            raise BkashError(
                f"bKash {path}: {code} {message}", code="bkash_rejected", status_code=code
            )
        return data

    def _call(self, path: str, body: dict) -> dict:
        """An authorised call; a token bKash no longer accepts is dropped and replaced once."""
        token = self._token()
        try:
            return self._post(path, body, self._auth_headers(token))
        except BkashError as exc:
            if exc.code != "bkash_auth_failed":
                raise
        # 401/403 means the call was not processed: safe to repeat with a fresh token.
        self._drop_token(token)
        return self._post(path, body, self._auth_headers(self._token()))

    def _auth_headers(self, token: str) -> dict[str, str]:
        return {"Authorization": token, "X-APP-Key": self.app_key}

    # --- token cache ----------------------------------------------------------------------

    def _cached(self) -> dict | None:
        raw = self.kv.get(TOKEN_KEY)
        if not raw:
            return None
        try:
            record = json.loads(raw)
        except ValueError:
            return None
        return record if isinstance(record, dict) and record.get("id_token") else None

    def _token(self) -> str:
        record = self._cached()
        now = time.time()
        if record and record.get("expires_at", 0) - now > EXPIRY_MARGIN + REFRESH_WINDOW:
            return record["id_token"]
        # Missing, or due for a refresh: one instance renews, the others wait (or, while
        # the current token is still usable, carry on with it).
        deadline = now + self.timeout * 2 + 5
        while True:
            owner = secrets.token_hex(8)
            if self.kv.set(LOCK_KEY, owner, ex=LOCK_SECONDS, nx=True):
                try:
                    record = self._cached()  # another instance may have just renewed it
                    if (
                        record
                        and record.get("expires_at", 0) - time.time()
                        > EXPIRY_MARGIN + REFRESH_WINDOW
                    ):
                        return record["id_token"]
                    return self._renew(record)
                finally:
                    if self.kv.get(LOCK_KEY) == owner:
                        self.kv.delete(LOCK_KEY)
            if record:  # still valid (the key outlives it by nothing: TTL ends at the margin)
                return record["id_token"]
            if time.time() > deadline:
                raise BkashError(
                    "timed out waiting for another instance's bKash token",
                    code="bkash_unavailable",
                    retryable=True,
                )
            time.sleep(0.05)
            record = self._cached()
            if record and record.get("expires_at", 0) - time.time() > EXPIRY_MARGIN:
                return record["id_token"]

    def _renew(self, record: dict | None) -> str:
        credentials = {"app_key": self.app_key, "app_secret": self.app_secret}
        headers = {"username": self.username, "password": self.password}
        data = None
        if record and record.get("refresh_token"):
            try:
                data = self._post(
                    "token/refresh",
                    {**credentials, "refresh_token": record["refresh_token"]},
                    headers,
                )
            except BkashError as exc:
                if exc.retryable and record.get("expires_at", 0) - time.time() > EXPIRY_MARGIN:
                    return record["id_token"]  # keep using it; the next call tries again
                data = None
        if data is None:
            data = self._post("token/grant", credentials, headers)
        token = data.get("id_token")
        if not token:
            raise BkashError("bKash granted no id_token", code="bkash_auth_failed")
        expires_in = int(data.get("expires_in") or 3600)
        ttl = expires_in - EXPIRY_MARGIN if expires_in > EXPIRY_MARGIN * 2 else expires_in // 2
        stored = {
            "id_token": token,
            "refresh_token": data.get("refresh_token") or "",
            "expires_at": time.time() + expires_in,
        }
        self.kv.set(TOKEN_KEY, json.dumps(stored), ex=max(ttl, 1))
        return token

    def _drop_token(self, token: str) -> None:
        record = self._cached()
        if record and record["id_token"] == token:
            self.kv.delete(TOKEN_KEY)

    # --- Gateway --------------------------------------------------------------------------

    def start(
        self, *, payment_id: str, invoice: str, amount: Decimal, callback_url: str, customer: dict
    ) -> StartResult:
        body = {
            "mode": "0011",
            "payerReference": str(customer.get("phone") or customer.get("id") or payment_id)[:255],
            "callbackURL": callback_url,
            "amount": money(amount),
            "currency": "BDT",
            "intent": "sale",
            "merchantInvoiceNumber": invoice,
        }
        data = self._call("create", body)
        if not data.get("paymentID") or not data.get("bkashURL"):
            raise BkashError("bKash create returned no paymentID/bkashURL", code="bkash_rejected")
        return StartResult(
            provider_payment_id=data["paymentID"], redirect_url=data["bkashURL"], raw=data
        )

    def confirm(self, *, provider_payment_id: str, callback: dict) -> ProviderStatus:
        """Execute the payment once (see the module's docstring); otherwise ask its status."""
        hint = str(callback.get("status") or "").strip().lower()
        if hint != "success" or not self._execute_claim(provider_payment_id):
            return self.query(provider_payment_id=provider_payment_id)
        try:
            data = self._call("execute", {"paymentID": provider_payment_id})
        except BkashError as exc:
            return self._execute_failed(provider_payment_id, exc)
        self._execute_settled(provider_payment_id, executed=True)
        return self._status(provider_payment_id, data)

    def _execute_failed(self, provider_payment_id: str, exc: BkashError) -> ProviderStatus:
        """Already executed (2062/2117), timed out, or refused: bKash's own record decides.
        An execute bKash refused while the payment is still open there (2056: the payer has
        not approved yet; 2023: insufficient balance) changed nothing, so a later return may
        execute again; it is recorded as failed meanwhile."""
        try:
            if exc.code in ("bkash_auth_failed", "bkash_not_configured"):
                raise exc
            status = self.query(provider_payment_id=provider_payment_id)
        except BkashError:
            self._execute_settled(provider_payment_id, executed=exc.delivered)
            raise
        refused = exc.code == "bkash_rejected" and exc.status_code not in ALREADY_DONE
        if not (refused and status.state == "pending"):
            self._execute_settled(provider_payment_id, executed=exc.delivered)
            return status
        self._execute_settled(provider_payment_id, executed=False)
        return ProviderStatus(
            provider_payment_id=provider_payment_id,
            state="failed",
            amount=status.amount,
            transaction_id=status.transaction_id,
            raw={**status.raw, "execute_error": exc.status_code},
        )

    # --- execute at most once ---------------------------------------------------------------

    def _execute_claim(self, provider_payment_id: str) -> bool:
        """True for the one caller that may execute this payment; a caller that finds another
        one executing waits (up to the execute timeout) for its answer, then returns False."""
        key = EXECUTE_CLAIM_KEY.format(payment_id=provider_payment_id)
        try:
            if self.kv.set(key, EXECUTE_RUNNING, ex=EXECUTE_CLAIM_SECONDS, nx=True):
                return True
            deadline = time.monotonic() + self.timeout + 1
            while self.kv.get(key) == EXECUTE_RUNNING and time.monotonic() < deadline:
                time.sleep(0.05)
        except Exception as exc:  # KV down: no single flight, so no execute now
            raise BkashError(
                "the bKash execute claim is unavailable", code="bkash_unavailable", retryable=True
            ) from exc
        return False

    def _execute_settled(self, provider_payment_id: str, *, executed: bool) -> None:
        """Mark the execute answered; a request bKash certainly never processed (unreachable,
        token refused) gives the claim back, so a later return may execute."""
        key = EXECUTE_CLAIM_KEY.format(payment_id=provider_payment_id)
        if executed:
            self.kv.set(key, EXECUTE_DONE, ex=EXECUTE_CLAIM_SECONDS)
        else:
            self.kv.delete(key)

    def query(self, *, provider_payment_id: str) -> ProviderStatus:
        data = self._call("payment/status", {"paymentID": provider_payment_id})
        return self._status(provider_payment_id, data)

    def refund(
        self, *, provider_payment_id: str, transaction_id: str, amount: Decimal, reason: str
    ) -> RefundResult:
        body = {
            "paymentID": provider_payment_id,
            "amount": money(amount),
            "trxID": transaction_id,
            "sku": "zest-order",
            "reason": (reason or "refund")[:255],
        }
        data = self._call("payment/refund", body)
        refund_id = data.get("refundTrxID")
        if not refund_id or str(data.get("transactionStatus", "")).lower() != "completed":
            raise BkashError("bKash refund not completed", code="bkash_rejected")
        return RefundResult(
            refund_id=refund_id, amount=parse_amount(data.get("amount")) or amount, raw=data
        )

    def refund_status(self, *, query: RefundQuery) -> ProviderRefund:
        """bKash's refund status (`payment/refund` with `paymentID` and `trxID`, no amount)
        answers the latest refund of the payment: ours when its `refundTrxID` is not one we
        already hold and its amount is ours; an error answer means bKash has no refund."""
        body = {"paymentID": query.provider_payment_id, "trxID": query.transaction_id}
        try:
            data = self._call("payment/refund", body)
        except BkashError as exc:
            if exc.retryable or not exc.status_code:
                raise
            return ProviderRefund(state="not_found", raw={"statusCode": exc.status_code})
        refund_id = str(data.get("refundTrxID") or "")
        amount = parse_amount(data.get("amount"))
        completed = str(data.get("transactionStatus", "")).lower() == "completed"
        if not refund_id or refund_id in query.known_refund_ids or amount != query.amount:
            return ProviderRefund(state="not_found", raw=data)
        state = "refunded" if completed else "pending"
        return ProviderRefund(state=state, refund_id=refund_id, amount=amount, raw=data)

    def callback_payment_id(self, *, request_data: dict) -> str:
        payment_id = str(request_data.get("paymentID") or "").strip()
        if not payment_id:
            raise BkashError("callback without paymentID", code="bkash_bad_callback")
        return payment_id

    @staticmethod
    def _status(provider_payment_id: str, data: dict) -> ProviderStatus:
        if data.get("paymentID") and data["paymentID"] != provider_payment_id:
            raise BkashError("bKash answered about another payment", code="bkash_rejected")
        raw_state = str(data.get("transactionStatus") or "").lower()
        return ProviderStatus(
            provider_payment_id=provider_payment_id,
            state=STATES.get(raw_state, "pending"),  # type: ignore[arg-type]
            amount=parse_amount(data.get("amount")),
            transaction_id=str(data.get("trxID") or ""),
            raw=data,
        )


def gateway() -> BkashGateway:
    settings = conf.bkash_config
    payments = getattr(conf, "payment_config", None)
    return BkashGateway(
        base_url=settings.base_url,
        app_key=settings.app_key,
        app_secret=settings.app_secret,
        username=settings.username,
        password=settings.password,
        timeout=getattr(payments, "http_timeout", 10.0),
    )
