"""The couriers' admin answers assembled from services and models: a quote, a bulk booking's
per-order results, a parcel label, payouts and the reconciliation report (amounts as Money
in the caller's language)."""

from __future__ import annotations

from typing import Any

from db.models import CourierPayout, Order
from lib.couriers import selectors
from lib.couriers.parcels import parcel_from_order
from lib.couriers.payouts import courier_reconciliation
from lib.couriers.services import BulkResult, courier_quote
from lib.errors import translate
from lib.i18n import Language
from lib.money import money
from lib.pagination import PageParams, paginate


def quote_out(*, order: Order, courier: str, language: Language) -> dict[str, Any]:
    fee = courier_quote(order=order, courier=courier)
    parcel = parcel_from_order(order)
    return {
        "courier": courier,
        "order_number": order.number,
        "delivery_fee": money(fee.delivery_fee, language),
        "cod_fee": money(fee.cod_fee, language),
        "total_fee": money(fee.delivery_fee + fee.cod_fee, language),
        "cod_amount": money(parcel.cod_amount, language),
        "weight_grams": parcel.weight_grams,
    }


def bulk_out(results: list[BulkResult], language: Language) -> dict[str, Any]:
    """One row per order (the booked consignments read in one query)."""
    booked = {
        c.pk: c
        for c in selectors.consignments_of(None).filter(
            pk__in=[r.consignment.pk for r in results if r.consignment is not None]
        )
    }
    rows = []
    for result in results:
        error = result.error
        consignment = booked.get(result.consignment.pk) if result.consignment else None
        rows.append(
            {
                "order_number": result.number,
                "ok": error is None,
                "created": result.created,
                "consignment": selectors.consignment_out(consignment, language)
                if consignment is not None
                else None,
                "error": None
                if error is None
                else {
                    "code": error.code,
                    "message": error.message or translate(error.code, language),
                    "fields": error.fields,
                },
            }
        )
    failed = sum(1 for row in rows if not row["ok"])
    unconfirmed = sum(
        1
        for row in rows
        if row["consignment"] and row["consignment"]["state"] == "booking_unconfirmed"
    )
    return {
        "booked": len(rows) - failed - unconfirmed,
        "unconfirmed": unconfirmed,
        "failed": failed,
        "results": rows,
    }


def label_out(consignment, language: Language) -> dict[str, Any]:
    """What to print on the parcel."""
    parcel = parcel_from_order(consignment.order)
    code = consignment.tracking_code
    return {
        "courier": consignment.courier,
        "order_number": consignment.order.number,
        "consignment_id": consignment.consignment_id,
        "tracking_code": code,
        "tracking_url": selectors.tracking_url_of(consignment.courier, code) if code else "",
        "recipient_name": parcel.recipient_name,
        "recipient_phone": parcel.recipient_phone,
        "recipient_address": parcel.recipient_address,
        "district": parcel.district,
        "area": parcel.area,
        "cod_amount": money(consignment.cod_amount, language),
        "item_count": parcel.item_count,
        "weight_grams": parcel.weight_grams,
        "description": parcel.description,
    }


def payout_out(payout: CourierPayout, language: Language) -> dict[str, Any]:
    return {
        "id": payout.pk,
        "courier": payout.courier,
        "reference": payout.reference,
        "amount": money(payout.amount, language),
        "paid_at": payout.paid_at,
        "created_at": payout.created_at,
        "lines": [
            {
                "consignment_id": line.consignment_ref,
                "known": line.consignment_id is not None,
                "amount": money(line.amount, language),
            }
            for line in payout.lines.all()
        ],
    }


def payout_get(payout_pk: Any, language: Language) -> dict[str, Any]:
    return payout_out(CourierPayout.objects.prefetch_related("lines").get(pk=payout_pk), language)


def payout_list(*, courier: str | None, params: PageParams, language: Language) -> dict[str, Any]:
    """Payouts newest first with their lines (two queries and the count)."""
    queryset = CourierPayout.objects.prefetch_related("lines").order_by("-created_at", "-id")
    if courier:
        queryset = queryset.filter(courier=courier)
    page = paginate(queryset, params)
    page["items"] = [payout_out(payout, language) for payout in page["items"]]
    return page


def reconciliation_out(*, courier: str, language: Language) -> dict[str, Any]:
    report = courier_reconciliation(courier=courier)

    def amounts(rows: list[dict], *names: str) -> list[dict]:
        return [row | {name: money(row[name], language) for name in names} for row in rows]

    return {
        "courier": courier,
        "collected_total": money(report.collected_total, language),
        "paid_out_total": money(report.paid_out_total, language),
        "unpaid": amounts(report.unpaid, "collected"),
        "mismatched": amounts(report.mismatched, "collected", "paid_out"),
        "unknown": amounts(report.unknown, "paid_out"),
    }
