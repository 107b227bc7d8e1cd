"""Analytics reads over the daily rollups, for the analytics API and the role dashboards.

Each report costs a constant number of queries whatever its range: complete days come from
the rollups (`daily_sales`, `daily_product_sales`: one query), and the days a rollup cannot
answer yet (today, and yesterday until the cron has run after midnight) are computed from the
orders (`sales_compute`: two queries over at most two days).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from django.db.models import Q, Sum
from django.utils import timezone

from db.models import ZERO, DailyProductSales, DailySales, Product
from lib.analytics.rollups import (
    SalesRow,
    day_start,
    days_between,
    dhaka_today,
    sales_compute,
)
from lib.errors import ApiError
from lib.money import quantize_bdt

Granularity = Literal["day", "week", "month"]
MAX_RANGE_DAYS = 3 * 366
DEFAULT_RANGE_DAYS = 30


@dataclass(frozen=True, slots=True)
class Period:
    """A range of Dhaka days, split into the days read from rollups and those computed live."""

    date_from: date
    date_to: date
    live_from: date | None  # first day computed from orders (through `date_to`)
    now: datetime

    @property
    def rollup_to(self) -> date:
        """The last day read from the rollups."""
        return self.live_from - timedelta(days=1) if self.live_from else self.date_to

    @property
    def live_window(self) -> tuple[datetime, datetime]:
        assert self.live_from is not None
        end = min(self.now, day_start(self.date_to + timedelta(days=1)))
        return day_start(self.live_from), end


def period_resolve(
    date_from: date | None, date_to: date | None, *, now: datetime | None = None
) -> Period:
    """The range asked for (the last `DEFAULT_RANGE_DAYS` days by default), validated, and
    which of its days need live figures: today, and yesterday unless its rollup was computed
    after it ended (one query when yesterday is in range)."""
    now = now or timezone.now()
    today = dhaka_today(now)
    date_to = date_to or today
    date_from = date_from or date_to - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if date_from > date_to:
        raise ApiError("analytics_range_invalid", status=422, fields={"from": ["after `to`"]})
    if (date_to - date_from).days + 1 > MAX_RANGE_DAYS:
        raise ApiError(
            "analytics_range_invalid",
            status=422,
            fields={"to": [f"at most {MAX_RANGE_DAYS} days from `from`"]},
        )
    live_from = None
    yesterday = today - timedelta(days=1)
    if date_from <= yesterday <= date_to and not yesterday_final(yesterday):
        live_from = yesterday
    elif date_from <= today <= date_to:
        live_from = today
    return Period(date_from=date_from, date_to=date_to, live_from=live_from, now=now)


def yesterday_final(day: date) -> bool:
    return DailySales.objects.filter(
        vendor__isnull=True, day=day, computed_at__gte=day_start(day + timedelta(days=1))
    ).exists()


def of_scope(vendor_ids: tuple[str, ...] | None) -> Q:
    return Q(vendor__isnull=True) if vendor_ids is None else Q(vendor_id__in=vendor_ids)


# --- sales by day ------------------------------------------------------------------------


@dataclass(slots=True)
class Figures:
    """Sales of a period: a day, a week, a month, or the whole range."""

    orders: int = 0
    units: int = 0
    revenue: Decimal = ZERO
    discounts: Decimal = ZERO
    shipping: Decimal = ZERO
    refunds: Decimal = ZERO
    new_customers: int = 0
    returning_customers: int = 0
    payment_methods: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, row: Any) -> None:
        self.orders += row.orders
        self.units += row.units
        self.revenue += row.revenue
        self.discounts += row.discounts
        self.shipping += row.shipping
        self.refunds += row.refunds
        self.new_customers += row.new_customers
        self.returning_customers += row.returning_customers
        for method, split in row.payment_methods.items():
            mine = self.payment_methods.setdefault(method, {"orders": 0, "revenue": ZERO})
            mine["orders"] += int(split["orders"])
            mine["revenue"] += Decimal(str(split["revenue"]))

    @property
    def net_revenue(self) -> Decimal:
        return self.revenue - self.discounts - self.refunds

    @property
    def average_order_value(self) -> Decimal:
        return quantize_bdt(self.revenue / self.orders) if self.orders else ZERO

    def as_dict(self) -> dict[str, Any]:
        return {
            "orders": self.orders,
            "units": self.units,
            "revenue": self.revenue,
            "discounts": self.discounts,
            "shipping": self.shipping,
            "refunds": self.refunds,
            "net_revenue": self.net_revenue,
            "average_order_value": self.average_order_value,
            "new_customers": self.new_customers,
            "returning_customers": self.returning_customers,
        }


def daily_figures(period: Period, vendor_ids: tuple[str, ...] | None) -> dict[date, Figures]:
    """Dhaka day -> the scope's figures, for every day of the period that has sales."""
    by_day: dict[date, Figures] = defaultdict(Figures)
    if period.date_from <= period.rollup_to:
        rows = DailySales.objects.filter(
            of_scope(vendor_ids), day__gte=period.date_from, day__lte=period.rollup_to
        )
        for row in rows:
            by_day[row.day].add(row)
    for row in live_rows(period, vendor_ids):
        by_day[row.day].add(row)
    return by_day


def live_rows(period: Period, vendor_ids: tuple[str, ...] | None) -> list[SalesRow]:
    if period.live_from is None:
        return []
    start, end = period.live_window
    if start >= end:
        return []
    window = sales_compute(start, end, vendor_ids=vendor_ids)
    return [row for row in window.sales.values() if (row.vendor_id is None) == (vendor_ids is None)]


def bucket_of(day: date, granularity: Granularity) -> date:
    """The first day of the day's period: itself, its ISO week's Monday, its month's 1st."""
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    return day


def sales_report(
    *,
    vendor_ids: tuple[str, ...] | None,
    period: Period,
    granularity: Granularity = "day",
) -> dict[str, Any]:
    """Totals of the period and one point per day/week/month (every bucket of the range,
    zero where nothing sold), with the payment-method split."""
    by_day = daily_figures(period, vendor_ids)
    totals = Figures()
    buckets: dict[date, Figures] = {}
    for day in days_between(period.date_from, period.date_to):
        bucket = buckets.setdefault(bucket_of(day, granularity), Figures())
        if day in by_day:
            bucket.add(by_day[day])
            totals.add(by_day[day])
    return {
        "date_from": period.date_from,
        "date_to": period.date_to,
        "granularity": granularity,
        "totals": totals.as_dict(),
        "series": [{"period": start, **figures.as_dict()} for start, figures in buckets.items()],
        "payment_methods": payment_split(totals),
    }


def payment_split(figures: Figures) -> list[dict[str, Any]]:
    """Per payment method: orders, revenue and its share of the revenue (%), largest first."""
    items = []
    for method, split in figures.payment_methods.items():
        share = split["revenue"] * 100 / figures.revenue if figures.revenue else Decimal(0)
        items.append(
            {
                "method": method,
                "orders": split["orders"],
                "revenue": split["revenue"],
                "share_percent": share.quantize(Decimal("0.1")),
            }
        )
    return sorted(items, key=lambda item: (-item["revenue"], item["method"]))


def sales_totals(*, vendor_ids: tuple[str, ...] | None, period: Period) -> dict[str, Any]:
    """The period's totals alone (the dashboards' sales widgets)."""
    totals = Figures()
    for figures in daily_figures(period, vendor_ids).values():
        totals.add(figures)
    return totals.as_dict()


# --- products and categories --------------------------------------------------------------


def product_figures(period: Period, vendor_ids: tuple[str, ...] | None) -> dict[str, dict]:
    """product id -> units, orders, revenue over the period (rollups, then live days)."""
    totals: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"units": 0, "orders": 0, "revenue": ZERO}
    )
    if period.date_from <= period.rollup_to:
        rows = DailyProductSales.objects.filter(
            day__gte=period.date_from, day__lte=period.rollup_to
        )
        if vendor_ids is not None:
            rows = rows.filter(vendor_id__in=vendor_ids)
        summed = (
            rows.values("product_id")
            .annotate(units=Sum("units"), orders=Sum("orders"), revenue=Sum("revenue"))
            .order_by()
        )
        for row in summed:
            mine = totals[str(row["product_id"])]
            mine["units"] += row["units"]
            mine["orders"] += row["orders"]
            mine["revenue"] += row["revenue"]
    if period.live_from is not None:
        start, end = period.live_window
        if start < end:
            for row in sales_compute(start, end, vendor_ids=vendor_ids).products.values():
                mine = totals[row.product_id]
                mine["units"] += row.units
                mine["orders"] += len(row.order_ids)
                mine["revenue"] += row.revenue
    return totals


def top_products(
    *, vendor_ids: tuple[str, ...] | None, period: Period, limit: int = 10
) -> list[dict[str, Any]]:
    """The best sellers of the period by revenue (then units)."""
    totals = product_figures(period, vendor_ids)
    ranked = sorted(totals.items(), key=lambda kv: (-kv[1]["revenue"], -kv[1]["units"], kv[0]))
    ranked = ranked[:limit]
    found = Product.objects.filter(pk__in=[pid for pid, _ in ranked])
    products = {str(product.pk): product for product in found}
    items = []
    for product_id, figures in ranked:
        product = products.get(product_id)
        items.append(
            {
                "product_id": product_id,
                "sku": product.sku if product else "",
                "name_en": product.name_en if product else "",
                "name_bn": product.name_bn if product else "",
                **figures,
            }
        )
    return items


def top_categories(
    *, vendor_ids: tuple[str, ...] | None, period: Period, limit: int = 10
) -> list[dict[str, Any]]:
    """Categories by the revenue of their products over the period (a product counts in its
    category of today)."""
    totals = product_figures(period, vendor_ids)
    categories: dict[str, dict[str, Any]] = {}
    rows = Product.objects.filter(pk__in=list(totals)).values_list(
        "pk", "category_id", "category__name_en", "category__name_bn"
    )
    for product_id, category_id, name_en, name_bn in rows:
        figures = totals[str(product_id)]
        mine = categories.setdefault(
            str(category_id),
            {
                "category_id": str(category_id),
                "name_en": name_en,
                "name_bn": name_bn,
                "units": 0,
                "orders": 0,
                "revenue": ZERO,
            },
        )
        mine["units"] += figures["units"]
        mine["orders"] += figures["orders"]
        mine["revenue"] += figures["revenue"]
    ranked = sorted(categories.values(), key=lambda c: (-c["revenue"], -c["units"], c["name_en"]))
    return ranked[:limit]


# --- stock --------------------------------------------------------------------------------------


def low_stock(*, vendor_ids: tuple[str, ...] | None, limit: int = 20) -> list[Any]:
    """The emptiest items at or below their threshold (one query)."""
    from lib.inventory_alerts import StockItem, low_stock_items

    return [StockItem.from_row(row) for row in low_stock_items(vendor_ids=vendor_ids)[:limit]]


def low_stock_count(*, vendor_ids: tuple[str, ...] | None) -> int:
    from lib.inventory_alerts import low_stock_items

    return low_stock_items(vendor_ids=vendor_ids).count()
