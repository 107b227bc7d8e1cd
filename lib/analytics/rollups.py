"""Daily sales rollups (Asia/Dhaka calendar days): computed from orders, written idempotently.

The one definition of what counts (see `db/models/analytics.py`): an order counts on the Dhaka
day it was placed unless it is `awaiting_payment`, `on_hold` or `cancelled`; revenue is the
sum of its lines; refunds are the lines of counted orders later returned or refunded.

`sales_compute` turns a window of time into rows in memory (two queries whatever the window);
`rollups_build` replaces the rows of whole days with them in one transaction (running it
twice gives the same rows); `rollups_refresh` is the hourly cron: today, yesterday and every
day whose orders changed since the previous runs; `rollups_backfill` walks a range of days.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Min, Q, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone

from db.models import (
    ZERO,
    DailyProductSales,
    DailySales,
    Order,
    OrderItem,
    OrderStatus,
)

DHAKA = ZoneInfo("Asia/Dhaka")
# Placed but not (yet) a sale: an unpaid wallet order, one held for review, a cancelled one.
NOT_COUNTED = (OrderStatus.AWAITING_PAYMENT, OrderStatus.ON_HOLD, OrderStatus.CANCELLED)
# Counted when placed, then given back: their lines are the day's refunds.
REFUNDED = (OrderStatus.RETURNED, OrderStatus.REFUNDED)
# How far back the cron looks for orders changed since its previous runs (it runs hourly).
CHANGED_LOOKBACK = timedelta(hours=3)
BACKFILL_CHUNK_DAYS = 31


def dhaka_today(now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(DHAKA).date()


def dhaka_day_of(moment: datetime) -> date:
    return moment.astimezone(DHAKA).date()


def day_start(day: date) -> datetime:
    """The moment a Dhaka day begins (aware; UTC 18:00 of the day before)."""
    return datetime.combine(day, time.min, tzinfo=DHAKA)


def days_between(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def counted_lines() -> QuerySet[OrderItem]:
    return OrderItem.objects.exclude(order__status__in=NOT_COUNTED)


# Who bought: the account, else the guest's email, else their phone (else the order alone).
CustomerKey = tuple[str, str]
CUSTOMER_FIELDS = ("order__user_id", "guest_email_lower", "order__guest_phone")


def with_customer(lines: QuerySet[OrderItem]) -> QuerySet[OrderItem]:
    return lines.annotate(guest_email_lower=Lower("order__guest_email"))


def customer_key(user_id: Any, email: str, phone: str, order_id: Any) -> CustomerKey:
    if user_id:
        return ("user", str(user_id))
    if email:
        return ("email", email)
    if phone:
        return ("phone", phone)
    return ("order", str(order_id))


@dataclass(slots=True)
class SalesRow:
    """The figures of one day, for the whole shop (`vendor_id` None) or one vendor."""

    day: date
    vendor_id: str | None
    orders: int = 0
    units: int = 0
    revenue: Decimal = ZERO
    discounts: Decimal = ZERO
    shipping: Decimal = ZERO
    refunds: Decimal = ZERO
    new_customers: int = 0
    returning_customers: int = 0
    payment_methods: dict[str, dict[str, Any]] = field(default_factory=dict)
    order_ids: set = field(default_factory=set)
    customers: dict[Any, bool] = field(default_factory=dict)  # customer -> is new

    @property
    def net_revenue(self) -> Decimal:
        return self.revenue - self.discounts - self.refunds

    def method_add(self, method: str, *, order_id: Any, amount: Decimal) -> None:
        split = self.payment_methods.setdefault(method, {"orders": set(), "revenue": ZERO})
        split["orders"].add(order_id)
        split["revenue"] += amount


@dataclass(slots=True)
class ProductRow:
    day: date
    product_id: str
    vendor_id: str | None
    units: int = 0
    revenue: Decimal = ZERO
    order_ids: set = field(default_factory=set)


@dataclass(slots=True)
class SalesWindow:
    """Every figure of a window of time, by Dhaka day."""

    sales: dict[tuple[date, str | None], SalesRow] = field(default_factory=dict)
    products: dict[tuple[date, str, str | None], ProductRow] = field(default_factory=dict)

    def sales_row(self, day: date, vendor_id: str | None) -> SalesRow:
        key = (day, vendor_id)
        if key not in self.sales:
            self.sales[key] = SalesRow(day=day, vendor_id=vendor_id)
        return self.sales[key]

    def product_row(self, day: date, product_id: str, vendor_id: str | None) -> ProductRow:
        key = (day, product_id, vendor_id)
        if key not in self.products:
            self.products[key] = ProductRow(day=day, product_id=product_id, vendor_id=vendor_id)
        return self.products[key]


LINE_FIELDS = (
    "order_id",
    "vendor_id",
    "product_id",
    "quantity",
    "total_price",
    "order__status",
    "order__payment_method",
    "order__discount_total",
    "order__shipping_total",
    "order__cod_fee",
    "order__placed_at",
    *CUSTOMER_FIELDS,
)


def sales_compute(
    start: datetime, end: datetime, *, vendor_ids: tuple[str, ...] | None = None
) -> SalesWindow:
    """The counted sales placed in [start, end), by Dhaka day: shop-wide rows (unless
    `vendor_ids` narrows to those vendors' rows), vendor rows and product rows. Two queries:
    the window's lines, and when each of its customers first bought."""
    lines = counted_lines().filter(order__placed_at__gte=start, order__placed_at__lt=end)
    if vendor_ids is not None:
        lines = lines.filter(vendor_id__in=vendor_ids)
    rows = list(with_customer(lines).values_list(*LINE_FIELDS))
    customers = {customer_key(*row[-3:], row[0]) for row in rows}
    firsts = customer_firsts(customers, before=end, vendor_ids=vendor_ids)
    window = SalesWindow()
    orders_seen: set = set()
    for (
        order_id,
        vendor_id,
        product_id,
        quantity,
        total_price,
        status,
        method,
        discount,
        shipping,
        cod_fee,
        placed_at,
        user_id,
        email,
        phone,
    ) in rows:
        customer = customer_key(user_id, email, phone, order_id)
        day = dhaka_day_of(placed_at)
        vendor = str(vendor_id) if vendor_id else None
        refunded = total_price if status in REFUNDED else ZERO
        targets = [vendor] if vendor else []
        if vendor_ids is None:
            targets.append(None)
        for target in targets:
            row = window.sales_row(day, target)
            row.order_ids.add(order_id)
            row.units += quantity
            row.revenue += total_price
            row.refunds += refunded
            row.method_add(method, order_id=order_id, amount=total_price)
            first = firsts.get((customer, target), placed_at)
            row.customers[customer] = row.customers.get(customer, False) or first >= day_start(day)
            if target is None and order_id not in orders_seen:
                orders_seen.add(order_id)
                row.discounts += discount
                row.shipping += shipping + cod_fee
        product = window.product_row(day, str(product_id), vendor)
        product.units += quantity
        product.revenue += total_price
        product.order_ids.add(order_id)
    for row in window.sales.values():
        row.orders = len(row.order_ids)
        row.new_customers = sum(row.customers.values())
        row.returning_customers = len(row.customers) - row.new_customers
        for split in row.payment_methods.values():
            split["orders"] = len(split["orders"])
    return window


def customer_firsts(
    customers: set[CustomerKey], *, before: datetime, vendor_ids: tuple[str, ...] | None
) -> dict[tuple[CustomerKey, str | None], datetime]:
    """(customer, vendor or None for the shop) -> when they first placed a counted order
    (before `before`) of that vendor's items or of anything. Accounts are found through the
    orders' user index; guests by their email or phone."""
    wanted: dict[str, list[str]] = defaultdict(list)
    for kind, value in customers:
        wanted[kind].append(value)
    match = Q(pk__in=[])
    if wanted["user"]:
        match |= Q(order__user_id__in=wanted["user"])
    if wanted["email"]:
        match |= Q(order__user_id__isnull=True, guest_email_lower__in=wanted["email"])
    if wanted["phone"]:
        match |= Q(
            order__user_id__isnull=True,
            order__guest_email="",
            order__guest_phone__in=wanted["phone"],
        )
    if not (wanted["user"] or wanted["email"] or wanted["phone"]):
        return {}
    lines = counted_lines().filter(order__placed_at__lt=before)
    if vendor_ids is not None:
        lines = lines.filter(vendor_id__in=vendor_ids)
    found = (
        with_customer(lines)
        .filter(match)
        .values_list(*CUSTOMER_FIELDS, "vendor_id")
        .annotate(first=Min("order__placed_at"))
        .order_by()
    )
    firsts: dict[tuple[CustomerKey, str | None], datetime] = {}
    for user_id, email, phone, vendor_id, first in found:
        customer = customer_key(user_id, email, phone, None)
        keys = [(customer, str(vendor_id))] if vendor_id else []
        if vendor_ids is None:
            keys.append((customer, None))
        for key in keys:
            firsts[key] = min(first, firsts.get(key, first))
    return firsts


# --- writing -------------------------------------------------------------------------------


def payment_methods_json(row: SalesRow) -> dict[str, dict[str, Any]]:
    return {
        method: {"orders": split["orders"], "revenue": f"{split['revenue']:.2f}"}
        for method, split in sorted(row.payment_methods.items())
    }


@dataclass(frozen=True, slots=True)
class RollupResult:
    days: int
    sales_rows: int
    product_rows: int


def rollups_build(first: date, last: date, *, now: datetime | None = None) -> RollupResult:
    """Recompute the Dhaka days `first`..`last` and replace their rows (one transaction;
    idempotent: a second run writes the same rows). Every day gets a shop-wide row, zero
    when nothing sold, so a reader knows the day was computed and when."""
    now = now or timezone.now()
    window = sales_compute(day_start(first), day_start(last + timedelta(days=1)))
    days = list(days_between(first, last))
    for day in days:
        window.sales_row(day, None)
    sales = [
        DailySales(
            day=row.day,
            vendor_id=row.vendor_id,
            orders=row.orders,
            units=row.units,
            revenue=row.revenue,
            discounts=row.discounts,
            shipping=row.shipping,
            refunds=row.refunds,
            new_customers=row.new_customers,
            returning_customers=row.returning_customers,
            payment_methods=payment_methods_json(row),
            computed_at=now,
        )
        for row in window.sales.values()
    ]
    products = [
        DailyProductSales(
            day=row.day,
            product_id=row.product_id,
            vendor_id=row.vendor_id,
            orders=len(row.order_ids),
            units=row.units,
            revenue=row.revenue,
        )
        for row in window.products.values()
    ]
    with transaction.atomic():
        rebuild_lock()
        DailySales.objects.filter(day__gte=first, day__lte=last).delete()
        DailyProductSales.objects.filter(day__gte=first, day__lte=last).delete()
        DailySales.objects.bulk_create(sales, batch_size=1000)
        DailyProductSales.objects.bulk_create(products, batch_size=1000)
    return RollupResult(days=len(days), sales_rows=len(sales), product_rows=len(products))


# Any 64-bit number shared by every writer of the analytics rows: "zest analytics".
REBUILD_LOCK_KEY = 0x7A65_7374_616E_6C79


def rebuild_lock() -> None:
    """Serialise the rewrites of analytics rows (the cron, a backfill, a snapshot) until the
    calling transaction ends: each then deletes what the one before it wrote, instead of two
    inserting the same day. PostgreSQL takes an advisory lock; SQLite already lets one
    writer at a time."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [REBUILD_LOCK_KEY])


def changed_days(*, since: datetime) -> set[date]:
    """Dhaka days of orders changed since `since` (a status moved, a refund): their rows
    are stale whatever day they were placed."""
    placed = (
        Order.objects.filter(updated_at__gte=since).values_list("placed_at", flat=True).distinct()
    )
    return {dhaka_day_of(moment) for moment in placed}


def day_runs(days: Iterable[date]) -> list[tuple[date, date]]:
    """Sorted days as runs of consecutive days: [(first, last), ...]."""
    runs: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def rollups_refresh(*, now: datetime | None = None) -> dict[str, int]:
    """The cron's work: recompute today and yesterday (Dhaka) and every day whose orders
    changed in the last `CHANGED_LOOKBACK`."""
    now = now or timezone.now()
    today = dhaka_today(now)
    days = {today, today - timedelta(days=1)} | changed_days(since=now - CHANGED_LOOKBACK)
    totals = {"days": 0, "sales_rows": 0, "product_rows": 0}
    for first, last in day_runs(days):
        result = rollups_build(first, last, now=now)
        totals["days"] += result.days
        totals["sales_rows"] += result.sales_rows
        totals["product_rows"] += result.product_rows
    return totals


def rollups_backfill(
    first: date,
    last: date,
    *,
    progress: Callable[[str], Any] | None = None,
    chunk_days: int = BACKFILL_CHUNK_DAYS,
) -> dict[str, int]:
    """Recompute every day from `first` to `last`, `chunk_days` at a time (each chunk one
    transaction), reporting progress after each chunk."""
    if last < first:
        raise ValueError("the last day is before the first")
    total_days = (last - first).days + 1
    done = 0
    totals = {"days": 0, "sales_rows": 0, "product_rows": 0}
    chunk_first = first
    while chunk_first <= last:
        chunk_last = min(last, chunk_first + timedelta(days=chunk_days - 1))
        result = rollups_build(chunk_first, chunk_last)
        done += result.days
        totals["days"] += result.days
        totals["sales_rows"] += result.sales_rows
        totals["product_rows"] += result.product_rows
        if progress is not None:
            progress(
                f"{chunk_first}..{chunk_last}: {result.sales_rows} sales rows, "
                f"{result.product_rows} product rows ({done}/{total_days} days)"
            )
        chunk_first = chunk_last + timedelta(days=1)
    return totals


def backfill_range(first: date | None, last: date | None) -> tuple[date, date]:
    """The days a backfill covers: from the first order's Dhaka day (or `first`) to today
    (or `last`)."""
    last = last or dhaka_today()
    if first is None:
        earliest = Order.objects.order_by("placed_at").values_list("placed_at", flat=True).first()
        first = dhaka_day_of(earliest) if earliest else last
    return first, last
