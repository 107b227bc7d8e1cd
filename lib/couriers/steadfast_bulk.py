"""Steadfast's bulk create (`POST /create_order/bulk-order`), used by
`SteadfastCourier.book_bulk`: `data` is a JSON-encoded *string* of at most 500 orders (as
Steadfast's doc sends it), and the answer has one item per order, `status` "success" with its
`consignment_id` and `tracking_code`, or "error" with both null (no reason is given)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lib.couriers.base import Booking, Parcel
from lib.couriers.http import courier_message

if TYPE_CHECKING:
    from lib.couriers.steadfast import SteadfastCourier

BULK_LIMIT = 500


@dataclass(frozen=True, slots=True)
class BulkResult:
    """One order of a bulk create: its booking, or why Steadfast did not take it."""

    merchant_order_id: str
    booking: Booking | None
    error: str = ""
    raw: dict = field(default_factory=dict)


def steadfast_book_bulk(courier: SteadfastCourier, parcels: Iterable[Parcel]) -> list[BulkResult]:
    """Create many parcels, 500 per call; one result per parcel, in order. A failed call
    (timeout, 5xx) raises: ask `booking_by_invoice` before sending those orders again."""
    orders = [courier.order_fields(parcel) for parcel in parcels]
    results: list[BulkResult] = []
    for start in range(0, len(orders), BULK_LIMIT):
        chunk = orders[start : start + BULK_LIMIT]
        data = courier.call("POST", "create_order/bulk-order", body={"data": json.dumps(chunk)})
        items = data if isinstance(data, list) else (data or {}).get("data") or []
        by_invoice = {str(i.get("invoice")): i for i in items if isinstance(i, dict)}
        for order in chunk:
            item = by_invoice.get(order["invoice"], {})
            ok = str(item.get("status", "")).lower() == "success"
            if ok and item.get("consignment_id"):
                booking = courier.booking_from(item, item)
                results.append(BulkResult(order["invoice"], booking, raw=item))
            else:
                reason = courier_message(item, "Steadfast did not take this order")
                results.append(BulkResult(order["invoice"], None, reason, raw=item))
    return results
