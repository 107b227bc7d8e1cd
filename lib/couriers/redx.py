"""RedX OpenAPI (v1.0.0-beta) as a `Courier`.

* Auth: the merchant panel's static JWT in `API-ACCESS-TOKEN: Bearer <token>` on every call;
  a 401/403 is `courier_auth_failed` (not retryable: a new token is needed).
* Areas: RedX needs `delivery_area` (name) and `delivery_area_id` on every parcel: found by
  `redx_area_resolve` in RedX's area list, cached a day in KV (lib/couriers/redx_areas.py).
* `quote` = `GET /charge/charge_calculator` (grams, from REDX_PICKUP_AREA_ID);
  `book` = `POST /parcel` (merchant_invoice_id = our order number) -> `tracking_id`, which is
  both the consignment id and the customer's tracking code; `track` = `GET /parcel/info/{id}`;
  `history` = `GET /parcel/track/{id}`; `cancel` = `PATCH /parcels`; `pickup_stores` =
  `GET /pickup/stores`.
* Webhooks: RedX signs nothing; its callback URL carries `?token=REDX_WEBHOOK_TOKEN`. The body
  is `{tracking_number, timestamp, status, message_en, message_bn, invoice_number}`; what RedX
  expects back is not documented, so 200 `{"status": "ok"}`.

Statuses: the documented ones map to our states; anything else is `unknown` (stored, never
fatal) unless REDX_EXTRA_STATUSES names it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, cast, get_args
from urllib.parse import quote as url_quote

from lib import conf
from lib.conf import RedxConfig
from lib.couriers.base import (
    Booking,
    CourierError,
    CourierState,
    FeeQuote,
    Parcel,
    TrackingUpdate,
    WebhookReply,
)
from lib.couriers.http import (
    courier_message,
    courier_request,
    courier_time,
    decimal_or_none,
    secret_matches,
)
from lib.couriers.redx_areas import RedxAreaLookup

CENTS = Decimal("0.01")

# RedX's documented statuses (R-DOC); `pickup-pending` is seen on parcel info only.
STATES: dict[str, CourierState] = {
    "pickup-pending": "booked",
    "ready-for-delivery": "picked_up",
    "agent-area-change": "in_transit",
    "delivery-in-progress": "out_for_delivery",
    "delivered": "delivered",
    "agent-hold": "on_hold",
    "agent-returning": "returning",
    "returned": "returned",
}
KNOWN_STATES = frozenset(get_args(CourierState))


@dataclass(frozen=True, slots=True)
class RedxTrackingEvent:
    """One line of a parcel's history (`GET /parcel/track/{id}`)."""

    message_en: str
    message_bn: str
    time: datetime | None


@dataclass(frozen=True, slots=True)
class RedxPickupStore:
    id: int
    name: str
    address: str
    area_id: int
    area_name: str
    phone: str


def money(amount: Decimal) -> str:
    return format(Decimal(amount).quantize(CENTS, rounding=ROUND_HALF_UP), "f")


def required_decimal(raw: Any, what: str) -> Decimal:
    value = decimal_or_none(raw)
    if value is None:
        raise CourierError(f"redx: {what} missing from the answer", code="courier_rejected")
    return value.quantize(CENTS, rounding=ROUND_HALF_UP)


class RedxCourier(RedxAreaLookup):
    name = "redx"

    def __init__(self, *, config: RedxConfig, kv: Any = None) -> None:
        self.config = config
        self._kv = kv
        self.states: dict[str, CourierState] = dict(STATES)
        for status, state in config.extra_statuses:
            if state in KNOWN_STATES:
                self.states[status.strip().lower()] = cast(CourierState, state)

    # --- plumbing -------------------------------------------------------------------------

    @property
    def kv(self):
        if self._kv is None:
            from lib.kv import get_kv

            self._kv = get_kv()
        return self._kv

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
    ) -> dict:
        """One authorised call; RedX's refusals become non-retryable CourierErrors."""
        if not self.config.base_url or not self.config.access_token:
            raise CourierError(
                "redx: REDX_BASE_URL and REDX_ACCESS_TOKEN must be set",
                code="courier_not_configured",
            )
        status, body = courier_request(
            method,
            self.config.base_url + path,
            courier=self.name,
            timeout=self.config.http_timeout,
            json_body=json_body,
            params=params,
            headers={"API-ACCESS-TOKEN": f"Bearer {self.config.access_token}"},
        )
        if status in (401, 403):
            raise CourierError(
                f"redx: {method} {path} refused the access token (HTTP {status})",
                code="courier_auth_failed",
            )
        if status == 404:
            raise CourierError(
                f"redx: {method} {path}: {courier_message(body, 'not found')}",
                code="courier_not_found",
            )
        if status >= 400:
            raise CourierError(
                f"redx: {method} {path}: {courier_message(body, f'HTTP {status}')}",
                code="courier_rejected",
            )
        return body

    # --- the Courier interface ------------------------------------------------------------

    def quote(self, *, parcel: Parcel) -> FeeQuote:
        if not self.config.pickup_area_id:
            raise CourierError(
                "redx: REDX_PICKUP_AREA_ID must be set for quotes", code="courier_not_configured"
            )
        area = self.redx_area_resolve(district=parcel.district, area=parcel.area)
        body = self._call(
            "GET",
            "/charge/charge_calculator",
            params={
                "delivery_area_id": area.id,
                "pickup_area_id": self.config.pickup_area_id,
                "cash_collection_amount": money(parcel.cod_amount),
                "weight": parcel.weight_grams,
            },
        )
        return FeeQuote(
            delivery_fee=required_decimal(body.get("deliveryCharge"), "deliveryCharge"),
            cod_fee=required_decimal(body.get("codCharge", 0), "codCharge"),
            raw=body,
        )

    def book(self, *, parcel: Parcel) -> Booking:
        try:  # a failed area look-up leaves nothing at RedX
            area = self.redx_area_resolve(district=parcel.district, area=parcel.area)
        except CourierError as exc:
            exc.outcome_unknown = False
            raise
        body: dict[str, Any] = {
            "customer_name": parcel.recipient_name,
            "customer_phone": parcel.recipient_phone,
            "delivery_area": area.name,
            "delivery_area_id": area.id,
            "customer_address": parcel.recipient_address,
            "merchant_invoice_id": parcel.merchant_order_id,
            "cash_collection_amount": money(parcel.cod_amount),
            "parcel_weight": parcel.weight_grams,
            "value": money(parcel.declared_value),
            "instruction": parcel.note,
        }
        if parcel.description:
            body["parcel_details_json"] = [
                {
                    "name": parcel.description[:100],
                    "category": "",
                    "value": money(parcel.declared_value),
                }
            ]
        if self.config.pickup_store_id:
            body["pickup_store_id"] = self.config.pickup_store_id
        reply = self._call("POST", "/parcel", json_body=body)
        tracking_id = str(reply.get("tracking_id") or "").strip()
        if not tracking_id:
            raise CourierError(
                f"redx: POST /parcel gave no tracking_id: {courier_message(reply, 'no message')}",
                code="courier_rejected",
            )
        return Booking(
            consignment_id=tracking_id,
            tracking_code=tracking_id,
            delivery_fee=self.booked_charge(tracking_id),
            raw=reply,
        )

    def booked_charge(self, tracking_id: str) -> Decimal | None:
        """The charge of a parcel just created (RedX's create answers only its id): read from
        parcel info, best effort. The parcel exists whatever this says; a poll fills it later."""
        try:
            return self.track(consignment_id=tracking_id).delivery_fee
        except CourierError:
            return None

    def track(self, *, consignment_id: str) -> TrackingUpdate:
        reply = self._call("GET", f"/parcel/info/{url_quote(consignment_id, safe='')}")
        parcel = reply.get("parcel")
        if not isinstance(parcel, dict):
            raise CourierError("redx: parcel info without a parcel", code="courier_rejected")
        raw_status = str(parcel.get("status") or "")
        state = self.state_of(raw_status)
        collected = None
        if state in ("delivered", "partially_delivered"):
            collected = decimal_or_none(parcel.get("cash_collection_amount"))
        return TrackingUpdate(
            consignment_id=str(parcel.get("tracking_id") or consignment_id),
            merchant_order_id=str(parcel.get("merchant_invoice_id") or ""),
            state=state,
            raw_status=raw_status,
            occurred_at=None,  # parcel info carries no time of its current status
            collected_amount=collected,
            delivery_fee=decimal_or_none(parcel.get("charge")),
            raw=reply,
        )

    def history(self, *, consignment_id: str) -> list[RedxTrackingEvent]:
        """The parcel's history, as RedX lists it."""
        reply = self._call("GET", f"/parcel/track/{url_quote(consignment_id, safe='')}")
        return [
            RedxTrackingEvent(
                message_en=str(item.get("message_en") or ""),
                message_bn=str(item.get("message_bn") or ""),
                time=courier_time(item.get("time")),
            )
            for item in reply.get("tracking") or []
            if isinstance(item, dict)
        ]

    def cancel(self, *, consignment_id: str) -> None:
        reply = self._call(
            "PATCH",
            "/parcels",
            json_body={
                "entity_type": "parcel-tracking-id",
                "entity_id": consignment_id,
                "update_details": {
                    "property_name": "status",
                    "new_value": "cancelled",
                    "reason": "Cancelled by the merchant",
                },
            },
        )
        if reply.get("success") is not True:
            raise CourierError(
                f"redx: cancel refused: {courier_message(reply, 'no reason given')}",
                code="courier_rejected",
            )

    def pickup_stores(self) -> list[RedxPickupStore]:
        reply = self._call("GET", "/pickup/stores")
        return [
            RedxPickupStore(
                id=int(item["id"]),
                name=str(item.get("name") or ""),
                address=str(item.get("address") or ""),
                area_id=int(item.get("area_id") or 0),
                area_name=str(item.get("area_name") or ""),
                phone=str(item.get("phone") or ""),
            )
            for item in reply.get("pickup_stores") or []
            if isinstance(item, dict) and str(item.get("id", "")).isdigit()
        ]

    def tracking_url(self, *, tracking_code: str) -> str:
        return self.config.tracking_url.replace("{code}", url_quote(tracking_code, safe=""))

    # --- webhooks -------------------------------------------------------------------------

    def webhook_authentic(self, *, headers: Mapping[str, str], query: Mapping[str, str]) -> bool:
        return secret_matches(query.get("token"), self.config.webhook_token)

    def webhook_parse(self, *, payload: dict) -> list[TrackingUpdate]:
        tracking = str(payload.get("tracking_number") or "").strip()
        raw_status = str(payload.get("status") or "").strip()
        if not tracking or not raw_status:
            return []
        return [
            TrackingUpdate(
                consignment_id=tracking,
                merchant_order_id=str(payload.get("invoice_number") or "").strip(),
                state=self.state_of(raw_status),
                raw_status=raw_status,
                occurred_at=webhook_time(payload.get("timestamp")),
                message=str(payload.get("message_en") or payload.get("message_bn") or "")[:500],
                raw=payload,
            )
        ]

    def webhook_reply(self, *, payload: dict) -> WebhookReply:
        return WebhookReply(status=200, body={"status": "ok"})

    def state_of(self, raw_status: str) -> CourierState:
        return self.states.get(raw_status.strip().lower(), "unknown")


def webhook_time(raw: Any) -> datetime | None:
    """RedX's `timestamp`: ISO-8601 (Bangladesh time when it names no zone) or epoch seconds or
    milliseconds (its format is not documented)."""
    if isinstance(raw, (int, float)) and not isinstance(raw, bool) and raw > 0:
        seconds = raw / 1000 if raw > 10**11 else raw
        return datetime.fromtimestamp(seconds, tz=UTC)
    if isinstance(raw, str) and raw.strip().isdigit():
        return webhook_time(int(raw.strip()))
    return courier_time(raw)


def courier() -> RedxCourier:
    """The adapter, built from REDX_* (lib.conf.redx_config)."""
    return RedxCourier(config=conf.redx_config)
