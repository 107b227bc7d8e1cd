"""Steadfast's return requests and COD payouts (used by `lib.couriers.steadfast`).

Paths as the independent integrations call them (the reference's S-INT; the Python SDK's
`/return-request/...` and `/payment/...` paths disagree with them and are not used):
`POST /create_return_request` (one of consignment_id / invoice / tracking_code, plus an
optional reason), `GET /get_return_request/{id}`, `GET /get_return_requests`, `GET /payments`
and `GET /payments/{id}` (one payout with its consignments).

The answer shapes of these endpoints are not public, so they are read loosely: a list may come
bare or under `data` / `payments` / `return_requests` (or a paginated `data.data`); a payout's
parcels under `consignments` (or `data.consignments`, `items`); a parcel's cash under
`cod_amount` (or `collected_amount`, `amount`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from lib.couriers.base import CourierError, PayoutReport
from lib.couriers.http import courier_time, decimal_or_none

if TYPE_CHECKING:
    from lib.couriers.steadfast import SteadfastCourier

RETURN_STATES = ("pending", "approved", "processing", "completed", "cancelled")
LIST_KEYS = ("data", "payments", "return_requests", "items", "results")
LINE_KEYS = ("consignments", "items", "parcels", "orders")
AMOUNT_KEYS = ("amount", "total_amount", "paid_amount", "total")
CASH_KEYS = ("cod_amount", "collected_amount", "amount")
PAYOUTS_MAX = 50  # the newest payouts read per run (one detail call each)


@dataclass(frozen=True, slots=True)
class ReturnRequest:
    """A request asking Steadfast to bring a parcel back; `status` is one of RETURN_STATES
    (Steadfast's words as an SDK lists them) or whatever new word it sends."""

    request_id: str
    consignment_id: str
    status: str
    reason: str = ""
    raw: dict = field(default_factory=dict)


def listed(data: Any) -> list[dict]:
    """The items of a list answer, wherever Steadfast puts them."""
    if isinstance(data, list):
        return [item for item in data if isinstance(item, dict)]
    if isinstance(data, dict):
        for key in LIST_KEYS:
            value = data.get(key)
            if isinstance(value, list):
                return listed(value)
            if isinstance(value, dict) and isinstance(value.get("data"), list):
                return listed(value["data"])
    return []


def single(data: Any, *keys: str) -> dict:
    """The one object of an answer: under one of `keys` or `data`, else the answer itself."""
    if isinstance(data, dict):
        for key in (*keys, "data"):
            if isinstance(data.get(key), dict):
                return data[key]
        return data
    return {}


def first(item: dict, keys: tuple[str, ...]) -> Any:
    return next((item[key] for key in keys if item.get(key) not in (None, "")), None)


class SteadfastLedger:
    def __init__(self, courier: SteadfastCourier) -> None:
        self.courier = courier

    # --- returns --------------------------------------------------------------------------

    def return_request(self, *, consignment_id: str, reason: str = "") -> ReturnRequest:
        body: dict[str, Any] = {"reason": reason[:500]} if reason else {}
        if consignment_id.startswith("invoice:"):
            body["invoice"] = consignment_id.removeprefix("invoice:")
        else:
            body["consignment_id"] = (
                int(consignment_id) if consignment_id.isdigit() else (consignment_id)
            )
        data = self.courier.call("POST", "create_return_request", body=body)
        return self.return_from(single(data, "return_request"), fallback=consignment_id)

    def return_request_get(self, *, request_id: str) -> ReturnRequest:
        data = self.courier.call("GET", f"get_return_request/{quote(str(request_id), safe='')}")
        return self.return_from(single(data, "return_request"))

    def return_requests(self) -> list[ReturnRequest]:
        data = self.courier.call("GET", "get_return_requests")
        return [self.return_from(item) for item in listed(data)]

    @staticmethod
    def return_from(item: dict, fallback: str = "") -> ReturnRequest:
        request_id = str(item.get("id") or item.get("return_request_id") or "")
        if not request_id:
            raise CourierError(
                f"Steadfast return request without an id: {str(item)[:200]}",
                code="courier_rejected",
            )
        return ReturnRequest(
            request_id=request_id,
            consignment_id=str(item.get("consignment_id") or fallback),
            status=str(item.get("status") or "pending").lower(),
            reason=str(item.get("reason") or ""),
            raw=item,
        )

    # --- payouts --------------------------------------------------------------------------

    def payouts(self) -> list[PayoutReport]:
        """The newest payouts (at most PAYOUTS_MAX), each with the parcels it paid for."""
        reports = []
        for summary in listed(self.courier.call("GET", "payments"))[:PAYOUTS_MAX]:
            reference = str(summary.get("id") or summary.get("payment_id") or "")
            if not reference:
                continue
            detail = single(
                self.courier.call("GET", f"payments/{quote(reference, safe='')}"), "payment"
            )
            reports.append(self.payout_from(reference, {**summary, **detail}))
        return reports

    @staticmethod
    def payout_from(reference: str, item: dict) -> PayoutReport:
        lines: list[tuple[str, Decimal]] = []
        rows = next((item[key] for key in LINE_KEYS if isinstance(item.get(key), list)), [])
        for row in rows:
            if not isinstance(row, dict) or not row.get("consignment_id"):
                continue
            cash = decimal_or_none(first(row, CASH_KEYS)) or Decimal("0")
            lines.append((str(row["consignment_id"]), cash))
        amount = decimal_or_none(first(item, AMOUNT_KEYS))
        if amount is None:
            amount = sum((cash for _, cash in lines), Decimal("0"))
        paid_at = courier_time(first(item, ("paid_at", "created_at", "updated_at", "date")))
        return PayoutReport(
            reference=reference, paid_at=paid_at, amount=amount, lines=tuple(lines), raw=item
        )
