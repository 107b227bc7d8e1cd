"""SSLCommerz (cards, internet banking, wallets) and Rocket through it.

Session init `POST /gwprocess/v4/api.php` (form-encoded) → `GatewayPageURL`; the payer's browser
comes back with a signed form POST to success/fail/cancel and SSLCommerz server-POSTs the IPN.
Neither is trusted alone: `callback_payment_id` checks `verify_sign`, then `confirm` asks the
validation API by `val_id` and compares tran_id, amount (exactly, 2 decimals) and currency with
what we sent. Rocket has no public merchant API: it is SSLCommerz with `multi_card_name` set to
its gateway (`gateway(preselect="rocket")`).

The provider payment id is our `tran_id` (the invoice); `transaction_id` is SSLCommerz's
`bank_tran_id`, which refunds need.
"""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from lib.conf import SslcommerzConfig, load_sslcommerz_config
from lib.payments.base import (
    ProviderError,
    ProviderRefund,
    ProviderStatus,
    RefundQuery,
    RefundResult,
    StartResult,
)

NAME = "sslcommerz"
CURRENCY = "BDT"
CENT = Decimal("0.01")
MAX_TRAN_ID = 30
INIT_PATH = "/gwprocess/v4/api.php"
VALIDATION_PATH = "/validator/api/validationserverAPI.php"
MERCHANT_TRANS_PATH = "/validator/api/merchantTransIDvalidationAPI.php"
CAPTURED = {"VALID", "VALIDATED"}
FAILED = {"FAILED", "INVALID_TRANSACTION", "EXPIRED"}
CANCELLED = {"CANCELLED", "UNATTEMPTED"}
# The refund query's `status` → our refund state.
REFUND_STATES = {"refunded": "refunded", "processing": "pending", "cancelled": "failed"}
# The `event` query parameter of our callback URLs: which of SSLCommerz's four posts this is.
EVENTS = ("success", "fail", "cancel", "ipn")


def money(amount: Decimal | str) -> str:
    """`1250` → `"1250.00"`."""
    return str(Decimal(amount).quantize(CENT))


def with_event(url: str, event: str) -> str:
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, f"event={event}") if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def sign(fields: dict[str, Any], store_password: str) -> str:
    """SSLCommerz's `verify_sign` over the fields named in `verify_key`."""
    names = [name for name in str(fields.get("verify_key", "")).split(",") if name]
    signed = {name: str(fields.get(name, "")) for name in names}
    signed["store_passwd"] = hashlib.md5(store_password.encode()).hexdigest()  # noqa: S324
    text = "&".join(f"{key}={signed[key]}" for key in sorted(signed))
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324


def signature_valid(fields: dict[str, Any], store_password: str) -> bool:
    given = str(fields.get("verify_sign", ""))
    if not given or not fields.get("verify_key"):
        return False
    return hmac.compare_digest(given.lower(), sign(fields, store_password))


class SslcommerzGateway:
    name = NAME

    def __init__(self, settings: SslcommerzConfig, *, multi_card_name: str = "") -> None:
        self.settings = settings
        self.multi_card_name = multi_card_name

    # --- HTTP ---------------------------------------------------------------------------

    def _credentials(self) -> dict[str, str]:
        return {"store_id": self.settings.store_id, "store_passwd": self.settings.store_password}

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        url = f"{self.settings.base_url}{path}"
        try:
            with httpx.Client(timeout=self.settings.http_timeout) as client:
                response = client.request(method, url, **kwargs)
        except httpx.TimeoutException as exc:
            raise ProviderError(
                f"SSLCommerz did not answer in time ({path})",
                code="sslcommerz_unavailable",
                retryable=True,
            ) from exc
        except httpx.HTTPError as exc:
            raise ProviderError(
                f"SSLCommerz could not be reached ({path}): {type(exc).__name__}",
                code="sslcommerz_unavailable",
                retryable=True,
            ) from exc
        if response.status_code >= 500:
            raise ProviderError(
                f"SSLCommerz answered {response.status_code} ({path})",
                code="sslcommerz_unavailable",
                retryable=True,
            )
        try:
            payload = response.json()
        except ValueError as exc:
            raise ProviderError(
                f"SSLCommerz answered {response.status_code} without JSON ({path})",
                code="sslcommerz_refused",
                retryable=response.status_code == 429,
            ) from exc
        if response.status_code >= 400 or not isinstance(payload, dict):
            raise ProviderError(
                f"SSLCommerz answered {response.status_code} ({path})", code="sslcommerz_refused"
            )
        return payload

    # --- the Gateway interface ------------------------------------------------------------

    def start(
        self, *, payment_id: str, invoice: str, amount: Decimal, callback_url: str, customer: dict
    ) -> StartResult:
        if not invoice or len(invoice) > MAX_TRAN_ID:
            raise ProviderError(
                f"tran_id must be 1 to {MAX_TRAN_ID} characters", code="sslcommerz_refused"
            )
        total = money(amount)
        form = {
            **self._credentials(),
            "total_amount": total,
            "currency": CURRENCY,
            "tran_id": invoice,
            "success_url": with_event(callback_url, "success"),
            "fail_url": with_event(callback_url, "fail"),
            "cancel_url": with_event(callback_url, "cancel"),
            "ipn_url": with_event(callback_url, "ipn"),
            "cus_name": customer.get("name") or "Customer",
            "cus_email": customer.get("email") or "customer@example.com",
            "cus_phone": customer.get("phone") or "01700000000",
            "cus_add1": customer.get("address") or "N/A",
            "cus_city": customer.get("city") or "Dhaka",
            "cus_postcode": customer.get("postcode") or "1000",
            "cus_country": customer.get("country") or "Bangladesh",
            "shipping_method": "NO",
            "num_of_item": str(customer.get("num_of_item") or 1),
            "product_name": (customer.get("product_name") or f"Order {invoice}")[:255],
            "product_category": customer.get("product_category") or "General",
            "product_profile": "physical-goods",
            # Passed back by the validation API from SSLCommerz's own record of the session:
            # what we asked for, compared with what was paid in `confirm`.
            "value_a": payment_id,
            "value_b": total,
            "value_c": CURRENCY,
        }
        if self.multi_card_name:
            form["multi_card_name"] = self.multi_card_name
        answer = self._call("POST", INIT_PATH, data=form)
        if answer.get("status") != "SUCCESS" or not answer.get("GatewayPageURL"):
            raise ProviderError(
                f"SSLCommerz refused the session: {answer.get('failedreason') or answer}",
                code="sslcommerz_refused",
            )
        raw = {
            "sessionkey": answer.get("sessionkey", ""),
            "GatewayPageURL": answer["GatewayPageURL"],
            "status": answer["status"],
            "multi_card_name": self.multi_card_name,
        }
        return StartResult(
            provider_payment_id=invoice, redirect_url=answer["GatewayPageURL"], raw=raw
        )

    def callback_payment_id(self, *, request_data: dict) -> str:
        if not signature_valid(request_data, self.settings.store_password):
            raise ProviderError(
                "SSLCommerz callback signature is missing or invalid",
                code="sslcommerz_signature_invalid",
            )
        tran_id = str(request_data.get("tran_id", ""))
        if not tran_id:
            raise ProviderError("SSLCommerz callback has no tran_id", code="sslcommerz_refused")
        return tran_id

    def confirm(self, *, provider_payment_id: str, callback: dict) -> ProviderStatus:
        val_id = str(callback.get("val_id", "") or "")
        if not val_id:  # fail / cancel posts carry no val_id: ask by tran_id
            return self.query(provider_payment_id=provider_payment_id)
        answer = self._call(
            "GET",
            VALIDATION_PATH,
            params={"val_id": val_id, **self._credentials(), "v": "1", "format": "json"},
        )
        return self._status(provider_payment_id, answer)

    def query(self, *, provider_payment_id: str) -> ProviderStatus:
        answer = self._call(
            "GET",
            MERCHANT_TRANS_PATH,
            params={"tran_id": provider_payment_id, **self._credentials(), "format": "json"},
        )
        if answer.get("APIConnect") != "DONE":
            raise ProviderError(
                f"SSLCommerz transaction query failed: {answer.get('APIConnect')}",
                code="sslcommerz_refused",
                retryable=answer.get("APIConnect") == "FAILED",
            )
        elements = [e for e in answer.get("element") or [] if isinstance(e, dict)]
        for wanted in (CAPTURED, {"PENDING", "UNATTEMPTED"}, CANCELLED, FAILED):
            for element in elements:
                if str(element.get("status", "")).upper() in wanted:
                    return self._status(provider_payment_id, element)
        return ProviderStatus(
            provider_payment_id=provider_payment_id, state="pending", amount=None, raw=answer
        )

    def refund(
        self, *, provider_payment_id: str, transaction_id: str, amount: Decimal, reason: str
    ) -> RefundResult:
        if not transaction_id:
            raise ProviderError(
                "SSLCommerz refunds need the bank_tran_id", code="sslcommerz_refused"
            )
        answer = self._call(
            "GET",
            MERCHANT_TRANS_PATH,
            params={
                "bank_tran_id": transaction_id,
                "refund_amount": money(amount),
                "refund_remarks": (reason or "Refund")[:255],
                "refe_id": provider_payment_id,
                **self._credentials(),
                "format": "json",
            },
        )
        status = str(answer.get("status", "")).lower()
        if answer.get("APIConnect") != "DONE" or status not in ("success", "processing"):
            raise ProviderError(
                f"SSLCommerz refused the refund: {answer.get('errorReason') or status or answer}",
                code="sslcommerz_refund_refused",
            )
        # "success" means SSLCommerz took the request: the refund query says when it is done.
        return RefundResult(
            refund_id=str(answer.get("refund_ref_id", "")),
            amount=Decimal(money(amount)),
            raw=answer,
            state="pending",
        )

    def refund_status(self, *, query: RefundQuery) -> ProviderRefund:
        """SSLCommerz's refund query by the `refund_ref_id` its refund answer gave: `refunded`,
        `processing`, or `cancelled`. Without that id (the answer never came) it cannot be
        asked: `unknown` (the refund stays pending; staff check the merchant panel)."""
        if not query.refund_id:
            return ProviderRefund(state="unknown")
        answer = self._call(
            "GET",
            MERCHANT_TRANS_PATH,
            params={"refund_ref_id": query.refund_id, **self._credentials(), "format": "json"},
        )
        status = str(answer.get("status", "")).lower()
        state = REFUND_STATES.get(status, "pending") if answer.get("APIConnect") == "DONE" else ""
        if not state:
            raise ProviderError(
                f"SSLCommerz refund query failed: {answer.get('APIConnect')}",
                code="sslcommerz_unavailable",
                retryable=True,
            )
        return ProviderRefund(state=state, refund_id=query.refund_id, raw=answer)  # type: ignore[arg-type]

    # --- helpers --------------------------------------------------------------------------

    def _status(self, provider_payment_id: str, answer: dict[str, Any]) -> ProviderStatus:
        """One validated transaction → our state, after the exact comparisons."""
        status = str(answer.get("status", "")).upper()
        raw = {k: v for k, v in answer.items() if k != "store_passwd"}
        tran_id = str(answer.get("tran_id", ""))
        if status == "INVALID_TRANSACTION":
            return ProviderStatus(
                provider_payment_id=provider_payment_id, state="failed", amount=None, raw=raw
            )
        if tran_id != provider_payment_id:
            raise ProviderError(
                f"SSLCommerz answered for tran_id {tran_id!r}, not {provider_payment_id!r}",
                code="sslcommerz_mismatch",
            )
        amount = parse_amount(answer.get("amount"))
        if status in CAPTURED:
            self._check_paid(answer, amount)
            state = "captured"
        elif status in CANCELLED:
            state = "cancelled"
        elif status in FAILED:
            state = "failed"
        else:
            state = "pending"
        return ProviderStatus(
            provider_payment_id=provider_payment_id,
            state=state,
            amount=amount,
            transaction_id=str(answer.get("bank_tran_id", "") or ""),
            raw=raw,
        )

    def _check_paid(self, answer: dict[str, Any], amount: Decimal | None) -> None:
        """What was paid must be exactly what we asked for (kept by SSLCommerz as value_b/c)."""
        currency = str(answer.get("currency_type") or answer.get("currency") or "")
        paid = parse_amount(answer.get("currency_amount")) or amount
        asked = parse_amount(answer.get("value_b"))
        problems = []
        if currency != CURRENCY or str(answer.get("currency", CURRENCY)) != CURRENCY:
            problems.append(f"currency {currency!r}")
        if paid is None or amount is None or paid != amount:
            problems.append(f"amount {answer.get('amount')!r}/{answer.get('currency_amount')!r}")
        elif asked is not None and paid != asked:
            problems.append(f"amount {money(paid)} paid for {money(asked)}")
        if problems:
            raise ProviderError(
                "SSLCommerz validation does not match the session: " + ", ".join(problems),
                code="sslcommerz_mismatch",
            )


def parse_amount(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value)).quantize(CENT)
    except (InvalidOperation, ValueError):
        return None


def gateway(preselect: str | None = None) -> SslcommerzGateway:
    """The gateway configured from the environment (`SSLCOMMERZ_*`); `preselect="rocket"`
    opens SSLCommerz's page on Rocket (`SSLCOMMERZ_ROCKET_MULTI_CARD_NAME`)."""
    settings = load_sslcommerz_config()
    multi_card_name = ""
    if preselect == "rocket":
        multi_card_name = settings.rocket_multi_card_name
    elif preselect:
        multi_card_name = preselect
    return SslcommerzGateway(settings, multi_card_name=multi_card_name)
