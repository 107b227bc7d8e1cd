"""Catalog load: concurrent storefront readers over 10,000 products in 100 categories.

Builds a catalog (once; later runs reuse it) in a database of its own, starts the local dev
server (every function of vercel.json, routed as on Vercel) on a free port in a process of its
own, like one function instance, and runs reader threads here for a fixed time over a mix of
storefront reads in English and Bangla with a publishable API key: category listings (sorts,
first pages), filtered listings, search, product pages and the category tree. First with the
catalog cache flushed (cold: it fills as the run goes), then again (warm). Prints requests/s
and p50/p95/p99 latency per scenario, and the cache hit rate.

Database: CATALOG_BENCH_DATABASE_URL; else `<name>_catalog_load` on DATABASE_URL's PostgreSQL
server (created when missing); else a SQLite file in the temp directory. Redis: through
UPSTASH_REDIS_REST_URL when set, else an Upstash-compatible bridge started in another process
(over REDIS_URL when set, else an embedded store), standing in for the remote Upstash; only the
catalog's keys are flushed.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PREFIX = "bench-"


def pairs(english: str, bangla: str) -> list[tuple[str, str]]:
    return list(zip(english.split(), bangla.split(), strict=True))


SIZES = pairs("S M L XL", "এস এম এল এক্সএল")
COLORS = pairs("Red Blue Green", "লাল নীল সবুজ")
WORDS = pairs(
    "Cotton Silk Linen Organic Khadi Classic Premium Fresh",
    "সুতি সিল্ক লিনেন জৈব খাদি ক্লাসিক প্রিমিয়াম তাজা",
)
NOUNS = pairs(
    "Panjabi Saree Shirt Rice Honey Lamp Mug Bag Sandal Tea",
    "পাঞ্জাবি শাড়ি শার্ট চাল মধু বাতি মগ ব্যাগ স্যান্ডেল চা",
)
# Orderings with how often shoppers pick them: most keep the default.
ORDERINGS = {"newest": 50, "price": 10, "-price": 10, "name": 10, "popularity": 10, "rating": 10}
# Share of each scenario in the mix.
MIX = {"listing": 35, "filtered": 15, "search": 10, "detail": 35, "tree": 5}


def bench_database_url() -> str:
    explicit = os.environ.get("CATALOG_BENCH_DATABASE_URL", "").strip()
    if explicit:
        return explicit
    base = os.environ.get("DATABASE_URL", "").strip()
    if base.startswith(("postgres://", "postgresql://")):
        parts = urlsplit(base)
        name = parts.path.lstrip("/") or "zest"
        url = urlunsplit(parts._replace(path=f"/{name}_catalog_load"))
        postgres_database_ensure(url)
        return url
    return f"sqlite:///{Path(tempfile.gettempdir()) / 'zest-catalog-load.sqlite3'}"


def postgres_database_ensure(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    server = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(server, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if exists.fetchone() is None:
            connection.execute(f'CREATE DATABASE "{name}"')


def configure(children: list[subprocess.Popen]) -> str:
    """Environment of this process and the server's, set before Django and `lib.conf` load."""
    url = bench_database_url()
    os.environ["DATABASE_URL"] = url
    os.environ["RATE_LIMIT_DEFAULT"] = "1000000000/60"  # one key, many readers: not the subject
    os.environ["GEO_GATE"] = "off"
    os.environ.setdefault("ZEST_DATA_DIR", tempfile.mkdtemp(prefix="zest-catalog-load-"))
    if not os.environ.get("UPSTASH_REDIS_REST_URL"):
        bridge = child(BRIDGE, children)
        os.environ["UPSTASH_REDIS_REST_URL"] = bridge.stdout.readline().strip()
        os.environ["UPSTASH_REDIS_REST_TOKEN"] = BRIDGE_TOKEN
    import lib.runtime  # noqa: F401  (configures Django)

    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return url


BRIDGE_TOKEN = "catalog-load"  # noqa: S105 (a local stand-in)
BRIDGE = f"""
import os, sys
from devtools.upstash_bridge import start_bridge
bridge = start_bridge(redis_url=os.environ.get("REDIS_URL") or None, token="{BRIDGE_TOKEN}")
print(bridge.url, flush=True)
sys.stdin.read()  # serve until the bench closes our stdin (or exits)
"""
SERVER = """
import sys, threading
from devtools.devserver import DevServer
server = DevServer("127.0.0.1", 0, access_log=None)
threading.Thread(target=server.serve_forever, daemon=True).start()
print(server.port, flush=True)
sys.stdin.read()
server.shutdown()
"""


def child(script: str, children: list[subprocess.Popen]) -> subprocess.Popen:
    """A Python process running `script` at the repository root; it stops when we close its
    stdin, which happens at the latest when this process exits."""
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    children.append(process)
    return process


def children_stop(children: list[subprocess.Popen]) -> None:
    for process in reversed(children):
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


# --- the catalog ---------------------------------------------------------------------------


def catalog_ready(products: int, categories: int) -> bool:
    from db.models import Category, Product

    return (
        Category.objects.filter(slug__startswith=PREFIX).count() == categories
        and Product.objects.filter(slug__startswith=PREFIX).count() == products
    )


def catalog_clear() -> None:
    from db.models import Category, Product, Vendor

    Product.objects.filter(slug__startswith=PREFIX).delete()  # images, variations cascade
    categories = Category.objects.filter(slug__startswith=PREFIX)
    while categories.exists():  # leaves first: a parent is protected by its children
        categories.filter(children__isnull=True).delete()
    Vendor.objects.filter(slug__startswith=PREFIX).delete()


def category_tree_build(count: int, rng: random.Random) -> list:
    """Roots, children and grandchildren: `count` categories, three levels deep."""
    from db.models import Category

    roots = max(1, count // 10)
    nodes: list[Category] = []
    for n in range(count):
        noun_en, noun_bn = NOUNS[n % len(NOUNS)]
        if n < roots:
            parent = None
        elif n < roots * 4:
            parent = nodes[rng.randrange(roots)]
        else:
            parent = nodes[rng.randrange(roots, min(len(nodes), roots * 4))]
        nodes.append(
            Category(
                parent=parent,
                slug=f"{PREFIX}category-{n}",
                name_en=f"{noun_en} {n}",
                name_bn=f"{noun_bn} {n}",
                sort_order=n,
            )
        )
    return Category.objects.bulk_create(nodes)


def catalog_build(products: int, categories: int, seed: int) -> None:
    from django.db import connection, transaction

    from db.models import Product, ProductImage, ProductVariation, Vendor

    rng = random.Random(seed)
    with transaction.atomic():
        tree = category_tree_build(categories, rng)
        vendors = Vendor.objects.bulk_create(
            Vendor(name=f"Bench Vendor {n}", slug=f"{PREFIX}vendor-{n}", status="active")
            for n in range(5)
        )
        rows, images, variations = [], [], []
        for n in range(products):
            (word_en, word_bn), (noun_en, noun_bn) = rng.choice(WORDS), rng.choice(NOUNS)
            price = Decimal(rng.randrange(5000, 5000000)) / 100
            rated = rng.randrange(0, 200) if rng.random() < 0.7 else 0
            product = Product(
                category=rng.choice(tree),
                vendor=rng.choice(vendors) if rng.random() < 0.4 else None,
                slug=f"{PREFIX}product-{n}",
                sku=f"BENCH-{n:05d}",
                name_en=f"{word_en} {noun_en} {n}",
                name_bn=f"{word_bn} {noun_bn} {n}",
                description_en=f"<p>{word_en} {noun_en.lower()} made in Bangladesh.</p>",
                description_bn=f"<p>বাংলাদেশে তৈরি {word_bn} {noun_bn}।</p>",
                price=price,
                compare_price=price * 2 if rng.random() < 0.2 else None,
                quantity=0 if rng.random() < 0.1 else rng.randrange(1, 100),
                is_featured=rng.random() < 0.05,
                rating_count=rated,
                rating_sum=sum(rng.randrange(3, 6) for _ in range(rated)),
                popularity=rng.random() * 100,
                tags=[noun_en.lower()],
            )
            rows.append(product)
            images += [
                ProductImage(
                    product=product,
                    image_url=f"https://img.example/{product.slug}/{i}.webp",
                    alt_text_en=product.name_en,
                    alt_text_bn=product.name_bn,
                    is_primary=i == 0,
                    sort_order=i,
                )
                for i in range(2)
            ]
            axes = ([("size", SIZES)] if rng.random() < 0.6 else []) + (
                [("color", COLORS)] if rng.random() < 0.3 else []
            )
            variations += [
                ProductVariation(
                    product=product,
                    variation_type=kind,
                    variation_value_en=en,
                    variation_value_bn=bn,
                    sku=f"BENCH-{n:05d}-{en}",
                    quantity=rng.randrange(0, 20),
                )
                for kind, values in axes
                for en, bn in values
            ]
        Product.objects.bulk_create(rows, batch_size=1000)
        ProductImage.objects.bulk_create(images, batch_size=2000)
        ProductVariation.objects.bulk_create(variations, batch_size=2000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


# --- the readers ---------------------------------------------------------------------------


@dataclass
class Requests:
    """What the readers ask for: weighted towards popular products and categories."""

    rng: random.Random
    product_slugs: list[str]
    category_slugs: list[str]
    vendor_slugs: list[str]
    product_weights: list[float] = field(default_factory=list)
    category_weights: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Zipf-like: the k-th most viewed is viewed about 1/k as often as the first.
        self.product_weights = zipf_cumulative(len(self.product_slugs))
        self.category_weights = zipf_cumulative(len(self.category_slugs))

    def pick(self) -> tuple[str, str, str]:
        scenario = self.rng.choices(list(MIX), weights=list(MIX.values()))[0]
        language = self.rng.choice(["en", "bn"])
        return scenario, getattr(self, scenario)(), language

    def category(self) -> str:
        return self.rng.choices(self.category_slugs, cum_weights=self.category_weights)[0]

    def listing(self) -> str:
        ordering = self.rng.choices(list(ORDERINGS), weights=list(ORDERINGS.values()))[0]
        page = self.rng.choices([1, 2, 3], weights=[70, 20, 10])[0]
        query = f"category={self.category()}&ordering={ordering}&page={page}&page_size=24"
        return f"/api/v1/products?{query}"

    def filtered(self) -> str:
        low = self.rng.randrange(100, 20000)
        choice = self.rng.randrange(4)
        extra = [
            f"min_price={low}&max_price={low * 2}",
            f"attr=size:{quote(self.rng.choice(SIZES)[self.rng.randrange(2)])}",
            "in_stock=true",
            f"vendor={self.rng.choice(self.vendor_slugs)}",
        ][choice]
        return f"/api/v1/products?category={self.category()}&{extra}&page_size=24"

    def search(self) -> str:
        word = self.rng.choice(WORDS + NOUNS)[self.rng.randrange(2)]
        return f"/api/v1/products?q={quote(word)}&page_size=24"

    def detail(self) -> str:
        slug = self.rng.choices(self.product_slugs, cum_weights=self.product_weights)[0]
        return f"/api/v1/products/{slug}"

    def tree(self) -> str:
        return "/api/v1/categories"


def zipf_cumulative(n: int) -> list[float]:
    total, cumulative = 0.0, []
    for rank in range(1, n + 1):
        total += 1 / rank
        cumulative.append(total)
    return cumulative


@dataclass
class Sample:
    scenario: str
    seconds: float
    status: int
    cache: str


def reader(
    port: int, headers: dict, requests: Requests, until: float, samples: list, errors: list
) -> None:
    """A new connection per request: the dev server writes a response's headers and body in
    two sends, which on a kept-alive connection meets the client's delayed ACK (~40 ms)."""
    own: list[Sample] = []
    while time.perf_counter() < until:
        scenario, path, language = requests.pick()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        started = time.perf_counter()
        try:
            connection.request("GET", path, headers={**headers, "Accept-Language": language})
            response = connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException) as exc:
            errors.append(f"{scenario}: {exc!r}")
            continue
        finally:
            connection.close()
        seconds = time.perf_counter() - started
        own.append(Sample(scenario, seconds, response.status, response.getheader("X-Cache", "-")))
    samples.extend(own)


def run_phase(port: int, headers: dict, make_requests, readers: int, seconds: float) -> tuple:
    samples: list[Sample] = []
    errors: list[str] = []
    until = time.perf_counter() + seconds
    threads = [
        threading.Thread(
            target=reader, args=(port, headers, make_requests(n), until, samples, errors)
        )
        for n in range(readers)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return samples, errors, time.perf_counter() - started


def percentile(sorted_ms: list[float], q: float) -> float:
    return sorted_ms[min(len(sorted_ms) - 1, int(q * len(sorted_ms)))]


def report(phase: str, samples: list[Sample], errors: list[str], elapsed: float) -> None:
    """Per scenario: throughput, latency, and for cached reads the hit rate and the median
    latency of hits and of misses."""
    by_scenario: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        by_scenario[sample.scenario].append(sample)
    rate = len(samples) / elapsed
    print(f"\n{phase}: {len(samples)} requests in {elapsed:.1f} s, {rate:.0f} req/s")
    columns = [("requests", 9), ("req/s", 7), ("p50 ms", 8), ("p95 ms", 8), ("p99 ms", 8)]
    columns += [("hits", 6), ("hit p50", 8), ("miss p50", 9), ("non-200", 8)]
    print(f"{'scenario':<10}" + "".join(f"{name:>{width}}" for name, width in columns))
    for scenario in [*MIX, "all"]:
        rows = samples if scenario == "all" else by_scenario.get(scenario, [])
        if not rows:
            continue
        ms = sorted(sample.seconds * 1000 for sample in rows)
        hit_ms = [sample.seconds * 1000 for sample in rows if sample.cache == "HIT"]
        miss_ms = [sample.seconds * 1000 for sample in rows if sample.cache == "MISS"]
        cached = len(hit_ms) + len(miss_ms)
        values = [
            len(rows),
            f"{len(rows) / elapsed:.0f}",
            f"{statistics.median(ms):.1f}",
            f"{percentile(ms, 0.95):.1f}",
            f"{percentile(ms, 0.99):.1f}",
            f"{100 * len(hit_ms) / cached:.0f}%" if cached else "-",
            f"{statistics.median(hit_ms):.1f}" if hit_ms else "-",
            f"{statistics.median(miss_ms):.1f}" if miss_ms else "-",
            sum(sample.status != 200 for sample in rows),
        ]
        cells = "".join(
            f"{value:>{width}}" for value, (_, width) in zip(values, columns, strict=True)
        )
        print(f"{scenario:<10}{cells}")
    if errors:
        print(f"{len(errors)} connection errors, first: {errors[0]}")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux), else None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def catalog_cache_flush() -> int:
    """Delete the catalog's keys only (the store may be shared)."""
    from lib.kv import get_kv

    kv, deleted = get_kv(), 0
    for pattern in ("product:*", "category:*", "catalog:*"):
        cursor = 0
        while True:
            cursor, keys = kv.scan(cursor, match=pattern, count=1000)
            if keys:
                deleted += kv.delete(*keys)
            if int(cursor) == 0:
                break
    return deleted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--categories", type=int, default=100)
    parser.add_argument("--readers", type=int, default=16, help="concurrent reader threads")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the catalog")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    children: list[subprocess.Popen] = []
    try:
        run(args, children)
    finally:
        children_stop(children)


def run(args: argparse.Namespace, children: list[subprocess.Popen]) -> None:
    url = configure(children)
    from django.db import connection

    from db.models import Category, Product, Vendor
    from lib.access.api_keys import api_key_create
    from lib.conf import config

    started = time.perf_counter()
    if args.rebuild or not catalog_ready(args.products, args.categories):
        catalog_clear()
        catalog_build(args.products, args.categories, args.seed)
        built = f"built in {time.perf_counter() - started:.1f} s"
    else:
        built = "reused"
    key, _ = api_key_create(name="catalog load", kind="publishable", scopes=["storefront:read"])
    headers = {"X-API-Key": key.key_id}
    products = Product.objects.filter(slug__startswith=PREFIX).order_by("?")
    categories = Category.objects.filter(slug__startswith=PREFIX).order_by("?")
    slugs = (
        list(products.values_list("slug", flat=True)),
        list(categories.values_list("slug", flat=True)),
        list(Vendor.objects.filter(slug__startswith=PREFIX).values_list("slug", flat=True)),
    )
    database = f"{connection.vendor} {urlsplit(url).path.lstrip('/')}"
    connection.close()

    def readers_of(phase: int):
        def make_requests(n: int) -> Requests:
            rng = random.Random(f"{args.seed}-{phase}-{n}")  # each phase its own sequence
            return Requests(rng, *slugs)

        return make_requests

    server = child(SERVER, children)
    port = int(server.stdout.readline())
    print(f"catalog: {len(slugs[0])} products, {len(slugs[1])} categories ({built})")
    print(f"database: {database}, pool max {config.database_pool_max} (DATABASE_POOL_MAX)")
    print(
        f"{args.readers} readers, {args.seconds:.0f} s per phase, python {sys.version.split()[0]}"
    )
    print("mix: " + ", ".join(f"{name} {share}%" for name, share in MIX.items()), end="")
    print(f"; English and Bangla half each; {os.cpu_count()} CPUs shared by all processes")
    run_phase(port, headers, readers_of(0), 2, 1.0)  # first requests: lazy imports
    flushed = catalog_cache_flush()
    for phase, title in [(1, f"cold (cache flushed: {flushed} keys)"), (2, "warm")]:
        cpu = cpu_seconds(server.pid)
        samples, errors, elapsed = run_phase(
            port, headers, readers_of(phase), args.readers, args.seconds
        )
        report(title, samples, errors, elapsed)
        if cpu is not None and samples:
            used = (cpu_seconds(server.pid) - cpu) * 1000 / len(samples)
            print(f"server process CPU: {used:.1f} ms per request")


if __name__ == "__main__":
    main()
