"""The conversion funnel: product views -> cart adds -> purchases, over a range of days.

The product counters (`lib.engagement.analytics`, in MongoDB) only grow, per product, since
counting began. The analytics cron snapshots their sums (whole shop, and per vendor's
products) for the Dhaka day (`funnel_snapshot_take`), so a range's counts are the latest
snapshot on or before its last day (the live counters when the range reaches today) minus the
latest snapshot before its first day. Before the first snapshot there is no baseline: the
counts then run from when counting began (`counted_from` is null).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q, Subquery
from django.utils import timezone

from db.models import FunnelSnapshot, Product
from lib.analytics.rollups import dhaka_today, rebuild_lock
from lib.analytics.selectors import Figures, Period, daily_figures, of_scope

COUNTERS = ("views", "cart_adds", "purchases")
Counts = dict[str, int]


def counters_read(match: dict[str, Any]) -> list[dict[str, Any]]:
    from lib.engagement.store import analytics_collection

    return list(analytics_collection().find(match))


def counts_of(docs: list[dict[str, Any]]) -> Counts:
    return {name: sum(int(doc.get(name, 0)) for doc in docs) for name in COUNTERS}


def live_counts(vendor_ids: tuple[str, ...] | None) -> Counts:
    """The counters now: every product's, or the vendors' products' (one SQL query)."""
    match: dict[str, Any] = {}
    if vendor_ids is not None:
        ids = Product.objects.filter(vendor_id__in=vendor_ids).values_list("pk", flat=True)
        match = {"product_id": {"$in": [str(pid) for pid in ids]}}
    return counts_of(counters_read(match))


def funnel_snapshot_take(*, now: datetime | None = None) -> int:
    """Record today's counters for the shop and for each vendor with counted products
    (replacing the day's earlier snapshot); returns the rows written."""
    now = now or timezone.now()
    day = dhaka_today(now)
    docs = counters_read({})
    vendors = dict(Product.objects.values_list("pk", "vendor_id"))
    vendor_of = {str(pk): vendor_id for pk, vendor_id in vendors.items()}
    per_vendor: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for doc in docs:
        vendor_id = vendor_of.get(str(doc.get("product_id")))
        if vendor_id is not None:
            per_vendor[vendor_id].append(doc)
    rows = [FunnelSnapshot(day=day, vendor=None, taken_at=now, **counts_of(docs))]
    rows += [
        FunnelSnapshot(day=day, vendor_id=vendor_id, taken_at=now, **counts_of(vendor_docs))
        for vendor_id, vendor_docs in per_vendor.items()
    ]
    with transaction.atomic():
        rebuild_lock()
        FunnelSnapshot.objects.filter(day=day).delete()
        FunnelSnapshot.objects.bulk_create(rows)
    return len(rows)


def latest_shop_day(upto: date) -> Subquery:
    days = FunnelSnapshot.objects.filter(vendor__isnull=True, day__lte=upto).order_by("-day")
    return Subquery(days.values("day")[:1])


def snapshots_read(
    vendor_ids: tuple[str, ...] | None, *, baseline: date, end: date | None
) -> tuple[date | None, Counts, date | None, Counts]:
    """The scope's counters on the latest snapshot day on or before `baseline`, and on or
    before `end` (when given), in one query: (day, counts) for each, None days when none."""
    days = Q(day=latest_shop_day(baseline))
    if end is not None:
        days |= Q(day=latest_shop_day(end))
    by_day: dict[date, Counts] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
    for row in FunnelSnapshot.objects.filter(of_scope(vendor_ids)).filter(days):
        for name in COUNTERS:
            by_day[row.day][name] += getattr(row, name)
    found = sorted(by_day)
    start_day = next((d for d in reversed(found) if d <= baseline), None)
    end_day = found[-1] if end is not None and found and found[-1] > baseline else start_day
    zero = dict.fromkeys(COUNTERS, 0)
    start = by_day[start_day] if start_day else zero
    finish = by_day[end_day] if end_day else zero
    return start_day, start, end_day, finish


def funnel_report(*, vendor_ids: tuple[str, ...] | None, period: Period) -> dict[str, Any]:
    """Views, cart adds and purchases over the period (from the counters' snapshots, see the
    module), their conversion rates, and the period's counted orders and units."""
    today = dhaka_today(period.now)
    reaches_today = period.date_to >= today
    baseline = period.date_from - timedelta(days=1)
    start_day, start, end_day, end = snapshots_read(
        vendor_ids, baseline=baseline, end=None if reaches_today else period.date_to
    )
    if reaches_today:
        end = live_counts(vendor_ids)
    counts = {name: max(0, end[name] - start[name]) for name in COUNTERS}
    totals = Figures()
    for figures in daily_figures(period, vendor_ids).values():
        totals.add(figures)
    return {
        "date_from": period.date_from,
        "date_to": period.date_to,
        "counted_from": start_day + timedelta(days=1) if start_day else None,
        "counted_to": today if reaches_today else end_day,
        **counts,
        "view_to_cart_percent": percent(counts["cart_adds"], counts["views"]),
        "cart_to_purchase_percent": percent(counts["purchases"], counts["cart_adds"]),
        "view_to_purchase_percent": percent(counts["purchases"], counts["views"]),
        "orders": totals.orders,
        "units": totals.units,
    }


def percent(part: int, whole: int) -> Decimal:
    return (Decimal(part) * 100 / whole).quantize(Decimal("0.1")) if whole else Decimal("0.0")
