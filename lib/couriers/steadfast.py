"""Steadfast Courier (packzy API v1) as a `Courier`.

* Auth: static `Api-Key` and `Secret-Key` headers on every call (no token to cache).
* `book` = `POST /create_order` with `invoice` = our order number, which Steadfast keeps unique.
  A create that timed out may still have made the parcel, and a retry of it is refused as a
  duplicate invoice: both are settled by `GET /status_by_invoice/{invoice}`, so one order never
  makes two parcels; a parcel Steadfast has since cancelled is not reused: the order is booked
  anew as `<order number>_r2` (webhooks name our order number again without the suffix).
  That look-up answers only `delivery_status` in Steadfast's doc, so such a
  recovered booking is `invoice:<order number>` (see `INVOICE_PREFIX`) until a webhook names
  the numeric consignment id; `track` accepts either form. `find_by_order` is the same look-up
  for the core: it settles a booking left `booking_unconfirmed` (an answer lost even after the
  look-up) on the next booking attempt, refresh or poll. (How Steadfast words the duplicate
  refusal is not public: any refusal naming the invoice as taken/existing/duplicate counts.)
* `quote`: Steadfast has no price API. The estimate is `STEADFAST_BASE_FEE` (default Tk 80,
  its published minimum pick-and-drop charge) plus `STEADFAST_COD_PERCENT` (default 1 %) of the
  cash to collect; `raw["estimate"]` is True. The real charge arrives as the webhook's
  `delivery_charge`.
* `track` = `GET /status_by_cid/{id}`; `status_by_invoice` and `status_by_trackingcode` too.
* `cancel`: Steadfast publishes no cancel API (cancellation is manual in its panel):
  `courier_unsupported`.
* Also: `balance` (`/get_balance`), `return_request` / `return_requests` / `return_request_get`
  (`/create_return_request`, `/get_return_requests`, `/get_return_request/{id}`), `payouts`
  (`/payments`, `/payments/{id}`) and `book_bulk` (`/create_order/bulk-order`, `data` a
  JSON-encoded string of at most 500 orders per call).
* Webhooks: `Authorization: Bearer <STEADFAST_WEBHOOK_TOKEN>`; `delivery_status` and
  `tracking_update` notifications (see `STATES` for the status mapping); the reply Steadfast
  expects is 200 `{"status": "success", "message": "Webhook received successfully."}`.

Status mapping (`STATES`), decided where Steadfast's doc leaves room:
* `in_review` (placed, awaiting Steadfast's review) -> booked.
* `pending` ("not delivered or cancelled yet": accepted into Steadfast's network) ->
  in_transit: Steadfast sends no picked-up signal, so this is the first sign the parcel moves.
  `STEADFAST_PENDING_STATE` may say `booked` or `picked_up` instead.
* `*_approval_pending` -> the provisional outcome (delivered / partially_delivered /
  cancelled / unknown); the approved status follows and is applied the same way (forward
  only).
* `cancelled` ("cancelled (returned) and balance updated") -> cancelled, and so does
  `cancelled_approval_pending`. Steadfast uses the one word for a parcel called off before
  pickup and for one that went out and came back; which it was is known only from the
  consignment's history, so `lib.couriers.tracking` decides: a parcel whose order had already
  left the shelf counts as returned, otherwise the order stays processing and can be rebooked.
* `hold` -> on_hold; `unknown`, `unknown_approval_pending` and any new word -> unknown.
* A `tracking_update` is free text: state unknown (stored with its message, never moves the
  order).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import quote

from lib import conf
from lib.couriers.base import (
    PROVISIONAL_ID_PREFIX,
    Booking,
    CourierError,
    CourierState,
    FeeQuote,
    Parcel,
    PayoutReport,
    TrackingUpdate,
    WebhookReply,
)
from lib.couriers.http import (
    bearer_token,
    courier_message,
    courier_request,
    courier_time,
    decimal_or_none,
    secret_matches,
)
from lib.couriers.steadfast_bulk import BulkResult, steadfast_book_bulk
from lib.couriers.steadfast_ledger import ReturnRequest, SteadfastLedger

NAME = "steadfast"
INVOICE_PREFIX = PROVISIONAL_ID_PREFIX  # a booking recovered by invoice, before its id is known
CENTS = Decimal("0.01")
INVOICE_RE = re.compile(r"^[A-Za-z0-9_-]+$")
DUPLICATE_WORDS = ("taken", "exist", "already", "duplicate", "unique")
PENDING_STATES = ("booked", "picked_up", "in_transit")
REBOOK_LIMIT = 5  # invoices tried for one order: its number, then _r2 ... _r5
REBOOK_RE = re.compile(r"^(?P<number>.+)_r(?P<attempt>[2-9])$")
DEAD_STATUSES = {"cancelled", "cancelled_approval_pending"}

STATES: dict[str, CourierState] = {
    "in_review": "booked",
    "pending": "in_transit",
    "hold": "on_hold",
    "delivered_approval_pending": "delivered",
    "partial_delivered_approval_pending": "partially_delivered",
    "cancelled_approval_pending": "cancelled",
    "unknown_approval_pending": "unknown",
    "delivered": "delivered",
    "partial_delivered": "partially_delivered",
    "cancelled": "cancelled",
    "unknown": "unknown",
}
COLLECTING = {"delivered", "partially_delivered"}  # states whose cod_amount is cash collected
WEBHOOK_OK = {"status": "success", "message": "Webhook received successfully."}


def status_slug(raw: Any) -> str:
    """Steadfast's status word as a slug: "Delivered" -> "delivered", "Partial Delivered" ->
    "partial_delivered" (its webhook doc uses both spellings)."""
    return re.sub(r"[\s-]+", "_", str(raw or "").strip().lower())


def wire_amount(amount: Decimal) -> int | float:
    """A BDT amount as the JSON number Steadfast takes (whole taka as an integer)."""
    value = Decimal(amount).quantize(CENTS, rounding=ROUND_HALF_UP)
    return int(value) if value == value.to_integral_value() else float(value)


class SteadfastCourier:
    name = NAME

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        secret_key: str,
        webhook_token: str = "",
        tracking_url: str = "https://steadfast.com.bd/t/{code}",
        base_fee: Decimal = Decimal("80"),
        cod_percent: Decimal = Decimal("1"),
        pending_state: str = "in_transit",
        timeout: float = 10.0,
    ) -> None:
        if not base_url or not api_key or not secret_key:
            raise CourierError(
                "Steadfast is not configured (STEADFAST_BASE_URL, STEADFAST_API_KEY, "
                "STEADFAST_SECRET_KEY)",
                code="courier_not_configured",
            )
        if pending_state not in PENDING_STATES:
            raise CourierError(
                f"STEADFAST_PENDING_STATE must be one of {', '.join(PENDING_STATES)}",
                code="courier_not_configured",
            )
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.secret_key = secret_key
        self.webhook_token = webhook_token
        self.tracking_template = tracking_url
        self.base_fee = Decimal(base_fee)
        self.cod_percent = Decimal(cod_percent)
        self.timeout = timeout
        self.states: dict[str, CourierState] = {**STATES, "pending": pending_state}  # type: ignore[dict-item]
        self.ledger = SteadfastLedger(self)

    # --- plumbing -------------------------------------------------------------------------

    def call(self, method: str, path: str, *, body: Any = None) -> Any:
        """One authorised call; Steadfast's answer, or a CourierError: 401/403 ->
        courier_auth_failed, 404 -> courier_not_found, other refusals -> courier_rejected
        (`body` on the error), timeouts/5xx -> retryable courier_unavailable."""
        status, answer = courier_request(
            method,
            f"{self.base_url}/{path.lstrip('/')}",
            courier=NAME,
            timeout=self.timeout,
            json_body=body,
            headers={"Api-Key": self.api_key, "Secret-Key": self.secret_key},
        )
        inner = answer.get("status") if isinstance(answer, dict) else None
        refused = isinstance(inner, int) and not isinstance(inner, bool) and inner >= 400
        if status < 400 and not refused:
            return answer.get("data", answer) if set(answer) == {"data"} else answer
        what = f"Steadfast {method} /{path.lstrip('/')}"
        if status in (401, 403) or inner in (401, 403):
            error = CourierError(f"{what}: keys refused", code="courier_auth_failed")
        elif status == 404 or inner == 404:
            error = CourierError(f"{what}: not found", code="courier_not_found")
        else:
            message = courier_message(answer, f"HTTP {status}")
            error = CourierError(f"{what}: {message}", code="courier_rejected")
        error.body = answer  # type: ignore[attr-defined]
        raise error

    # --- Courier --------------------------------------------------------------------------

    def quote(self, *, parcel: Parcel) -> FeeQuote:
        cod_fee = (Decimal(parcel.cod_amount) * self.cod_percent / 100).quantize(
            CENTS, rounding=ROUND_HALF_UP
        )
        return FeeQuote(
            delivery_fee=self.base_fee.quantize(CENTS),
            cod_fee=cod_fee,
            raw={
                "estimate": True,
                "basis": "STEADFAST_BASE_FEE + STEADFAST_COD_PERCENT of the cash to collect",
                "base_fee": str(self.base_fee),
                "cod_percent": str(self.cod_percent),
            },
        )

    def book(self, *, parcel: Parcel) -> Booking:
        """Create the parcel, once per order (see the module docstring). An invoice whose
        parcel Steadfast has cancelled cannot be used again, so an order booked anew after a
        cancellation goes out as `<order number>_r2`, `_r3`..."""
        order = self.order_fields(parcel)
        for attempt in range(1, REBOOK_LIMIT + 1):
            invoice = rebook_invoice(parcel.merchant_order_id, attempt)
            try:
                data = self.call("POST", "create_order", body={**order, "invoice": invoice})
            except CourierError as exc:
                if not (exc.retryable or duplicate_invoice(getattr(exc, "body", None))):
                    raise
                # Timed out (maybe created) or already created by an earlier attempt.
                try:
                    recovered = self.booking_by_invoice(invoice)
                except CourierError as lookup_error:  # a parcel may exist: still unknown
                    lookup_error.outcome_unknown = exc.outcome_unknown or not exc.retryable
                    raise lookup_error from exc
                if recovered is None:
                    raise
                if status_slug(recovered.raw.get("delivery_status")) in DEAD_STATUSES:
                    continue  # that parcel was called off: book under the next invoice
                return recovered
            consignment = data.get("consignment") if isinstance(data, dict) else None
            if not isinstance(consignment, dict) or not consignment.get("consignment_id"):
                raise CourierError(
                    f"Steadfast create_order answered no consignment: {str(data)[:200]}",
                    code="courier_rejected",
                )
            return self.booking_from(consignment, data)
        raise CourierError(
            f"Steadfast: order {parcel.merchant_order_id} was cancelled there "
            f"{REBOOK_LIMIT} times; book it with another courier",
            code="courier_rejected",
        )

    def track(self, *, consignment_id: str) -> TrackingUpdate:
        if consignment_id.startswith(INVOICE_PREFIX):
            invoice = consignment_id.removeprefix(INVOICE_PREFIX)
            raw = self.status_by_invoice(invoice)
            invoice = order_number(invoice)
        else:
            invoice = ""
            raw = self.status_by_cid(consignment_id)
        slug = status_slug(raw)
        return TrackingUpdate(
            consignment_id=consignment_id,
            merchant_order_id=invoice,
            state=self.states.get(slug, "unknown"),
            raw_status=slug,
            occurred_at=None,
            raw={"delivery_status": raw},
        )

    def cancel(self, *, consignment_id: str) -> None:
        raise CourierError(
            "Steadfast has no public cancel API: cancel the parcel in the Steadfast panel",
            code="courier_unsupported",
        )

    def tracking_url(self, *, tracking_code: str) -> str:
        return self.tracking_template.replace("{code}", quote(tracking_code, safe=""))

    def webhook_authentic(self, *, headers: Mapping[str, str], query: Mapping[str, str]) -> bool:
        return secret_matches(bearer_token(headers), self.webhook_token)

    def webhook_parse(self, *, payload: dict) -> list[TrackingUpdate]:
        kind = str(payload.get("notification_type") or "").strip().lower()
        consignment_id = str(payload.get("consignment_id") or "").strip()
        if kind not in ("delivery_status", "tracking_update") or not consignment_id:
            return []
        common = {
            "consignment_id": consignment_id,
            "merchant_order_id": order_number(str(payload.get("invoice") or "").strip()),
            "occurred_at": courier_time(payload.get("updated_at")),
            "message": str(payload.get("tracking_message") or "")[:1000],
            "raw": payload,
        }
        if kind == "tracking_update":
            return [TrackingUpdate(state="unknown", raw_status="tracking_update", **common)]
        slug = status_slug(payload.get("status"))
        state = self.states.get(slug, "unknown")
        collected = decimal_or_none(payload.get("cod_amount")) if state in COLLECTING else None
        return [
            TrackingUpdate(
                state=state,
                raw_status=slug or "unknown",
                collected_amount=collected,
                delivery_fee=decimal_or_none(payload.get("delivery_charge")),
                **common,
            )
        ]

    def webhook_reply(self, *, payload: dict) -> WebhookReply:
        return WebhookReply(status=200, body=dict(WEBHOOK_OK))

    # --- look-ups -------------------------------------------------------------------------

    def status_by_cid(self, consignment_id: str) -> str:
        return self._delivery_status(f"status_by_cid/{quote(str(consignment_id), safe='')}")

    def status_by_invoice(self, invoice: str) -> str:
        return self._delivery_status(f"status_by_invoice/{quote(invoice, safe='')}")

    def status_by_trackingcode(self, tracking_code: str) -> str:
        return self._delivery_status(f"status_by_trackingcode/{quote(tracking_code, safe='')}")

    def _delivery_status(self, path: str) -> str:
        data = self.call("GET", path)
        status = data.get("delivery_status") if isinstance(data, dict) else None
        if not status:
            raise CourierError(f"Steadfast {path}: no delivery_status", code="courier_rejected")
        return str(status)

    def find_by_order(self, *, merchant_order_id: str) -> Booking | None:
        """The live parcel booked for our order (under its number, or the `_rN` invoice of a
        rebooking after a cancellation), None when Steadfast has none."""
        for attempt in range(1, REBOOK_LIMIT + 1):
            found = self.booking_by_invoice(rebook_invoice(merchant_order_id, attempt))
            if found is None:
                return None
            if status_slug(found.raw.get("delivery_status")) not in DEAD_STATUSES:
                return found
        return None

    def booking_by_invoice(self, invoice: str) -> Booking | None:
        """The parcel an earlier create made for this invoice, or None when Steadfast has none.
        Steadfast's look-up answers only the status unless it also names the consignment."""
        try:
            data = self.call("GET", f"status_by_invoice/{quote(invoice, safe='')}")
        except CourierError as exc:
            if exc.code == "courier_not_found":
                return None
            raise
        if not isinstance(data, dict) or not data.get("delivery_status"):
            return None
        found = data.get("consignment") if isinstance(data.get("consignment"), dict) else data
        if found.get("consignment_id"):
            return self.booking_from(found, {**data, "recovered": True})
        return Booking(
            consignment_id=INVOICE_PREFIX + invoice,
            tracking_code=str(found.get("tracking_code") or ""),
            delivery_fee=None,
            raw={**data, "recovered": True, "invoice": invoice},
        )

    def balance(self) -> Decimal:
        data = self.call("GET", "get_balance")
        value = decimal_or_none(data.get("current_balance") if isinstance(data, dict) else None)
        if value is None:
            raise CourierError("Steadfast get_balance: no current_balance", code="courier_rejected")
        return value

    def book_bulk(self, *, parcels: Iterable[Parcel]) -> list[BulkResult]:
        """Many parcels in few calls (lib/couriers/steadfast_bulk.py)."""
        return steadfast_book_bulk(self, parcels)

    # --- returns and payouts (lib/couriers/steadfast_ledger.py) ---------------------------

    def return_request(self, *, consignment_id: str, reason: str = "") -> ReturnRequest:
        return self.ledger.return_request(consignment_id=consignment_id, reason=reason)

    def return_requests(self) -> list[ReturnRequest]:
        return self.ledger.return_requests()

    def return_request_get(self, *, request_id: str) -> ReturnRequest:
        return self.ledger.return_request_get(request_id=request_id)

    def payouts(self) -> list[PayoutReport]:
        return self.ledger.payouts()

    # --- shapes ---------------------------------------------------------------------------

    def order_fields(self, parcel: Parcel) -> dict[str, Any]:
        invoice = parcel.merchant_order_id.strip()
        if not INVOICE_RE.match(invoice):
            raise CourierError(
                f"Steadfast invoice {invoice!r} must be letters, digits, - and _",
                code="courier_rejected",
            )
        address = parcel.recipient_address.strip()
        for part in (parcel.area, parcel.district):
            if part and part.strip().lower() not in address.lower():
                address = f"{address}, {part.strip()}"
        fields: dict[str, Any] = {
            "invoice": invoice,
            "recipient_name": parcel.recipient_name.strip()[:100],
            "recipient_phone": parcel.recipient_phone,
            "recipient_address": address[:250],
            "cod_amount": wire_amount(parcel.cod_amount),
            "note": parcel.note[:500],
            "item_description": parcel.description[:500],
            "total_lot": parcel.item_count,
            "delivery_type": 0,
        }
        return fields

    def booking_from(self, consignment: dict, raw: dict) -> Booking:
        consignment_id = str(consignment["consignment_id"])
        return Booking(
            consignment_id=consignment_id,
            tracking_code=str(consignment.get("tracking_code") or consignment_id),
            delivery_fee=None,  # Steadfast says the charge later (webhook delivery_charge)
            raw=raw,
        )


def rebook_invoice(number: str, attempt: int) -> str:
    """The invoice of the order's `attempt`-th Steadfast parcel: its number, then `_r2`..."""
    return number if attempt == 1 else f"{number}_r{attempt}"


def order_number(invoice: str) -> str:
    """Our order number from a Steadfast invoice (`ZS-2612-000001_r2` -> `ZS-2612-000001`)."""
    found = REBOOK_RE.match(invoice)
    return found.group("number") if found else invoice


def duplicate_invoice(body: Any) -> bool:
    """Whether a refusal says the invoice is already used (wording not public: loose match)."""
    if not isinstance(body, dict):
        return False
    errors = body.get("errors")
    texts = []
    if isinstance(errors, dict):
        texts += [f"invoice {v}" for k, v in errors.items() if "invoice" in str(k).lower()]
    texts.append(str(body.get("message") or ""))
    return any(
        "invoice" in text.lower() and any(word in text.lower() for word in DUPLICATE_WORDS)
        for text in texts
    )


def courier() -> SteadfastCourier:
    settings = conf.steadfast_config
    return SteadfastCourier(
        base_url=settings.base_url,
        api_key=settings.api_key,
        secret_key=settings.secret_key,
        webhook_token=settings.webhook_token,
        tracking_url=settings.tracking_url,
        base_fee=Decimal(settings.base_fee),
        cod_percent=Decimal(settings.cod_percent),
        pending_state=settings.pending_state,
        timeout=settings.http_timeout,
    )
