"""The RedX OpenAPI routes of the simulator (devtools/courier_sims/redx.py): areas, charge
calculator, parcels (create, info, track, cancel) and pickup stores, over its in-memory state."""

from __future__ import annotations

import secrets
import string
import threading
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from devtools.courier_sims import redx_pages as pages

TRACKING_ALPHABET = string.ascii_uppercase + string.digits


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def number(raw: Any) -> Decimal | None:
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() and value >= 0 else None


def area_public(area: tuple) -> dict:
    area_id, name, post_code, _district, division, zone = area
    return {
        "id": area_id,
        "name": name,
        "post_code": int(post_code),
        "division_name": division,
        "zone_id": zone,
    }


class RedxApi:
    """RedX's API over the simulator's parcels, their tracking lines and the pickup stores."""

    parcels: dict[str, dict]
    tracking: dict[str, list[dict]]
    stores: list[dict]
    _lock: threading.Lock

    def _track_line(self, tracking_id: str, status: str) -> None:
        english, bangla = pages.MESSAGES.get(status, (f"Parcel status: {status}", status))
        self.tracking[tracking_id].append(
            {"message_en": english, "message_bn": bangla, "time": now_iso()}
        )

    def areas(self, path: str, query: dict, body: dict) -> tuple[int, dict]:
        district = query.get("district_name", "").strip().casefold()
        post_code = query.get("post_code", "").strip()
        found = [
            area_public(area)
            for area in pages.AREAS
            if (not district or area[3].casefold() == district)
            and (not post_code or area[2] == post_code)
        ]
        return 200, {"areas": found}

    def area(self, raw: Any) -> tuple | None:
        return next((a for a in pages.AREAS if str(a[0]) == str(raw).strip()), None)

    def fee(self, area: tuple, weight: Decimal, cash: Decimal) -> tuple[Decimal, Decimal]:
        first, extra = pages.CHARGES[area[5]]
        kilos = max(int((weight + 999) // 1000), 1)
        delivery = Decimal(first + extra * (kilos - 1))
        return delivery, (cash * pages.COD_PERCENT / 100).quantize(Decimal("0.01"))

    def charge(self, path: str, query: dict, body: dict) -> tuple[int, dict]:
        fields = ("delivery_area_id", "pickup_area_id", "cash_collection_amount", "weight")
        missing = [name for name in fields if not query.get(name, "").strip()]
        if missing:
            return 400, {"message": f"{', '.join(missing)} is required"}
        area, pickup = self.area(query["delivery_area_id"]), self.area(query["pickup_area_id"])
        weight, cash = number(query["weight"]), number(query["cash_collection_amount"])
        if area is None or pickup is None or weight is None or cash is None:
            return 400, {"message": "Invalid delivery_area_id, pickup_area_id or amount"}
        delivery, cod = self.fee(area, weight, cash)
        return 200, {"deliveryCharge": float(delivery), "codCharge": float(cod)}

    def create(self, path: str, query: dict, body: dict) -> tuple[int, dict]:
        required = (
            "customer_name",
            "customer_phone",
            "delivery_area",
            "delivery_area_id",
            "customer_address",
            "cash_collection_amount",
            "parcel_weight",
            "value",
        )
        errors = {name: "required" for name in required if str(body.get(name, "")).strip() == ""}
        if errors:
            return 400, {"message": "Validation failed", "errors": errors}
        area = self.area(body["delivery_area_id"])
        if area is None or area[1] != body["delivery_area"]:
            return 400, {
                "message": "Invalid delivery area",
                "errors": {"delivery_area_id": "invalid"},
            }
        weight, cash = number(body["parcel_weight"]), number(body["cash_collection_amount"])
        if weight is None or cash is None or number(body["value"]) is None:
            return 400, {"message": "Invalid amount or weight"}
        store = self.stores[0]
        if body.get("pickup_store_id") not in (None, ""):
            store = next(
                (s for s in self.stores if str(s["id"]) == str(body["pickup_store_id"])), None
            )
            if store is None:
                return 400, {
                    "message": "Invalid pickup store",
                    "errors": {"pickup_store_id": "invalid"},
                }
        delivery, _cod = self.fee(area, weight, cash)
        tracking_id = (
            datetime.now(UTC).strftime("%y")
            + "A"
            + "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(9))
        )
        parcel = {
            "tracking_id": tracking_id,
            "customer_address": str(body["customer_address"]),
            "delivery_area": area[1],
            "delivery_area_id": area[0],
            "charge": float(delivery),
            "customer_name": str(body["customer_name"]),
            "customer_phone": str(body["customer_phone"]),
            "cash_collection_amount": str(body["cash_collection_amount"]),
            "parcel_weight": int(weight),
            "merchant_invoice_id": str(body.get("merchant_invoice_id") or ""),
            "status": "pickup-pending",
            "instruction": str(body.get("instruction") or ""),
            "created_at": now_iso(),
            "delivery_type": "regular",
            "value": str(body["value"]),
            "pickup_location": {
                key: store[key] for key in ("id", "name", "address", "area_name", "area_id")
            },
        }
        with self._lock:
            self.parcels[tracking_id] = parcel
            self.tracking[tracking_id] = []
            self._track_line(tracking_id, "pickup-pending")
        return 200, {"tracking_id": tracking_id}

    def info(self, path: str, query: dict, body: dict) -> tuple[int, dict]:
        parcel = self.parcels.get(path.removeprefix("/parcel/info/"))
        if parcel is None:
            return 404, {"message": "Parcel not found"}
        return 200, {"parcel": parcel}

    def track(self, path: str, query: dict, body: dict) -> tuple[int, dict]:
        tracking_id = path.removeprefix("/parcel/track/")
        if tracking_id not in self.parcels:
            return 404, {"message": "Parcel not found"}
        return 200, {"tracking": list(self.tracking[tracking_id])}

    def cancel(self, path: str, query: dict, body: dict) -> tuple[int, dict]:
        details = body.get("update_details") if isinstance(body.get("update_details"), dict) else {}
        if (
            body.get("entity_type") != "parcel-tracking-id"
            or details.get("property_name") != "status"
            or details.get("new_value") != "cancelled"
        ):
            return 400, {"success": False, "message": "Invalid update request"}
        with self._lock:
            parcel = self.parcels.get(str(body.get("entity_id", "")))
            if parcel is None:
                return 404, {"success": False, "message": "Parcel not found"}
            if parcel["status"] != "pickup-pending":
                return 400, {
                    "success": False,
                    "message": f"Parcel is {parcel['status']}: it can no longer be cancelled",
                }
            parcel["status"] = "cancelled"
            self._track_line(parcel["tracking_id"], "cancelled")
        return 200, {"success": True, "message": "Request Accepted"}

    def store_list(self, path: str, query: dict, body: dict) -> tuple[int, dict]:
        return 200, {"pickup_stores": list(self.stores)}

    def store_info(self, path: str, query: dict, body: dict) -> tuple[int, dict]:
        wanted = path.removeprefix("/pickup/store/info/")
        store = next((s for s in self.stores if str(s["id"]) == wanted), None)
        if store is None:
            return 404, {"message": "Pickup store not found"}
        return 200, {"pickup_store": store}

    def store_create(self, path: str, query: dict, body: dict) -> tuple[int, dict]:
        area = self.area(body.get("area_id", ""))
        if (
            not all(str(body.get(k, "")).strip() for k in ("name", "phone", "address"))
            or area is None
        ):
            return 400, {"message": "name, phone, address and a valid area_id are required"}
        store = {
            "id": max(s["id"] for s in self.stores) + 1,
            "name": str(body["name"]),
            "address": str(body["address"]),
            "area_name": area[1],
            "area_id": area[0],
            "phone": str(body["phone"]),
            "created_at": now_iso(),
        }
        with self._lock:
            self.stores.append(store)
        return 200, {"id": store["id"], **store}
