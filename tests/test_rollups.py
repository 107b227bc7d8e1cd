"""Daily sales rollups: Dhaka calendar days, the one definition of a sale, idempotent rebuilds.

Also the builders the analytics and dashboard tests share: orders written directly (as
checkout leaves them) with the moment, status, payment method, customer and lines chosen.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from db.models import (
    DailyProductSales,
    DailySales,
    Order,
    OrderItem,
    Product,
    User,
    Vendor,
    VendorStatus,
)
from lib.analytics.rollups import (
    day_start,
    dhaka_day_of,
    rollups_backfill,
    rollups_build,
    rollups_refresh,
    sales_compute,
)
from tests import factories

pytestmark = pytest.mark.django_db
_numbers = itertools.count(1)

# 23:30 in Dhaka on 10 November, and 00:30 on the 11th: one UTC hour apart, two Dhaka days.
LATE_ON_10TH = datetime(2026, 11, 10, 17, 30, tzinfo=UTC)
EARLY_ON_11TH = datetime(2026, 11, 10, 18, 30, tzinfo=UTC)
NOV_10, NOV_11 = date(2026, 11, 10), date(2026, 11, 11)


def vendor(name: str = "Vendor") -> Vendor:
    n = next(_numbers)
    return Vendor.objects.create(name=f"{name} {n}", slug=f"vendor-{n}", status=VendorStatus.ACTIVE)


def item(*, vendor: Vendor | None = None, price: str = "100.00", **fields) -> Product:
    category = fields.pop("category", None) or factories.category()
    return factories.product(
        category=category, vendor=vendor, price=Decimal(price), images=0, **fields
    )


def customer(email: str | None = None) -> User:
    return User.objects.create_user(email=email or f"buyer-{next(_numbers)}@shop.test")


def sale(
    *,
    at: datetime,
    lines: list[tuple[Product, int]],
    status: str = "placed",
    method: str = "cod",
    user: User | None = None,
    guest_email: str = "",
    guest_phone: str = "",
    discount: str = "0.00",
    shipping: str = "60.00",
    cod_fee: str = "0.00",
) -> Order:
    """An order placed at `at` with `quantity` of each product at its price."""
    subtotal = sum((product.price * quantity for product, quantity in lines), Decimal("0"))
    total = subtotal - Decimal(discount) + Decimal(shipping) + Decimal(cod_fee)
    order = Order.objects.create(
        number=f"ZS-T-{next(_numbers):06d}",
        user=user,
        guest_email=guest_email if user is None else "",
        guest_phone=guest_phone,
        status=status,
        payment_method=method,
        subtotal=subtotal,
        discount_total=Decimal(discount),
        shipping_total=Decimal(shipping),
        cod_fee=Decimal(cod_fee),
        total_amount=total,
        placed_at=at,
    )
    OrderItem.objects.bulk_create(
        [
            factories.order_item(order=order, product=product, quantity=quantity)
            for product, quantity in lines
        ]
    )
    return order


@dataclass
class Expected:
    orders: int = 0
    units: int = 0
    revenue: Decimal = Decimal("0.00")
    refunds: Decimal = Decimal("0.00")
    discounts: Decimal = Decimal("0.00")


COUNTED_OUT = {"awaiting_payment", "on_hold", "cancelled"}


def expected_by_day(orders: list[Order], *, vendor: Vendor | None = None) -> dict[date, Expected]:
    """The definition, computed plainly from the orders (not through the rollup code)."""
    result: dict[date, Expected] = {}
    for order in orders:
        order.refresh_from_db()
        if order.status in COUNTED_OUT:
            continue
        lines = [
            line for line in order.items.all() if vendor is None or line.vendor_id == vendor.pk
        ]
        if not lines:
            continue
        day = order.placed_at.astimezone(timezone.get_default_timezone()).date()
        mine = result.setdefault(day, Expected())
        mine.orders += 1
        mine.units += sum(line.quantity for line in lines)
        amount = sum((line.total_price for line in lines), Decimal("0.00"))
        mine.revenue += amount
        if order.status in ("returned", "refunded"):
            mine.refunds += amount
        if vendor is None:
            mine.discounts += order.discount_total
    return result


def earlier_today(minutes: int) -> datetime:
    """`minutes` ago, but not before today's Dhaka midnight (so a test run just after
    midnight still places it today)."""
    now = timezone.now()
    return max(now - timedelta(minutes=minutes), day_start(dhaka_day_of(now)))


def shop_row(day: date) -> DailySales:
    return DailySales.objects.get(day=day, vendor__isnull=True)


# --- Dhaka days -------------------------------------------------------------------------


def test_an_order_at_2330_and_one_at_0030_dhaka_fall_on_two_days():
    product = item(price="250.00")
    sale(at=LATE_ON_10TH, lines=[(product, 1)])
    sale(at=EARLY_ON_11TH, lines=[(product, 2)])

    rollups_build(NOV_10, NOV_11)

    assert (shop_row(NOV_10).orders, shop_row(NOV_10).revenue) == (1, Decimal("250.00"))
    assert (shop_row(NOV_11).orders, shop_row(NOV_11).revenue) == (1, Decimal("500.00"))
    assert dhaka_day_of(EARLY_ON_11TH) == NOV_11
    assert day_start(NOV_11) == EARLY_ON_11TH - timedelta(minutes=30)


def test_what_counts_is_confirmed_orders_and_returns_are_refunds():
    product = item(price="100.00")
    at = LATE_ON_10TH
    for status in ("placed", "paid", "processing", "delivered", "returned", "refunded"):
        sale(at=at, lines=[(product, 1)], status=status, method="bkash")
    for status in ("awaiting_payment", "on_hold", "cancelled"):
        sale(at=at, lines=[(product, 5)], status=status, method="bkash")

    rollups_build(NOV_10, NOV_10)

    row = shop_row(NOV_10)
    assert (row.orders, row.units, row.revenue) == (6, 6, Decimal("600.00"))
    assert row.refunds == Decimal("200.00")
    assert row.payment_methods == {"bkash": {"orders": 6, "revenue": "600.00"}}


def test_shop_rows_carry_discounts_and_shipping_vendor_rows_only_their_lines():
    mine, theirs = vendor("Mine"), vendor("Theirs")
    a, b = item(vendor=mine, price="300.00"), item(vendor=theirs, price="50.00")
    house = item(price="20.00")  # the store's own product
    sale(
        at=LATE_ON_10TH,
        lines=[(a, 2), (b, 1), (house, 1)],
        discount="70.00",
        shipping="60.00",
        cod_fee="10.00",
    )

    rollups_build(NOV_10, NOV_10)

    shop = shop_row(NOV_10)
    assert (shop.revenue, shop.discounts, shop.shipping) == (
        Decimal("670.00"),
        Decimal("70.00"),
        Decimal("70.00"),
    )
    mine_row = DailySales.objects.get(day=NOV_10, vendor=mine)
    assert (mine_row.orders, mine_row.units, mine_row.revenue) == (1, 2, Decimal("600.00"))
    assert (mine_row.discounts, mine_row.shipping) == (Decimal("0.00"), Decimal("0.00"))
    assert DailySales.objects.filter(day=NOV_10).count() == 3  # shop + two vendors
    products = {row.product_id: row for row in DailyProductSales.objects.filter(day=NOV_10)}
    assert products[a.pk].units == 2 and products[a.pk].vendor_id == mine.pk
    assert products[house.pk].vendor_id is None


def test_new_and_returning_customers_per_shop_and_per_vendor():
    mine, theirs = vendor(), vendor()
    a, b = item(vendor=mine), item(vendor=theirs)
    karim = customer()
    sale(at=LATE_ON_10TH - timedelta(days=5), lines=[(b, 1)], user=karim)  # before: theirs
    sale(at=LATE_ON_10TH, lines=[(a, 1)], user=karim)  # first time with mine
    sale(at=LATE_ON_10TH, lines=[(a, 1)], guest_email="Guest@Shop.test")
    sale(at=EARLY_ON_11TH, lines=[(a, 1)], guest_email="guest@shop.test")  # same guest
    # An earlier cancelled order does not make anyone a returning customer.
    rahim = customer()
    sale(at=LATE_ON_10TH - timedelta(days=2), lines=[(a, 1)], user=rahim, status="cancelled")
    sale(at=LATE_ON_10TH, lines=[(a, 1)], user=rahim)

    rollups_build(NOV_10, NOV_11)

    shop_10 = shop_row(NOV_10)
    assert (shop_10.new_customers, shop_10.returning_customers) == (2, 1)  # guest, rahim | karim
    mine_10 = DailySales.objects.get(day=NOV_10, vendor=mine)
    assert (mine_10.new_customers, mine_10.returning_customers) == (3, 0)
    assert (shop_row(NOV_11).new_customers, shop_row(NOV_11).returning_customers) == (0, 1)


def test_guests_known_by_phone_alone_return_and_anonymous_orders_are_new_each_time():
    product = item()
    sale(at=LATE_ON_10TH - timedelta(days=3), lines=[(product, 1)], guest_phone="+8801711111111")
    sale(at=LATE_ON_10TH, lines=[(product, 1)], guest_phone="+8801711111111")
    sale(at=LATE_ON_10TH, lines=[(product, 1)], guest_phone="+8801722222222")
    sale(at=LATE_ON_10TH - timedelta(days=1), lines=[(product, 1)])  # no contact at all
    sale(at=LATE_ON_10TH, lines=[(product, 1)])
    # An account's earlier order makes it returning.
    karim = customer("karim@shop.test")
    sale(at=LATE_ON_10TH - timedelta(days=9), lines=[(product, 1)], user=karim)
    sale(at=LATE_ON_10TH, lines=[(product, 1)], user=karim)

    rollups_build(NOV_10, NOV_10)

    row = shop_row(NOV_10)
    assert (row.new_customers, row.returning_customers) == (2, 2)  # 2nd phone, anonymous


# --- idempotent writes --------------------------------------------------------------------


def test_building_twice_gives_the_same_rows_and_a_change_is_picked_up():
    v = vendor()
    product = item(vendor=v, price="120.00")
    order = sale(at=LATE_ON_10TH, lines=[(product, 3)])

    def rows() -> list[tuple]:
        fields = ("day", "vendor_id", "orders", "units", "revenue", "payment_methods")
        return list(DailySales.objects.order_by("day", "vendor_id").values_list(*fields))

    rollups_build(NOV_10, NOV_11)
    first = rows()
    rollups_build(NOV_10, NOV_11)
    second = rows()

    assert first == second
    assert DailyProductSales.objects.count() == 1
    # Both days get a shop-wide row (zero when nothing sold), the vendor one where it sold.
    assert [(r[0], r[2]) for r in first if r[1] is None] == [(NOV_10, 1), (NOV_11, 0)]

    Order.objects.filter(pk=order.pk).update(status="cancelled")
    rollups_build(NOV_10, NOV_10)
    assert shop_row(NOV_10).orders == 0
    assert not DailySales.objects.filter(vendor=v).exists()
    assert not DailyProductSales.objects.exists()


def test_the_cron_job_recomputes_today_yesterday_and_days_of_changed_orders():
    product = item(price="80.00")
    now = timezone.now()
    today = dhaka_day_of(now)
    old = sale(at=now - timedelta(days=20), lines=[(product, 1)])
    sale(at=earlier_today(5), lines=[(product, 2)])
    old_day = dhaka_day_of(old.placed_at)

    first = rollups_refresh()
    again = rollups_refresh()

    assert first == again
    assert shop_row(today).revenue == Decimal("160.00")
    assert shop_row(today - timedelta(days=1)).orders == 0
    assert shop_row(old_day).revenue == Decimal("80.00")  # updated_at is recent: a changed day
    assert DailySales.objects.filter(vendor__isnull=True).count() == 3


def test_backfill_reports_progress_per_chunk_and_matches_the_definition():
    mine = vendor()
    products = [item(vendor=mine, price="90.00"), item(price="45.50")]
    orders = []
    start = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
    statuses = ["placed", "delivered", "cancelled", "returned", "awaiting_payment", "paid"]
    for n in range(40):
        at = start + timedelta(hours=17 * n)
        lines = [(products[n % 2], 1 + n % 3)] + ([(products[1], 1)] if n % 5 == 0 else [])
        orders.append(sale(at=at, lines=lines, status=statuses[n % len(statuses)]))
    messages: list[str] = []

    totals = rollups_backfill(date(2026, 9, 1), date(2026, 10, 10), progress=messages.append)

    assert totals["days"] == 40 and len(messages) == 2  # 31 + 9 days
    assert messages[-1].endswith("(40/40 days)")
    expected = expected_by_day(orders)
    for row in DailySales.objects.filter(vendor__isnull=True):
        want = expected.get(row.day, Expected())
        assert (row.orders, row.units, row.revenue, row.refunds, row.discounts) == (
            want.orders,
            want.units,
            want.revenue,
            want.refunds,
            want.discounts,
        ), row.day
    vendor_expected = expected_by_day(orders, vendor=mine)
    vendor_rows = {row.day: row for row in DailySales.objects.filter(vendor=mine)}
    assert set(vendor_rows) == set(vendor_expected)
    for day, want in vendor_expected.items():
        assert (vendor_rows[day].orders, vendor_rows[day].revenue) == (want.orders, want.revenue)


def test_backfill_refuses_a_reversed_range():
    with pytest.raises(ValueError):
        rollups_backfill(NOV_11, NOV_10)


def test_computing_a_window_costs_two_queries_whatever_its_length(django_assert_num_queries):
    product = item()
    for n in range(30):
        sale(at=LATE_ON_10TH - timedelta(days=n), lines=[(product, 1)], user=customer())

    with django_assert_num_queries(2):
        window = sales_compute(day_start(NOV_10 - timedelta(days=40)), day_start(NOV_11))
    assert sum(row.orders for row in window.sales.values() if row.vendor_id is None) == 30


# --- the cron function and the command ---------------------------------------------------------


def test_the_cron_function_needs_its_secret_and_runs_once_at_a_time(kv):
    import api.cron_analytics
    from lib import conf
    from lib.cron import cron_lock
    from tests.support import call

    product = item(price="75.00")
    sale(at=earlier_today(3), lines=[(product, 2)])
    url = "/api/cron/analytics"

    refused = call(api.cron_analytics.app, "GET", url, headers={"Authorization": "Bearer no"})
    anonymous = call(api.cron_analytics.app, "GET", url)
    assert (refused.status, anonymous.status) == (401, 401)
    assert not DailySales.objects.exists()

    secret = {"Authorization": f"Bearer {conf.config.cron_secret}"}
    first = call(api.cron_analytics.app, "GET", url, headers=secret)
    assert first.status == 200, first.body
    assert first.json()["ran"] is True and first.json()["days"] == 2
    assert first.json()["funnel_snapshots"] >= 1  # the shop's, and vendors' with counters
    assert shop_row(dhaka_day_of(timezone.now())).revenue == Decimal("150.00")
    with cron_lock("analytics", ttl_seconds=60):  # another run is going on
        busy = call(api.cron_analytics.app, "GET", url, headers=secret)
    assert busy.json() == {
        "job": "analytics",
        "ran": False,
        "reason": "already running",
        "days": None,
        "sales_rows": None,
        "product_rows": None,
        "funnel_snapshots": None,
    }


def test_the_backfill_command_prints_its_progress(capsys):
    from devtools.cli import main

    product = item(price="10.00")
    sale(at=LATE_ON_10TH, lines=[(product, 1)])
    sale(at=LATE_ON_10TH - timedelta(days=40), lines=[(product, 1)])

    assert main(["analytics-backfill", "--from", "2026-10-01", "--to", "2026-11-10"]) == 0
    out = capsys.readouterr().out
    assert "2026-10-01..2026-10-31" in out and "(41/41 days)" in out
    assert DailySales.objects.filter(vendor__isnull=True).count() == 41
    assert shop_row(NOV_10).revenue == Decimal("10.00")

    assert main(["analytics-backfill", "--from", "2026-11-10", "--to", "2026-11-01"]) == 2
    assert "before" in capsys.readouterr().err
