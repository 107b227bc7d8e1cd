"""Checkout load: concurrent buyers placing orders through the real placement function.

Builds a catalog of 200 products (stock per product `--stock`, a few "hot" products most
buyers want, so rows are contended and sell out), then runs `--buyers` threads for
`--seconds`, each placing guest cash-on-delivery orders of 1-3 lines with `order_place` (the
code behind `POST /api/v1/checkout/orders`: quote, fraud screen, stock allocation, order,
lines, event, outbox email, all in one transaction). Prints orders/s, p50/p95/p99 latency,
the outcomes, and checks at the end that nothing was oversold: for every product,
allocated <= on hand and allocated == the units of its order lines.

Database: CHECKOUT_BENCH_DATABASE_URL; else `<name>_checkout_bench` on DATABASE_URL's
PostgreSQL server (created when missing and migrated). Redis: through UPSTASH_REDIS_REST_URL
when set, else an Upstash-compatible bridge in another process (over REDIS_URL), standing in
for the remote Upstash (in this process it would share the interpreter lock with the buyers).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PRODUCTS = 200
HOT = 10  # products that half of the lines ask for
PREFIX = "ckbench-"


def postgres_bench_url(variable: str, suffix: str) -> str:
    """The database of a bench: `variable` when set, else DATABASE_URL's database name with
    `_<suffix>` appended, created on first use."""
    explicit = os.environ.get(variable, "").strip()
    if explicit:
        return explicit
    base = os.environ.get("DATABASE_URL", "").strip()
    if not base.startswith(("postgres://", "postgresql://")):
        sys.exit(f"Set DATABASE_URL (PostgreSQL) or {variable}.")
    parts = urlsplit(base)
    name = f"{parts.path.lstrip('/') or 'zest'}_{suffix}"
    url = urlunsplit(parts._replace(path=f"/{name}"))
    import psycopg

    server = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(server, autocommit=True) as connection:
        found = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if found.fetchone() is None:
            connection.execute(f'CREATE DATABASE "{name}"')
    return url


def bench_database_url() -> str:
    return postgres_bench_url("CHECKOUT_BENCH_DATABASE_URL", "checkout_bench")


BRIDGE_TOKEN = "checkout-bench"  # noqa: S105 (a local stand-in)
BRIDGE = f"""
import os, sys
from devtools.upstash_bridge import start_bridge
bridge = start_bridge(redis_url=os.environ.get("REDIS_URL") or None, token="{BRIDGE_TOKEN}")
print(bridge.url, flush=True)
sys.stdin.read()  # serve until the bench closes our stdin (or exits)
"""


def bridge_start() -> subprocess.Popen | None:
    if os.environ.get("UPSTASH_REDIS_REST_URL"):
        return None
    process = subprocess.Popen(
        [sys.executable, "-c", BRIDGE],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    os.environ["UPSTASH_REDIS_REST_URL"] = process.stdout.readline().strip()
    os.environ["UPSTASH_REDIS_REST_TOKEN"] = BRIDGE_TOKEN
    return process


def setup(stock: int, buyers: int) -> list:
    os.environ["DATABASE_URL"] = bench_database_url()
    # One connection per buyer thread (a Fluid instance serves a few requests at once).
    os.environ["DATABASE_POOL_MAX"] = str(buyers + 2)
    os.environ.setdefault("DATABASE_POOL_MIN", "1")
    import lib.runtime  # noqa: F401  (configures Django)

    from django.apps import apps
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    import importlib

    importlib.import_module("migrations.0007_geo_and_shipping").geo_load(apps)
    from db.models import Category, Order, Product

    Order.objects.filter(idempotency_key__startswith=PREFIX).delete()
    Product.objects.filter(slug__startswith=PREFIX).delete()
    category, _ = Category.objects.get_or_create(
        slug=f"{PREFIX}category", defaults={"name_en": "Bench", "name_bn": "বেঞ্চ"}
    )
    Product.objects.bulk_create(
        [
            Product(
                category=category,
                name_en=f"Bench product {n}",
                name_bn=f"বেঞ্চ পণ্য {n}",
                slug=f"{PREFIX}{n}",
                sku=f"{PREFIX}{n}",
                price=Decimal(100 + n),
                quantity=stock,
            )
            for n in range(PRODUCTS)
        ]
    )
    return list(Product.objects.filter(slug__startswith=PREFIX).order_by("slug"))


def buyer(index, products, address, deadline, results, lock) -> None:
    from django.db import connection

    from lib.cart.store import CartLine
    from lib.checkout.placement import PlaceRequest, fingerprint_of, order_place
    from lib.errors import ApiError

    rng = random.Random(index)
    hot, rest = products[:HOT], products[HOT:]
    n = 0
    try:
        while time.monotonic() < deadline:
            n += 1
            picks = {
                (rng.choice(hot) if rng.random() < 0.5 else rng.choice(rest)).pk
                for _ in range(rng.randint(1, 3))
            }
            lines = [CartLine(str(pk), None, rng.randint(1, 2)) for pk in picks]
            key = f"{PREFIX}{index}-{n}-{time.time_ns()}"
            request = PlaceRequest(
                lines=lines,
                address=address,
                guest_email=f"buyer{index}@bench.test",
                guest_phone=f"+88017{index:02d}{n % 1000000:06d}",
                ip=f"10.0.{index % 250}.{n % 250}",
                idempotency_key=key,
                fingerprint=fingerprint_of({"key": key}, user_id=None),
            )
            started = time.perf_counter()
            try:
                order_place(request)
                outcome = "placed"
            except ApiError as error:
                outcome = error.code
            elapsed = time.perf_counter() - started
            with lock:
                results.append((outcome, elapsed))
    finally:
        connection.close()


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--buyers", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--stock", type=int, default=30)
    args = parser.parse_args()
    bridge = bridge_start()
    try:
        run(args)
    finally:
        if bridge is not None:
            bridge.stdin.close()
            bridge.wait(timeout=10)


def run(args) -> None:
    products = setup(args.stock, args.buyers)

    from django.db.models import Sum

    from db.models import OrderItem, Product
    from lib.checkout.addresses import AddressInput, address_validate

    address = address_validate(
        data=AddressInput(
            full_name="Bench Buyer",
            phone="01712345678",
            address_line1="House 1",
            division="Dhaka",
            district="Dhaka",
        )
    )
    results: list[tuple[str, float]] = []
    lock = threading.Lock()
    deadline = time.monotonic() + args.seconds
    started = time.monotonic()
    threads = [
        threading.Thread(target=buyer, args=(i, products, address, deadline, results, lock))
        for i in range(args.buyers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started

    outcomes = Counter(outcome for outcome, _ in results)
    placed = [elapsed * 1000 for outcome, elapsed in results if outcome == "placed"]
    print(f"buyers {args.buyers}, {wall:.1f} s, {PRODUCTS} products x {args.stock} units")
    print(f"attempts {len(results)}: {dict(outcomes)}")
    print(f"orders/s {len(placed) / wall:.1f}")
    if placed:
        print(
            f"placed latency ms: p50 {percentile(placed, 50):.1f}  "
            f"p95 {percentile(placed, 95):.1f}  p99 {percentile(placed, 99):.1f}"
        )
    sold = dict(
        OrderItem.objects.filter(product__slug__startswith=PREFIX)
        .values_list("product_id")
        .annotate(units=Sum("quantity"))
    )
    oversold = []
    sold_out = 0
    for product in Product.objects.filter(slug__startswith=PREFIX):
        units = sold.get(product.pk, 0)
        if product.allocated > product.quantity or product.allocated != units:
            oversold.append(product.sku)
        sold_out += product.allocated == product.quantity
    print(f"sold out products {sold_out}; units sold {sum(sold.values())}")
    if oversold:
        print(f"OVERSOLD or inconsistent: {oversold}")
        sys.exit(1)
    print("no oversell: allocated <= on hand and == units ordered for every product")


if __name__ == "__main__":
    main()
