"""Pathao Courier's merchant API ("aladdin") as a `Courier`.

* Token: `POST /aladdin/api/v1/issue-token` with the password grant (documented), or
  `external/login` with the client id and secret only (Pathao's own plugin;
  PATHAO_AUTH_FLOW=client_credentials). Renewed with the refresh grant once half its life
  (5 days) has passed; cached in KV and shared by every instance, one instance renewing
  (lib/couriers/tokens.py). A 401 drops the cached token and the call is made once more
  with a new one.
* Look-ups: `city_list()`, `zones(city_id)`, `areas(zone_id)`, cached in KV for a day. A
  parcel's district is matched to a city by name (PATHAO_DEFAULT_CITY_ID when none matches),
  its area to one of that city's zones (PATHAO_DEFAULT_ZONE_ID, else the first zone).
* `quote` = `merchant/price-plan`; `book` = `orders` (merchant_order_id = our order number,
  amount_to_collect in whole taka, item_weight in kg 0.5-10, normal delivery, parcel);
  `track` = `orders/{consignment_id}/info`; there is no public cancel.
* Webhooks: `X-PATHAO-Signature` carries the secret entered in the merchant panel, verbatim;
  every reply is 202 with Pathao's fixed integration header. Statuses come from the `event`
  slug (lib/couriers/pathao_events.py), never from `order_status`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from lib import conf
from lib.conf import PathaoConfig
from lib.couriers.base import Booking, CourierError, FeeQuote, Parcel, TrackingUpdate, WebhookReply
from lib.couriers.http import (
    courier_message,
    courier_request,
    courier_time,
    decimal_or_none,
    header_value,
    secret_matches,
)
from lib.couriers.pathao_events import pathao_state
from lib.couriers.tokens import SharedToken, TokenGrant

logger = logging.getLogger(__name__)

API = "/aladdin/api/v1/"
# KV keys, per Pathao host and client (the simulator, the sandbox and live never share them)
TOKEN_KEY = "couriers:pathao:{account}:token"  # noqa: S105 (a KV key name)
LOOKUP_KEY = "couriers:pathao:{account}:lookup:{what}"
LOOKUP_SECONDS = 86400
SIGNATURE_HEADER = "X-PATHAO-Signature"
INTEGRATION_HEADER = "X-Pathao-Merchant-Webhook-Integration-Secret"
INTEGRATION_SECRET = "f3992ecc-59da-4cbe-a049-a13da2018d51"  # noqa: S105 (Pathao's constant)
DELIVERY_NORMAL = 48
ITEM_PARCEL = 2
MIN_KG, MAX_KG = Decimal("0.5"), Decimal("10")
CENTS = Decimal("0.01")
# Our district names (Bangladesh's current spelling) -> the older spelling in Pathao's list.
CITY_SPELLINGS = {
    "chattogram": "chittagong",
    "cumilla": "comilla",
    "barishal": "barisal",
    "jashore": "jessore",
    "bogura": "bogra",
}


def name_key(name: Any) -> str:
    """A place name for matching: lower case, letters only (Pathao's names carry spaces)."""
    return "".join(ch for ch in str(name or "").lower() if ch.isalpha())


class PathaoCourier:
    name = "pathao"

    def __init__(self, settings: PathaoConfig, *, kv: Any = None) -> None:
        if not settings.base_url:
            raise CourierError("PATHAO_BASE_URL is not set", code="courier_not_configured")
        if settings.auth_flow not in ("password", "client_credentials"):
            raise CourierError(
                "PATHAO_AUTH_FLOW must be password or client_credentials",
                code="courier_not_configured",
            )
        self.settings = settings
        self.api = settings.base_url.rstrip("/") + API
        self._kv = kv
        digest = hashlib.sha256(f"{self.api} {settings.client_id}".encode()).hexdigest()
        self.account = digest[:12]
        self.token = SharedToken(
            key=TOKEN_KEY.format(account=self.account),
            renew=self._token_renew,
            wait_seconds=settings.http_timeout * 2 + 5,
            kv=kv,
        )

    @property
    def kv(self) -> Any:
        if self._kv is None:
            from lib.kv import get_kv

            self._kv = get_kv()
        return self._kv

    # --- HTTP -------------------------------------------------------------------------------

    def _send(self, method: str, path: str, body: Any = None, token: str = "") -> tuple[int, dict]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return courier_request(
            method,
            self.api + path,
            courier=self.name,
            timeout=self.settings.http_timeout,
            json_body=body,
            headers=headers,
        )

    def _call(self, method: str, path: str, body: Any = None) -> dict:
        """An authorised call answering Pathao's `data`; a refused token is replaced once."""
        token = self.token.get()
        status, reply = self._send(method, path, body, token)
        if status == 401:
            self.token.drop(token)
            status, reply = self._send(method, path, body, self.token.get())
            if status == 401:
                raise CourierError("Pathao refused a new token", code="courier_auth_failed")
        if not 200 <= status < 300:
            message = courier_message(reply, f"HTTP {status}")
            raise CourierError(f"Pathao {path}: {message}", code="courier_rejected")
        data = reply.get("data")
        return data if isinstance(data, dict) else {"data": data}

    # --- token ------------------------------------------------------------------------------

    def _token_renew(self, record: dict | None) -> TokenGrant:
        settings = self.settings
        credentials = {"client_id": settings.client_id, "client_secret": settings.client_secret}
        if record and record.get("refresh_token"):
            body = {
                **credentials,
                "grant_type": "refresh_token",
                "refresh_token": record["refresh_token"],
            }
            status, reply = self._send("POST", "issue-token", body)
            if 200 <= status < 300 and reply.get("access_token"):
                return self._grant(reply)
            logger.info("pathao token refresh refused (HTTP %s); issuing a new one", status)
        if settings.auth_flow == "client_credentials":
            status, reply = self._send("POST", "external/login", credentials)
        else:
            body = {
                **credentials,
                "grant_type": "password",
                "username": settings.username,
                "password": settings.password,
            }
            status, reply = self._send("POST", "issue-token", body)
        reply = reply.get("data") if isinstance(reply.get("data"), dict) else reply
        if not 200 <= status < 300 or not reply.get("access_token"):
            message = courier_message(reply, f"HTTP {status}")
            raise CourierError(f"Pathao issued no token: {message}", code="courier_auth_failed")
        return self._grant(reply)

    @staticmethod
    def _grant(reply: dict) -> TokenGrant:
        expires_in = decimal_or_none(reply.get("expires_in"))
        return TokenGrant(
            access_token=str(reply["access_token"]),
            refresh_token=str(reply.get("refresh_token") or ""),
            # Pathao's own plugin assumes an hour when the answer names no lifetime.
            expires_in=float(expires_in) if expires_in and expires_in > 0 else 3600.0,
        )

    # --- look-ups (cached for a day) ----------------------------------------------------------

    def _lookup(self, what: str, path: str) -> list[dict]:
        key = LOOKUP_KEY.format(account=self.account, what=what)
        try:
            cached = self.kv.get(key)
            if cached:
                return json.loads(cached)
        except Exception:
            logger.warning("pathao look-up cache unreadable", exc_info=True)
        data = self._call("GET", path)
        rows = data.get("data") if isinstance(data.get("data"), list) else []
        rows = [row for row in rows if isinstance(row, dict)]
        try:
            self.kv.set(key, json.dumps(rows), ex=LOOKUP_SECONDS)
        except Exception:
            logger.warning("pathao look-up cache unwritable", exc_info=True)
        return rows

    def city_list(self) -> list[dict]:
        """[{city_id, city_name}]"""
        return self._lookup("cities", "city-list")

    def zones(self, city_id: int) -> list[dict]:
        """[{zone_id, zone_name}] of one city."""
        return self._lookup(f"zones:{int(city_id)}", f"cities/{int(city_id)}/zone-list")

    def areas(self, zone_id: int) -> list[dict]:
        """[{area_id, area_name, home_delivery_available, pickup_available}] of one zone."""
        return self._lookup(f"areas:{int(zone_id)}", f"zones/{int(zone_id)}/area-list")

    def store_list(self) -> list[dict]:
        """The merchant's pickup stores (where PATHAO_STORE_ID comes from)."""
        data = self._call("GET", "stores")
        rows = data.get("data")
        return [row for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []

    def city_for(self, district: str) -> int:
        wanted = name_key(district)
        wanted = CITY_SPELLINGS.get(wanted, wanted)
        for city in self.city_list():
            if wanted and name_key(city.get("city_name")) == wanted:
                return int(city["city_id"])
        return self.settings.default_city_id

    def zone_for(self, city_id: int, area: str) -> int | None:
        zones = self.zones(city_id)
        wanted = name_key(area)
        for zone in zones:
            if wanted and name_key(zone.get("zone_name")) == wanted:
                return int(zone["zone_id"])
        if self.settings.default_zone_id:
            return self.settings.default_zone_id
        return int(zones[0]["zone_id"]) if zones else None

    # --- Courier ----------------------------------------------------------------------------

    def _store_id(self) -> int:
        try:
            return int(self.settings.store_id)
        except ValueError:
            raise CourierError(
                "PATHAO_STORE_ID is not set", code="courier_not_configured"
            ) from None

    @staticmethod
    def weight_kg(parcel: Parcel) -> float:
        kg = max(Decimal(parcel.weight_grams) / 1000, MIN_KG).quantize(CENTS)
        if kg > MAX_KG:
            raise CourierError(
                f"Pathao carries parcels up to {MAX_KG} kg, this one weighs {kg} kg",
                code="courier_rejected",
            )
        return float(kg)

    def quote(self, *, parcel: Parcel) -> FeeQuote:
        city = self.city_for(parcel.district)
        zone = self.zone_for(city, parcel.area)
        if zone is None:
            raise CourierError(f"Pathao lists no zone in city {city}", code="courier_rejected")
        body = {
            "store_id": self._store_id(),
            "item_type": ITEM_PARCEL,
            "delivery_type": DELIVERY_NORMAL,
            "item_weight": self.weight_kg(parcel),
            "recipient_city": city,
            "recipient_zone": zone,
        }
        data = self._call("POST", "merchant/price-plan", body)
        fee = decimal_or_none(data.get("final_price"))
        if fee is None:
            fee = decimal_or_none(data.get("price"))
        if fee is None:
            raise CourierError("Pathao's price plan named no price", code="courier_rejected")
        cod_rate = decimal_or_none(data.get("cod_percentage")) or Decimal(0)
        cod_fee = Decimal(0)
        if parcel.cod_amount > 0 and data.get("cod_enabled", True):
            cod_fee = (parcel.cod_amount * cod_rate).quantize(CENTS, rounding=ROUND_HALF_UP)
        return FeeQuote(delivery_fee=fee.quantize(CENTS), cod_fee=cod_fee, raw=data)

    def order_body(self, parcel: Parcel) -> dict:
        address = parcel.recipient_address.strip()
        for part in (parcel.area, parcel.district):  # Pathao reads city and zone from it
            if part and part.lower() not in address.lower():
                address = f"{address}, {part}"
        body: dict[str, Any] = {
            "store_id": self._store_id(),
            "merchant_order_id": parcel.merchant_order_id,
            "recipient_name": parcel.recipient_name.strip()[:100],
            "recipient_phone": parcel.recipient_phone,
            "recipient_address": address[:220],
            "delivery_type": DELIVERY_NORMAL,
            "item_type": ITEM_PARCEL,
            "item_quantity": max(parcel.item_count, 1),
            "item_weight": self.weight_kg(parcel),
            "amount_to_collect": int(parcel.cod_amount.quantize(Decimal(1), ROUND_HALF_UP)),
        }
        if parcel.description:
            body["item_description"] = parcel.description[:255]
        if parcel.note:
            body["special_instruction"] = parcel.note[:255]
        return body

    def book(self, *, parcel: Parcel) -> Booking:
        try:  # the token first: a failure before the create leaves nothing at Pathao
            body = self.order_body(parcel)
            self.token.get()
        except CourierError as exc:
            exc.outcome_unknown = False
            raise
        data = self._call("POST", "orders", body)
        consignment_id = str(data.get("consignment_id") or "")
        if not consignment_id:
            raise CourierError("Pathao booked no consignment_id", code="courier_rejected")
        return Booking(
            consignment_id=consignment_id,
            tracking_code=consignment_id,  # Pathao's consignment id is its tracking id
            delivery_fee=decimal_or_none(data.get("delivery_fee")),
            raw=data,
        )

    def track(self, *, consignment_id: str) -> TrackingUpdate:
        data = self._call("GET", f"orders/{consignment_id}/info")
        status = str(data.get("order_status") or "")
        state = pathao_state(str(data.get("order_status_slug") or ""))
        if state == "unknown":
            state = pathao_state(status)
        return TrackingUpdate(
            consignment_id=str(data.get("consignment_id") or consignment_id),
            merchant_order_id=str(data.get("merchant_order_id") or ""),
            state=state,
            raw_status=status or str(data.get("order_status_slug") or ""),
            occurred_at=courier_time(data.get("updated_at")),
            raw=data,
        )

    def cancel(self, *, consignment_id: str) -> None:
        raise CourierError(
            "Pathao publishes no cancel API: cancel it in the merchant panel",
            code="courier_unsupported",
        )

    def tracking_url(self, *, tracking_code: str) -> str:
        return self.settings.tracking_url.replace("{code}", tracking_code)

    # --- webhooks ---------------------------------------------------------------------------

    def webhook_authentic(self, *, headers: Mapping[str, str], query: Mapping[str, str]) -> bool:
        given = header_value(headers, SIGNATURE_HEADER)
        return secret_matches(given, self.settings.webhook_secret)

    def webhook_parse(self, *, payload: dict) -> list[TrackingUpdate]:
        event = str(payload.get("event") or "")
        consignment_id = str(payload.get("consignment_id") or "")
        if not event.startswith("order.") or not consignment_id:
            return []  # the webhook_integration handshake, store.* events
        occurred_at = courier_time(payload.get("timestamp")) or courier_time(
            payload.get("updated_at")
        )
        message = payload.get("reason") or ""
        if payload.get("invoice_id"):
            message = message or f"Pathao invoice {payload['invoice_id']}"
        return [
            TrackingUpdate(
                consignment_id=consignment_id,
                merchant_order_id=str(payload.get("merchant_order_id") or ""),
                state=pathao_state(event),
                raw_status=event,
                occurred_at=occurred_at,
                collected_amount=decimal_or_none(payload.get("collected_amount")),
                delivery_fee=decimal_or_none(payload.get("delivery_fee")),
                message=str(message)[:500],
                raw=dict(payload),
            )
        ]

    def webhook_reply(self, *, payload: dict) -> WebhookReply:
        return WebhookReply(
            status=202,
            body={"status": "accepted"},
            headers={INTEGRATION_HEADER: INTEGRATION_SECRET},
        )


def courier() -> PathaoCourier:
    return PathaoCourier(conf.pathao_config)
