"""The analytics API (/api/v1/admin/analytics): figures equal a plain computation over the
orders, Dhaka days, live today, vendor isolation on every route, CSV, constant queries."""

from __future__ import annotations

import csv
import io
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

import api.analytics
from db.models import FunnelSnapshot, Order, OrderItem, VendorMember
from lib.analytics.funnel import funnel_snapshot_take
from lib.analytics.rollups import day_start, dhaka_today, rollups_backfill, rollups_build
from lib.engagement.analytics import analytics_flush, analytics_record
from tests import factories
from tests.payment_shop import signed_in
from tests.support import call
from tests.test_rollups import (
    EARLY_ON_11TH,
    LATE_ON_10TH,
    NOV_10,
    NOV_11,
    Expected,
    customer,
    earlier_today,
    expected_by_day,
    item,
    sale,
    vendor,
)

pytestmark = pytest.mark.django_db
BASE = "/api/v1/admin/analytics"


def get(url: str, headers: dict[str, str]):
    return call(api.analytics.app, "GET", f"{BASE}{url}", headers=headers)


@pytest.fixture
def shop(server_key):
    """Two vendors with a product each, the store's own product, and who reads what."""
    mine, theirs = vendor("Mine"), vendor("Theirs")
    shoes = factories.category(name_en="Shoes", name_bn="জুতা")
    products = {
        "mine": item(vendor=mine, price="300.00", name_bn="আমার পণ্য", category=shoes),
        "theirs": item(vendor=theirs, price="50.00"),
        "house": item(price="20.00"),
    }
    owner, _ = signed_in(server_key, "vendor_owner")
    VendorMember.objects.create(vendor=mine, user=owner, role="owner")
    helper, _ = signed_in(server_key, "vendor_staff")
    VendorMember.objects.create(vendor=mine, user=helper, role="staff")
    return {
        "mine": mine,
        "theirs": theirs,
        "products": products,
        "admin": signed_in(server_key, "admin")[1],
        "staff": signed_in(server_key, "staff")[1],
        "owner": signed_in_again(server_key, owner),
        "vendor_staff": signed_in_again(server_key, helper),
        "customer": signed_in(server_key, "customer")[1],
        "support": signed_in(server_key, "support")[1],
    }


def signed_in_again(server_key, user) -> dict[str, str]:
    """A session started after the user joined their vendor (the token lists it)."""
    from lib.access.sessions import session_start

    tokens = session_start(user=user, ip="127.0.0.1", user_agent="test")
    return {**server_key, "Authorization": f"Bearer {tokens.access_token}"}


def seeded_orders(shop, *, days: int, first: date, seed: int = 7) -> list[Order]:
    """Orders over `days` Dhaka days from `first`, in every status, at every hour (so many
    fall either side of Dhaka midnight), of random mixes of the products."""
    rng = random.Random(seed)
    statuses = ["placed", "paid", "delivered", "cancelled", "awaiting_payment", "returned"]
    methods = ["cod", "bkash", "nagad"]
    buyers = [customer() for _ in range(6)]
    products = list(shop["products"].values())
    orders = []
    for n in range(days * 2):
        at = day_start(first) + timedelta(hours=rng.randrange(days * 24), minutes=rng.randrange(60))
        picks = rng.sample(products, rng.randint(1, 3))
        orders.append(
            sale(
                at=at,
                lines=[(p, rng.randint(1, 3)) for p in picks],
                status=rng.choice(statuses),
                method=rng.choice(methods),
                user=rng.choice(buyers) if n % 4 else None,
                guest_email=f"guest{n % 3}@shop.test",
                discount="10.00" if n % 5 == 0 else "0.00",
            )
        )
    return orders


def figures_of(point: dict) -> tuple:
    return (
        point["orders"],
        point["units"],
        Decimal(point["revenue"]["amount"]),
        Decimal(point["refunds"]["amount"]),
        Decimal(point["discounts"]["amount"]),
    )


def expected_figures(want: Expected) -> tuple:
    return (want.orders, want.units, want.revenue, want.refunds, want.discounts)


# --- the numbers ------------------------------------------------------------------------


def test_daily_figures_equal_a_plain_computation_over_the_orders(shop):
    first = date(2026, 10, 1)
    orders = seeded_orders(shop, days=20, first=first)
    rollups_backfill(first - timedelta(days=1), first + timedelta(days=21))
    query = f"?from={first}&to={first + timedelta(days=19)}"

    reply = get(f"/sales{query}", shop["admin"])

    assert reply.status == 200, reply.body
    expected = expected_by_day(orders)
    series = reply.json()["series"]
    assert len(series) == 20
    for point in series:
        want = expected.get(date.fromisoformat(point["period"]), Expected())
        assert figures_of(point) == expected_figures(want), point["period"]
    totals = reply.json()["totals"]
    assert totals["orders"] == sum(w.orders for w in expected.values())
    revenue = sum((w.revenue for w in expected.values()), Decimal("0.00"))
    assert Decimal(totals["revenue"]["amount"]) == revenue
    aov = (revenue / totals["orders"]).quantize(Decimal("0.01"))
    assert Decimal(totals["average_order_value"]["amount"]) == aov
    assert totals["revenue"]["display"].startswith("৳")

    # The vendor sees its own lines only, and they equal the plain computation too.
    mine = get(f"/sales{query}", shop["owner"]).json()
    mine_expected = expected_by_day(orders, vendor=shop["mine"])
    for point in mine["series"]:
        want = mine_expected.get(date.fromisoformat(point["period"]), Expected())
        assert (point["orders"], Decimal(point["revenue"]["amount"])) == (
            want.orders,
            want.revenue,
        )
    assert Decimal(mine["totals"]["discounts"]["amount"]) == 0


def test_weeks_and_months_sum_the_days(shop):
    first = date(2026, 9, 20)
    seeded_orders(shop, days=30, first=first, seed=3)
    rollups_backfill(first, first + timedelta(days=30))
    query = f"?from={first}&to={first + timedelta(days=29)}"

    days = get(f"/sales{query}", shop["admin"]).json()
    weeks = get(f"/sales{query}&granularity=week", shop["admin"]).json()
    months = get(f"/sales{query}&granularity=month", shop["admin"]).json()

    assert [p["period"] for p in months["series"]] == ["2026-09-01", "2026-10-01"]
    assert weeks["series"][0]["period"] == "2026-09-14"  # the Monday of 20 September
    for report in (weeks, months):
        assert report["totals"] == days["totals"]
        assert sum(p["orders"] for p in report["series"]) == days["totals"]["orders"]
    september = [p for p in days["series"] if p["period"] < "2026-10-01"]
    assert months["series"][0]["orders"] == sum(p["orders"] for p in september)


def test_an_order_at_2330_dhaka_and_one_at_0030_are_on_two_days(shop):
    product = shop["products"]["mine"]
    sale(at=LATE_ON_10TH, lines=[(product, 1)])
    sale(at=EARLY_ON_11TH, lines=[(product, 2)])
    rollups_build(NOV_10, NOV_11)

    series = get(f"/sales?from={NOV_10}&to={NOV_11}", shop["admin"]).json()["series"]

    assert [(p["period"], p["units"]) for p in series] == [("2026-11-10", 1), ("2026-11-11", 2)]


def test_today_is_read_live_and_never_counted_twice(shop):
    product = shop["products"]["theirs"]
    sale(at=earlier_today(1), lines=[(product, 3)])
    today = dhaka_today()

    before = get(f"/sales?from={today}&to={today}", shop["admin"]).json()
    rollups_build(today, today)
    after = get(f"/sales?from={today}&to={today}", shop["admin"]).json()

    assert before["totals"]["units"] == after["totals"]["units"] == 3


def test_yesterday_is_read_live_until_its_rollup_was_made_after_it_ended(shop):
    product = shop["products"]["house"]
    yesterday = dhaka_today() - timedelta(days=1)
    noon = day_start(yesterday) + timedelta(hours=12)
    sale(at=noon - timedelta(hours=1), lines=[(product, 1)])
    rollups_build(yesterday, yesterday, now=noon)  # a run during the day
    sale(at=noon + timedelta(hours=1), lines=[(product, 1)])
    query = f"?from={yesterday}&to={yesterday}"

    assert get(f"/sales{query}", shop["admin"]).json()["totals"]["units"] == 2

    rollups_build(yesterday, yesterday)  # the run after midnight: final
    sale(at=noon + timedelta(hours=2), lines=[(product, 5)])  # not rolled up yet
    assert get(f"/sales{query}", shop["admin"]).json()["totals"]["units"] == 2


def test_top_products_categories_and_payment_methods(shop):
    p = shop["products"]
    sale(at=LATE_ON_10TH, lines=[(p["mine"], 2), (p["theirs"], 1)], method="bkash")
    sale(at=LATE_ON_10TH, lines=[(p["theirs"], 4)], method="cod")
    sale(at=LATE_ON_10TH, lines=[(p["house"], 1)], method="cod", status="cancelled")
    rollups_build(NOV_10, NOV_10)
    query = f"?from={NOV_10}&to={NOV_10}"

    products = get(f"/products/top{query}", shop["admin"]).json()
    categories = get(f"/categories/top{query}&limit=1", shop["admin"]).json()
    methods = get(f"/payment-methods{query}", shop["admin"]).json()

    assert [(x["product_id"], x["units"], x["revenue"]["amount"]) for x in products] == [
        (str(p["mine"].pk), 2, "600.00"),
        (str(p["theirs"].pk), 5, "250.00"),
    ]
    assert products[0]["name_bn"] == "আমার পণ্য"
    assert [(c["name_en"], c["revenue"]["amount"]) for c in categories] == [("Shoes", "600.00")]
    assert [(m["method"], m["orders"], m["revenue"]["amount"]) for m in methods] == [
        ("bkash", 1, "650.00"),
        ("cod", 1, "200.00"),
    ]
    assert [m["share_percent"] for m in methods] == [76.5, 23.5]


def counted(product, *, views: int = 0, cart_adds: int = 0, purchases: int = 0) -> None:
    for event, n in (("view", views), ("cart_add", cart_adds), ("purchase", purchases)):
        analytics_record(product_id=str(product.pk), event=event, count=n)
    analytics_flush()


def test_the_funnel_of_a_range_is_the_difference_of_two_days_snapshots(shop, kv):
    p = shop["products"]
    counted(p["mine"], views=40, cart_adds=10, purchases=4)
    counted(p["theirs"], views=1000, cart_adds=500)
    funnel_snapshot_take(now=LATE_ON_10TH - timedelta(days=1))  # 9 November
    counted(p["mine"], views=60, cart_adds=15, purchases=6)
    funnel_snapshot_take(now=LATE_ON_10TH)  # 10 November
    counted(p["mine"], views=5)
    sale(at=LATE_ON_10TH, lines=[(p["mine"], 2)])
    rollups_build(NOV_10, NOV_10)

    def funnel(query: str, who: str = "owner") -> dict:
        reply = get(f"/funnel{query}", shop[who])
        assert reply.status == 200, reply.body
        return reply.json()

    day = funnel(f"?from={NOV_10}&to={NOV_10}")
    assert (day["views"], day["cart_adds"], day["purchases"]) == (60, 15, 6)
    assert (day["view_to_cart_percent"], day["cart_to_purchase_percent"]) == (25.0, 40.0)
    assert (day["counted_from"], day["counted_to"]) == ("2026-11-10", "2026-11-10")
    assert (day["orders"], day["units"]) == (1, 2)

    through_today = funnel(f"?from={NOV_10}&to={dhaka_today()}")
    assert through_today["views"] == 65  # the live counters at the end
    assert through_today["counted_to"] == str(dhaka_today())

    no_baseline = funnel(f"?from={NOV_10 - timedelta(days=1)}&to={NOV_10}")
    assert (no_baseline["views"], no_baseline["counted_from"]) == (100, None)

    before_counting = funnel("?from=2026-11-01&to=2026-11-05")
    assert (before_counting["views"], before_counting["counted_to"]) == (0, None)

    everyone = funnel(f"?from={NOV_10}&to={NOV_10}", "admin")
    assert everyone["views"] >= 60 and everyone["cart_adds"] >= 15


def test_the_funnel_snapshot_is_replaced_within_its_day(shop, kv):
    counted(shop["products"]["mine"], views=7)
    funnel_snapshot_take(now=LATE_ON_10TH - timedelta(hours=5))
    counted(shop["products"]["mine"], views=3)
    funnel_snapshot_take(now=LATE_ON_10TH)

    rows = FunnelSnapshot.objects.filter(day=NOV_10, vendor=shop["mine"])
    assert [row.views for row in rows] == [10]
    assert FunnelSnapshot.objects.filter(day=NOV_10, vendor__isnull=True).count() == 1


def test_low_stock_lists_the_scope_s_items(shop):
    p = shop["products"]
    type(p["mine"]).objects.filter(pk__in=[p["mine"].pk, p["theirs"].pk]).update(quantity=1)

    mine = get("/low-stock", shop["owner"]).json()
    everyone = get("/low-stock?limit=100", shop["staff"]).json()

    assert [row["product_id"] for row in mine] == [str(p["mine"].pk)]
    assert {str(p["mine"].pk), str(p["theirs"].pk)} <= {row["product_id"] for row in everyone}


# --- who sees what ------------------------------------------------------------------------

ROUTES = (
    "/sales",
    "/payment-methods",
    "/products/top",
    "/categories/top",
    "/funnel",
    "/low-stock",
)


@pytest.mark.parametrize("route", ROUTES)
def test_a_vendor_never_sees_another_vendors_numbers(shop, route):
    p = shop["products"]
    sale(at=LATE_ON_10TH, lines=[(p["mine"], 1), (p["theirs"], 7)])
    type(p["mine"]).objects.filter(pk=p["theirs"].pk).update(quantity=0)
    rollups_build(NOV_10, NOV_10)
    query = f"?from={NOV_10}&to={NOV_10}"
    theirs = str(shop["theirs"].pk)

    for who in ("owner", "vendor_staff"):
        reply = get(f"{route}{query}", shop[who])
        assert reply.status == 200, reply.body
        assert theirs not in reply.body.decode()
        assert str(p["theirs"].pk) not in reply.body.decode()
        assert b"350.00" not in reply.body  # their line, never in any of our figures
        refused = get(f"{route}{query}&vendor={theirs}", shop[who])
        assert refused.status == 403
        assert refused.json()["error"]["code"] == "forbidden"
        assert get(f"{route}{query}&vendor={shop['mine'].pk}", shop[who]).status == 200

    admin_view = get(f"{route}{query}&vendor={theirs}", shop["admin"])
    assert admin_view.status == 200
    assert str(p["mine"].pk) not in admin_view.body.decode()


@pytest.mark.parametrize("route", ROUTES)
def test_customers_support_and_strangers_are_refused(shop, server_key, route):
    assert get(route, shop["customer"]).status == 403
    assert get(route, shop["support"]).status == 403
    assert get(route, server_key).status == 401


def test_a_vendor_own_figures_exclude_the_shared_orders_other_lines(shop):
    p = shop["products"]
    sale(at=LATE_ON_10TH, lines=[(p["mine"], 1), (p["theirs"], 7)], discount="50.00")
    rollups_build(NOV_10, NOV_10)

    totals = get(f"/sales?from={NOV_10}&to={NOV_10}", shop["owner"]).json()["totals"]

    assert (totals["orders"], totals["units"], totals["revenue"]["amount"]) == (1, 1, "300.00")
    assert totals["discounts"]["amount"] == "0.00"


# --- input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("?from=2026-11-11&to=2026-11-10", "analytics_range_invalid"),
        ("?from=2020-01-01&to=2026-11-10", "analytics_range_invalid"),
        ("?granularity=hour", "validation_error"),
        ("?from=yesterday", "validation_error"),
        ("?vendor=not-a-uuid", "validation_error"),
        ("?format=xlsx", "validation_error"),
    ],
)
def test_bad_ranges_and_parameters_are_a_422(shop, query, code):
    reply = get(f"/sales{query}", shop["admin"])
    assert reply.status == 422
    assert reply.json()["error"]["code"] == code


def test_the_range_error_is_in_bangla_for_bangla_readers(shop):
    headers = {**shop["admin"], "Accept-Language": "bn"}
    reply = get("/sales?from=2026-11-11&to=2026-11-10", headers)
    assert "তারিখের পরিসর" in reply.json()["error"]["message"]


# --- CSV ----------------------------------------------------------------------------------


def test_csv_is_a_named_download_of_the_same_rows(shop):
    p = shop["products"]
    sale(at=LATE_ON_10TH, lines=[(p["mine"], 2)])
    sale(at=EARLY_ON_11TH, lines=[(p["mine"], 1)], status="returned")
    rollups_build(NOV_10, NOV_11)
    query = f"?from={NOV_10}&to={NOV_11}"

    reply = get(f"/sales{query}&format=csv", shop["owner"])
    products = get(f"/products/top{query}&format=csv", shop["owner"])

    assert reply.status == 200
    assert reply.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = reply.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="zest-sales-vendor-')
    assert disposition.endswith('-2026-11-10-2026-11-11.csv"')
    rows = list(csv.DictReader(io.StringIO(reply.body.decode("utf-8-sig"))))
    assert [(r["period"], r["units"], r["revenue"], r["refunds"]) for r in rows] == [
        ("2026-11-10", "2", "600.00", "0.00"),
        ("2026-11-11", "1", "300.00", "300.00"),
    ]
    product_rows = list(csv.DictReader(io.StringIO(products.body.decode("utf-8-sig"))))
    assert [(r["name_bn"], r["units"], r["revenue"]) for r in product_rows] == [
        ("আমার পণ্য", "3", "900.00")
    ]
    assert get(f"/sales{query}&format=csv&vendor={shop['theirs'].pk}", shop["owner"]).status == 403


# --- constant queries ------------------------------------------------------------------------


def year_seed(shop, first: date) -> None:
    """Two orders a day for a year, written in bulk, then rolled up."""
    p = list(shop["products"].values())
    buyers = [customer() for _ in range(20)]
    orders = [
        Order(
            number=f"ZS-Y-{n:06d}",
            user=buyers[n % len(buyers)],
            status="delivered" if n % 7 else "cancelled",
            payment_method=("cod", "bkash")[n % 2],
            subtotal=Decimal("370.00"),
            total_amount=Decimal("430.00"),
            shipping_total=Decimal("60.00"),
            placed_at=datetime.combine(first, datetime.min.time(), tzinfo=UTC)
            + timedelta(hours=12 * n),
        )
        for n in range(730)
    ]
    Order.objects.bulk_create(orders)
    OrderItem.objects.bulk_create(
        [factories.order_item(order=order, product=product) for order in orders for product in p]
    )
    rollups_backfill(first, first + timedelta(days=366))


@pytest.mark.parametrize(
    ("route", "queries"),
    [
        ("/sales?granularity=week", 1),
        ("/payment-methods", 1),
        ("/products/top", 2),
        ("/categories/top", 2),
        ("/funnel", 2),
    ],
)
def test_a_year_costs_the_same_queries_as_a_week(shop, route, queries, django_assert_num_queries):
    first = date(2025, 6, 1)
    year_seed(shop, first)
    year = f"from={first}&to={first + timedelta(days=364)}"
    week = f"from={first}&to={first + timedelta(days=6)}"
    sep = "&" if "?" in route else "?"

    for who in ("admin", "owner"):
        for period in (year, week):
            with django_assert_num_queries(queries):
                reply = get(f"{route}{sep}{period}", shop[who])
            assert reply.status == 200, reply.body


def test_a_range_through_today_adds_a_fixed_number_of_queries(shop, django_assert_num_queries):
    first = date(2025, 6, 1)
    year_seed(shop, first)
    today = dhaka_today()
    rollups_build(today - timedelta(days=1), today - timedelta(days=1))  # yesterday is final
    sale(
        at=earlier_today(2),
        lines=[(shop["products"]["mine"], 1)],
        user=customer(),
    )

    # the rollups, yesterday's check, today's lines and its customers' first orders
    for start in (first, today - timedelta(days=6)):
        with django_assert_num_queries(4):
            reply = get(f"/sales?from={start}&to={today}", shop["admin"])
        assert reply.json()["series"][-1]["units"] == 1


# --- keys bound to a vendor, languages ---------------------------------------------------------


def vendor_key_headers(shop, vendor, session: dict[str, str]) -> dict[str, str]:
    """`session`'s bearer token through a secret key bound to `vendor`."""
    from lib.access.api_key_cache import api_key_record_fill
    from lib.access.api_keys import api_key_create

    key, secret = api_key_create(
        name="vendor app", kind="secret", scopes=["vendor:manage"], vendor=vendor
    )
    api_key_record_fill(key_id=key.key_id)
    return {
        "X-API-Key": key.key_id,
        "X-API-Secret": secret,
        "Authorization": session["Authorization"],
    }


def test_a_key_bound_to_a_vendor_narrows_staff_to_that_vendor(shop):
    p = shop["products"]
    sale(at=LATE_ON_10TH, lines=[(p["mine"], 1), (p["theirs"], 2)])
    rollups_build(NOV_10, NOV_10)
    query = f"?from={NOV_10}&to={NOV_10}"
    staff_through_theirs = vendor_key_headers(shop, shop["theirs"], shop["staff"])

    totals = get(f"/sales{query}", staff_through_theirs).json()["totals"]
    assert (totals["units"], totals["revenue"]["amount"]) == (2, "100.00")
    assert get(f"/sales{query}&vendor={shop['mine'].pk}", staff_through_theirs).status == 403

    owner_through_theirs = vendor_key_headers(shop, shop["theirs"], shop["owner"])
    refused = get(f"/sales{query}", owner_through_theirs)
    assert refused.status == 403  # the owner of `mine` through a key of `theirs`


def test_money_is_shown_in_bangla_digits_for_bangla_readers(shop):
    sale(at=LATE_ON_10TH, lines=[(shop["products"]["mine"], 500)])
    rollups_build(NOV_10, NOV_10)
    headers = {**shop["admin"], "Accept-Language": "bn"}

    revenue = get(f"/sales?from={NOV_10}&to={NOV_10}", headers).json()["totals"]["revenue"]

    assert revenue == {"amount": "150000.00", "currency": "BDT", "display": "৳১,৫০,০০০.০০"}
