"""Analytics reads over a year of orders: latency and SQL queries of every analytics report.

Seeds (once; later runs reuse it, `--reseed` starts over) a year of orders ending today in a
database of its own: `--orders-per-day` orders of 1-3 lines over 5 vendors' and the store's
products, in a realistic mix of statuses and payment methods, from a few thousand customers
and guests (bulk inserts). Then rebuilds the daily rollups (`rollups_backfill`, timed, with
its progress) and calls each report of `/api/v1/admin/analytics` and the dashboard through
their WSGI apps, as staff (the whole shop) and as a vendor's owner, over a year, 30 days and
today: prints p50/p95 latency and the SQL queries of each (the same for a year as for 30 days:
complete days come from the rollups, today from the orders).

Database: ANALYTICS_BENCH_DATABASE_URL; else `<name>_analytics_bench` on DATABASE_URL's
PostgreSQL server (created when missing and migrated). Redis: through UPSTASH_REDIS_REST_URL
when set, else an Upstash-compatible bridge in another process (over REDIS_URL).
MongoDB (the funnel's counters): MONGODB_URI, else the embedded store.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/zest REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/analytics.py [--orders-per-day 100] [--requests 20] [--reseed]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.checkout import bridge_start, percentile, postgres_bench_url  # noqa: E402

PREFIX = "anbench-"
VENDORS = 5
PRODUCTS = 300
CUSTOMERS = 3000
STATUSES = (
    ("delivered", 55),
    ("placed", 10),
    ("paid", 5),
    ("processing", 5),
    ("shipped", 4),
    ("cancelled", 10),
    ("awaiting_payment", 4),
    ("returned", 4),
    ("refunded", 3),
)
METHODS = (("cod", 60), ("bkash", 25), ("nagad", 10), ("sslcommerz", 5))


def bench_database_url() -> str:
    return postgres_bench_url("ANALYTICS_BENCH_DATABASE_URL", "analytics_bench")


def weighted(rng: random.Random, choices: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


def seed(orders_per_day: int, *, reseed: bool) -> None:
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from db.models import Category, Order, OrderItem, Product, User, Vendor
    from lib.analytics.rollups import day_start, dhaka_today

    if Order.objects.filter(number__startswith=PREFIX).exists() and not reseed:
        print("seed: reusing the year of orders already there (--reseed to start over)")
        return
    started = time.perf_counter()
    Order.objects.filter(number__startswith=PREFIX).delete()
    Product.objects.filter(slug__startswith=PREFIX).delete()
    Vendor.objects.filter(slug__startswith=PREFIX).delete()
    User.objects.filter(email__startswith=PREFIX).delete()
    rng = random.Random(2026)
    category, _ = Category.objects.get_or_create(
        slug=f"{PREFIX}category", defaults={"name_en": "Bench", "name_bn": "বেঞ্চ"}
    )
    vendors = Vendor.objects.bulk_create(
        [
            Vendor(name=f"Bench vendor {n}", slug=f"{PREFIX}vendor-{n}", status="active")
            for n in range(VENDORS)
        ]
    )
    products = Product.objects.bulk_create(
        [
            Product(
                category=category,
                vendor=vendors[n % (VENDORS + 1)] if n % (VENDORS + 1) < VENDORS else None,
                name_en=f"Bench product {n}",
                name_bn=f"বেঞ্চ পণ্য {n}",
                slug=f"{PREFIX}{n}",
                sku=f"{PREFIX}{n}",
                price=Decimal(rng.randrange(50, 5000)),
                quantity=rng.randrange(0, 40),
            )
            for n in range(PRODUCTS)
        ]
    )
    unusable = make_password(None)  # bench customers never sign in
    customers = User.objects.bulk_create(
        [User(email=f"{PREFIX}{n}@bench.test", password=unusable) for n in range(CUSTOMERS)]
    )
    today = dhaka_today()
    first = today - timedelta(days=364)
    number = 0
    for offset in range(365):
        start = day_start(first + timedelta(days=offset))
        orders, lines = [], []
        for _ in range(orders_per_day):
            number += 1
            picks = rng.sample(products, rng.randint(1, 3))
            quantities = [rng.randint(1, 3) for _ in picks]
            subtotal = sum(
                (p.price * q for p, q in zip(picks, quantities, strict=True)), Decimal(0)
            )
            discount = (subtotal / 10).quantize(Decimal("0.01")) if rng.random() < 0.1 else 0
            order = Order(
                number=f"{PREFIX}{number:07d}",
                user=rng.choice(customers) if rng.random() < 0.7 else None,
                guest_email="" if rng.random() < 0.7 else f"guest{rng.randrange(2000)}@bench.test",
                status=weighted(rng, STATUSES),
                payment_method=weighted(rng, METHODS),
                subtotal=subtotal,
                discount_total=Decimal(discount),
                shipping_total=Decimal("60.00"),
                total_amount=subtotal - Decimal(discount) + Decimal("60.00"),
                placed_at=start + timedelta(seconds=rng.randrange(86400)),
            )
            orders.append(order)
            lines += [
                OrderItem(
                    order=order,
                    product=p,
                    vendor_id=p.vendor_id,
                    product_name=p.name_en,
                    sku=p.sku,
                    quantity=q,
                    unit_price=p.price,
                    total_price=p.price * q,
                )
                for p, q in zip(picks, quantities, strict=True)
            ]
        with transaction.atomic():
            Order.objects.bulk_create(orders, batch_size=2000)
            OrderItem.objects.bulk_create(lines, batch_size=2000)
        if offset % 60 == 59:
            print(f"seed: {offset + 1}/365 days, {number} orders")
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # fresh planner statistics, as autovacuum would leave
    print(f"seed: {number} orders in {time.perf_counter() - started:.1f} s")


def sessions() -> dict[str, dict[str, str]]:
    """Headers of a secret API key with staff's and a vendor owner's sessions."""
    from django.contrib.auth.hashers import make_password

    from db.models import User, Vendor, VendorMember
    from lib.access.api_key_cache import api_key_record_fill
    from lib.access.api_keys import SCOPES, api_key_create
    from lib.access.sessions import session_start

    key, secret = api_key_create(name="analytics bench", kind="secret", scopes=list(SCOPES))
    api_key_record_fill(key_id=key.key_id)
    server = {"X-API-Key": key.key_id, "X-API-Secret": secret}
    vendor = Vendor.objects.filter(slug__startswith=PREFIX).order_by("slug").first()
    people = {}
    for role in ("staff", "vendor_owner"):
        user, _ = User.objects.get_or_create(
            email=f"{PREFIX}{role}@bench.test",
            defaults={"role": role, "password": make_password(None)},
        )
        if role == "vendor_owner":
            VendorMember.objects.get_or_create(vendor=vendor, user=user, role="owner")
        tokens = session_start(user=user, ip="127.0.0.1", user_agent="bench")
        people[role] = {**server, "Authorization": f"Bearer {tokens.access_token}"}
    return people


def measure(app, url: str, headers: dict[str, str], requests: int) -> tuple[float, float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.support import call

    timings, queries = [], 0
    for _ in range(requests):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            reply = call(app, "GET", url, headers=headers)
            timings.append((time.perf_counter() - started) * 1000)
        if reply.status != 200:
            sys.exit(f"{url}: {reply.status} {reply.body[:300]!r}")
        queries = len(captured)
    return percentile(timings, 50), percentile(timings, 95), queries


def run(args) -> None:
    os.environ["DATABASE_URL"] = bench_database_url()
    import lib.runtime  # noqa: F401  (configures Django)

    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    seed(args.orders_per_day, reseed=args.reseed)

    from db.models import DailyProductSales, DailySales
    from lib.analytics.rollups import dhaka_today, rollups_backfill

    today = dhaka_today()
    started = time.perf_counter()
    rollups_backfill(today - timedelta(days=364), today, progress=lambda m: print(f"rollups: {m}"))
    print(
        f"rollups: {DailySales.objects.count()} sales rows, "
        f"{DailyProductSales.objects.count()} product rows in "
        f"{time.perf_counter() - started:.1f} s"
    )

    import api.analytics
    import api.dashboards

    people = sessions()
    ranges = {
        "year": f"from={today - timedelta(days=364)}&to={today}",
        "30 days": f"from={today - timedelta(days=29)}&to={today}",
        "today": f"from={today}&to={today}",
    }
    reports = [
        "sales?granularity=day",
        "sales?granularity=month",
        "payment-methods",
        "products/top",
        "categories/top",
        "funnel",
        "sales?format=csv",
    ]
    print(f"\n{'report':<26}{'caller':<14}{'range':<9}{'p50 ms':>9}{'p95 ms':>9}{'queries':>9}")
    base = "/api/v1/admin/analytics/"
    for report in reports:
        for role, headers in people.items():
            for label, period in ranges.items():
                sep = "&" if "?" in report else "?"
                url = f"{base}{report}{sep}{period}"
                p50, p95, queries = measure(api.analytics.app, url, headers, args.requests)
                print(f"{report:<26}{role:<14}{label:<9}{p50:>9.1f}{p95:>9.1f}{queries:>9}")
    for role, headers in people.items():
        p50, p95, queries = measure(api.analytics.app, f"{base}low-stock", headers, args.requests)
        print(f"{'low-stock':<26}{role:<14}{'-':<9}{p50:>9.1f}{p95:>9.1f}{queries:>9}")
        p50, p95, queries = measure(api.dashboards.app, "/api/v1/dashboard", headers, args.requests)
        print(f"{'dashboard':<26}{role:<14}{'-':<9}{p50:>9.1f}{p95:>9.1f}{queries:>9}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders-per-day", type=int, default=100)
    parser.add_argument("--requests", type=int, default=20, help="calls per report")
    parser.add_argument("--reseed", action="store_true", help="seed the year again")
    args = parser.parse_args()
    bridge = bridge_start()
    try:
        run(args)
    finally:
        if bridge is not None:
            bridge.stdin.close()
            bridge.wait(timeout=10)


if __name__ == "__main__":
    main()
