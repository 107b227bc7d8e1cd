"""Recommendations: bought together, similar items, popularity, blending with fallbacks,
generations in the KV store, the cron job and the storefront endpoints."""

from __future__ import annotations

import itertools
import random
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import api.cron_recommendations
import api.recommendations
from db.models import Order, OrderItem, Product, User
from lib.access.sessions import session_start
from lib.cron import cron_lock
from lib.documents import get_documents_db
from lib.kv import local_bridge
from lib.recommendations.popularity import ANALYTICS_COLLECTION
from lib.recommendations.selectors import recent_views_key
from lib.recommendations.services import recommendations_build, recommendations_refresh
from lib.recommendations.store import (
    PENDING_TTL,
    RETIRED_TTL,
    GenerationKeys,
    reco_generation_activate,
)
from lib.recommendations.text import tokenize
from tests import factories
from tests.support import call

CRON = {"Authorization": "Bearer test-cron-secret"}
_orders = itertools.count(1)


def order(*products: Product, status: str = "delivered", days_ago: float = 1) -> Order:
    placed = timezone.now() - timedelta(days=days_ago)
    created = Order.objects.create(
        number=f"ZS-T-{next(_orders):06d}", payment_method="cod", status=status, placed_at=placed
    )
    OrderItem.objects.bulk_create(
        OrderItem(
            order=created,
            product=product,
            product_name=product.name_en,
            sku=product.sku,
            quantity=1,
            unit_price=product.price,
            total_price=product.price,
        )
        for product in products
    )
    return created


def analytics(counts: dict[Product, tuple[int, int]]) -> None:
    """The analytics totals in MongoDB: product -> (views, cart adds)."""
    collection = get_documents_db()[ANALYTICS_COLLECTION]
    collection.delete_many({})
    for product, (views, cart_adds) in counts.items():
        collection.insert_one(
            {"product_id": str(product.id), "views": views, "cart_adds": cart_adds, "purchases": 0}
        )


@pytest.fixture
def shop(db, kv):
    groceries = factories.category(name_en="Groceries", slug="groceries")
    beverages = factories.category(parent=groceries, name_en="Beverages", slug="beverages")
    staples = factories.category(parent=groceries, name_en="Staples", slug="staples")
    fashion = factories.category(name_en="Fashion", slug="fashion")
    sarees = factories.category(parent=fashion, name_en="Sarees", slug="sarees")
    books = factories.category(name_en="Books", slug="books")

    def make(slug: str, category, **fields) -> Product:
        return factories.product(category=category, slug=slug, **fields)

    p = {
        "tea": make("assam-tea", beverages, name_en="Assam Tea", name_bn="আসাম চা"),
        "coffee": make("coffee", beverages, name_en="Ground Coffee"),
        "strainer": make("tea-strainer", beverages, name_en="Tea Strainer", quantity=0),
        "sugar": make("sugar", staples, name_en="White Sugar", name_bn="চিনি"),
        "cubes": make("sugar-cubes", staples, name_en="White Sugar Cubes", is_active=False),
        "rice": make("rice", staples, name_en="Miniket Rice", name_bn="মিনিকেট চাল"),
        "lentils": make("lentils", staples, name_en="Red Lentils"),
        "saree_a": make(
            "red-jamdani",
            sarees,
            name_en="Red Jamdani Saree",
            description_en="<p>Handwoven jamdani cotton saree from Narayanganj.</p>",
            tags=["Jamdani", "cotton", "handloom"],
        ),
        "saree_b": make(
            "blue-jamdani",
            sarees,
            name_en="Blue Jamdani Saree",
            description_en="<p>A handwoven jamdani in soft cotton.</p>",
            tags=["jamdani", "handloom"],
        ),
        "saree_c": make(
            "georgette",
            sarees,
            name_en="Georgette Party Saree",
            description_en="Sequinned georgette for weddings.",
            tags=["georgette", "party"],
        ),
        "gitanjali": make("book-1", books, name_en="Title 1", name_bn="রবীন্দ্রনাথ ঠাকুরের গীতাঞ্জলি"),
        "golpoguchchho": make("book-2", books, name_en="Title 2", name_bn="রবীন্দ্রনাথ ঠাকুরের গল্পগুচ্ছ"),
        "novel": make("book-3", books, name_en="Title 3", name_bn="হুমায়ূন আহমেদের উপন্যাস"),
    }
    for _ in range(5):
        order(p["tea"], p["sugar"])
    order(p["sugar"])
    for _ in range(6):
        order(p["tea"], p["rice"])
    for _ in range(40):
        order(p["rice"])  # the best-seller
    for _ in range(3):
        order(p["tea"], p["strainer"])  # out of stock
        order(p["tea"], p["cubes"])  # inactive
    for _ in range(5):
        order(p["tea"], p["coffee"], status="cancelled")
    order(p["tea"], p["lentils"])  # once: below the minimum support
    return p


@pytest.fixture
def get(server_key):
    def get(url: str, **headers):
        response = call(api.recommendations.app, "GET", url, headers={**server_key, **headers})
        assert response.status == 200, response.body
        return response.json()

    return get


def slugs(body: dict) -> list[str]:
    return [item["slug"] for item in body["items"]]


# --- words -----------------------------------------------------------------------------


def test_tokenizer_keeps_bangla_words_whole_and_normalises_spellings():
    assert tokenize("<p>সিল্ক পাঞ্জাবি &amp; Jamdani_Saree, ৳১২০০</p>") == [
        "সিল্ক",
        "পাঞ্জাবি",
        "jamdani",
        "saree",
    ]
    # য় typed as one code point or as য + nukta; a zero-width joiner inside a conjunct.
    assert tokenize("নয়") == tokenize("ন\u09af\u09bc")
    assert tokenize("র\u200d্যাব") == tokenize("র্যাব")
    assert tokenize("চা এবং চিনি") == ["চা", "চিনি"]  # a Bangla stop word dropped


# --- the computed lists ----------------------------------------------------------------


def test_bought_together_ranks_real_companions_above_best_sellers(shop, get):
    recommendations_refresh()

    body = get("/api/v1/products/assam-tea/recommendations?kind=fbt")

    # Rice shares more orders with tea (6) than sugar does (5), but rice is in every
    # basket; cancelled orders (coffee) and a single shared order (lentils) do not count.
    assert slugs(body) == ["sugar", "rice"]
    assert {item["reason"] for item in body["items"]} == {"bought_together"}
    assert body["items"][0]["score"] > body["items"][1]["score"]
    assert slugs(get("/api/v1/products/sugar/recommendations?kind=fbt")) == ["assam-tea"]


def test_similar_items_from_tags_words_and_category(shop, get):
    recommendations_refresh()

    body = get("/api/v1/products/red-jamdani/recommendations?kind=similar")

    assert slugs(body)[:2] == ["blue-jamdani", "georgette"]
    assert body["items"][0]["score"] > 2 * body["items"][1]["score"]
    assert {item["reason"] for item in body["items"]} == {"similar"}


def test_bangla_text_similarity(shop, get):
    recommendations_refresh()

    body = get("/api/v1/products/book-1/recommendations?kind=similar", **{"Accept-Language": "bn"})

    assert slugs(body)[:2] == ["book-2", "book-3"]  # same author first, then same category
    assert body["items"][0]["name"] == "রবীন্দ্রনাথ ঠাকুরের গল্পগুচ্ছ"
    assert body["items"][0]["reason_label"] == "একই ধরনের পণ্য"


def test_lists_never_hold_the_product_itself_nor_hidden_or_sold_out_items(shop, get):
    hidden = factories.category(slug="archive", is_active=False)
    shelf = factories.category(parent=hidden, slug="old-teas")  # active, under a hidden one
    masala = factories.product(category=shelf, slug="masala-tea", name_en="Masala Tea")
    order(shop["tea"], masala)
    order(shop["tea"], masala)
    recommendations_refresh()
    served = set()
    for product in shop.values():
        if not product.is_active:
            continue
        for kind in ("fbt", "similar", "blend"):
            body = get(f"/api/v1/products/{product.slug}/recommendations?kind={kind}&limit=20")
            assert product.slug not in slugs(body)
            served.update(slugs(body))
    assert served.isdisjoint({"tea-strainer", "sugar-cubes", "masala-tea"})

    # Deactivated or sold out after the run: skipped when served.
    Product.objects.filter(slug="sugar").update(is_active=False)
    Product.objects.filter(slug="rice").update(quantity=0)
    assert slugs(get("/api/v1/products/assam-tea/recommendations?kind=fbt")) == []


def test_blend_mixes_signals_and_gives_reasons(shop, get):
    analytics({shop["lentils"]: (300, 10)})
    recommendations_refresh()

    body = get("/api/v1/products/assam-tea/recommendations?limit=20")

    reasons = {item["slug"]: item["reason"] for item in body["items"]}
    assert slugs(body)[0] == "sugar"
    assert reasons["sugar"] == "bought_together"
    assert reasons["coffee"] == "similar"  # same category, never validly bought with tea
    assert reasons["lentils"] == "popular"
    related = [item["score"] for item in body["items"] if item["reason"] != "popular"]
    assert related == sorted(related, reverse=True)
    english = get("/api/v1/products/assam-tea/recommendations")["items"][0]["reason_label"]
    assert english == "Frequently bought together"


def test_a_new_product_gets_similar_and_popular_items_of_its_category(shop, get):
    darjeeling = factories.product(
        category=shop["tea"].category, slug="darjeeling-tea", name_en="Darjeeling Tea"
    )
    analytics({shop["coffee"]: (50, 0)})
    recommendations_refresh()

    blend = get("/api/v1/products/darjeeling-tea/recommendations")
    fbt = get("/api/v1/products/darjeeling-tea/recommendations?kind=fbt")

    assert fbt["items"] == []
    assert slugs(blend)[:2] == ["assam-tea", "coffee"]
    assert [item["reason"] for item in blend["items"][:2]] == ["similar", "similar"]
    assert darjeeling.slug not in slugs(blend)

    # Created after the run: no list of its own yet, the popular items stand in.
    factories.product(category=shop["tea"].category, slug="green-tea", name_en="Green Tea")
    late = get("/api/v1/products/green-tea/recommendations")
    assert slugs(late)[:2] == ["assam-tea", "coffee"]  # by popularity, then the store's
    assert {item["reason"] for item in late["items"]} == {"popular"}


def test_before_the_first_run_the_blend_serves_popular_items_from_the_table(shop, get):
    Product.objects.filter(slug="coffee").update(popularity=9.0)

    body = get("/api/v1/products/assam-tea/recommendations")

    assert body["generation"] is None
    assert slugs(body)[0] == "coffee"
    assert get("/api/v1/products/assam-tea/recommendations?kind=fbt")["items"] == []


def test_unknown_or_hidden_product_is_404(shop, server_key):
    hidden = factories.category(slug="archive", is_active=False)
    shelf = factories.category(parent=hidden, slug="old-teas")
    factories.product(category=shelf, slug="masala-tea")
    for slug in ("nope", "sugar-cubes", "masala-tea"):
        response = call(
            api.recommendations.app,
            "GET",
            f"/api/v1/products/{slug}/recommendations",
            headers=server_key,
        )
        assert response.status == 404
        assert response.json()["error"]["code"] == "not_found"


# --- for you ---------------------------------------------------------------------------


def test_for_you_without_history_is_the_popular_list(shop, get, kv):
    analytics({shop["saree_c"]: (500, 0), shop["lentils"]: (300, 0)})
    recommendations_refresh()
    newcomer = User.objects.create_user("new@shop.test", "a long enough password")
    tokens = session_start(user=newcomer, ip="127.0.0.1", user_agent="t")

    anonymous = get("/api/v1/recommendations/for-you")
    signed_in = get(
        "/api/v1/recommendations/for-you",
        Authorization=f"Bearer {tokens.access_token}",
    )

    assert slugs(anonymous)[:3] == ["georgette", "rice", "lentils"]
    assert slugs(signed_in) == slugs(anonymous)
    assert {item["reason"] for item in anonymous["items"]} == {"popular"}


def test_for_you_follows_recently_viewed_products(shop, get, kv):
    recommendations_refresh()
    shopper = User.objects.create_user("shopper@shop.test", "a long enough password")
    tokens = session_start(user=shopper, ip="127.0.0.1", user_agent="t")
    for product in (shop["tea"], shop["saree_a"]):  # LPUSH: the saree is the latest view
        kv.lpush(recent_views_key(str(shopper.id)), str(product.id))

    body = get("/api/v1/recommendations/for-you", Authorization=f"Bearer {tokens.access_token}")

    assert slugs(body)[0] == "blue-jamdani"
    assert body["items"][0]["reason"] == "similar"
    assert "sugar" in slugs(body)
    assert {"red-jamdani", "assam-tea"}.isdisjoint(slugs(body))


# --- popularity ------------------------------------------------------------------------


def test_popularity_is_written_from_analytics_and_sales_and_decays(shop):
    analytics({shop["saree_c"]: (500, 0), shop["saree_b"]: (0, 20)})
    now = timezone.now()

    recommendations_refresh(now=now)

    popularity = dict(Product.objects.values_list("slug", "popularity"))
    assert popularity["georgette"] == pytest.approx(500)  # 500 views
    assert popularity["blue-jamdani"] == pytest.approx(100)  # 20 cart adds
    assert 400 < popularity["rice"] < 460  # 46 units sold a day ago, 10 each, decaying
    assert popularity["red-jamdani"] == 0

    # Two weeks later with no new views: half of it is left; new views count in full.
    analytics({shop["saree_c"]: (500, 0), shop["saree_b"]: (10, 20)})
    recommendations_refresh(now=now + timedelta(days=14))

    popularity = dict(Product.objects.values_list("slug", "popularity"))
    assert popularity["georgette"] == pytest.approx(250)
    assert popularity["blue-jamdani"] == pytest.approx(50 + 10)


def test_the_run_costs_the_same_queries_whatever_the_catalog_size(shop):
    def queries_of_a_run() -> int:
        with CaptureQueriesContext(connection) as queries:
            recommendations_refresh()
        return len(queries)

    analytics({product: (10, 1) for product in shop.values()})
    small = queries_of_a_run()
    category = shop["tea"].category
    extra = [factories.product(category=category, slug=f"extra-{n}") for n in range(30)]
    for first, second in itertools.pairwise(extra):
        order(first, second)
        order(first, second)
    analytics({product: (n, 1) for n, product in enumerate([*shop.values(), *extra])})

    assert queries_of_a_run() == small


# --- generations -----------------------------------------------------------------------


def test_a_run_in_progress_does_not_change_what_is_served(shop, get, kv):
    first = recommendations_refresh()["generation"]
    before = get("/api/v1/products/assam-tea/recommendations?kind=fbt")
    for _ in range(10):
        order(shop["tea"], shop["coffee"])

    pending = recommendations_build()["generation"]  # written, not yet served

    during = get("/api/v1/products/assam-tea/recommendations?kind=fbt")
    assert during == before
    assert during["generation"] == first
    assert 0 < kv.ttl(GenerationKeys(pending).product) <= PENDING_TTL

    reco_generation_activate(generation=pending)

    after = get("/api/v1/products/assam-tea/recommendations?kind=fbt")
    assert after["generation"] == pending
    assert slugs(after)[0] == "coffee"
    assert kv.ttl(GenerationKeys(pending).product) == -1  # served: kept
    assert 0 < kv.ttl(GenerationKeys(first).product) <= RETIRED_TTL  # replaced: going


# --- cron ------------------------------------------------------------------------------


def test_cron_needs_the_secret_and_reports_counts(shop):
    refused = call(api.cron_recommendations.app, "GET", "/api/cron/recommendations")
    response = call(api.cron_recommendations.app, "GET", "/api/cron/recommendations", headers=CRON)

    assert refused.status == 401
    assert response.status == 200
    body = response.json()
    assert body["ran"] is True
    assert body["products"] == 12  # the active ones
    assert body["sellable"] == 11  # the strainer is sold out
    assert body["with_bought_together"] >= 3
    assert set(body["seconds"]) >= {"load", "popularity", "similar", "store", "total"}
    with cron_lock("recommendations", ttl_seconds=60):
        busy = call(
            api.cron_recommendations.app, "GET", "/api/cron/recommendations", headers=CRON
        ).json()
    assert (busy["ran"], busy["reason"]) == (False, "already running")


def test_a_run_over_an_empty_store_serves_an_empty_list(db, get):
    result = recommendations_refresh()

    assert (result["products"], result["pairs"], result["popularity_updated"]) == (0, 0, 0)
    body = get("/api/v1/recommendations/for-you")
    assert (body["generation"], body["items"]) == (result["generation"], [])


# --- serving cost ----------------------------------------------------------------------


def round_trips_and_queries(django_assert_max_num_queries, request):
    bridge = local_bridge()
    with django_assert_max_num_queries(10) as queries:
        before = bridge.request_count
        response = request()
        trips = bridge.request_count - before
    return response, trips, len(queries)


def test_serving_costs_constant_queries_and_one_kv_round_trip(
    shop, get, server_key, django_assert_max_num_queries
):
    analytics({product: (10, 1) for product in shop.values()})  # all of them popular
    recommendations_refresh()
    get("/api/v1/products/assam-tea/recommendations")  # this process learns the generation

    def measure(url: str):
        return round_trips_and_queries(django_assert_max_num_queries, lambda: get(url))

    # What the access checks cost: a request that fails before reading recommendations.
    _, access_trips, _ = round_trips_and_queries(
        django_assert_max_num_queries,
        lambda: call(
            api.recommendations.app,
            "GET",
            "/api/v1/products/nope/recommendations",
            headers=server_key,
        ),
    )
    small, small_trips, small_queries = measure(
        "/api/v1/products/assam-tea/recommendations?limit=2"
    )
    large, large_trips, large_queries = measure(
        "/api/v1/products/assam-tea/recommendations?limit=20"
    )
    popular, for_you_trips, for_you_queries = measure("/api/v1/recommendations/for-you?limit=20")

    assert (len(small["items"]), len(large["items"])) == (2, 10)  # every other sellable one
    assert len(popular["items"]) == 11  # every sellable product
    # The product's id, the cards, their primary images.
    assert small_queries == large_queries == 3
    assert for_you_queries == 2
    assert small_trips == large_trips == for_you_trips == access_trips + 1


# --- scale -----------------------------------------------------------------------------

WORDS_EN = [f"word{n}" for n in range(400)]
WORDS_BN = [f"শব্দ{chr(0x0995 + n % 30)}{chr(0x0995 + n // 30)}" for n in range(300)]


def test_timing_of_a_run_over_2000_products(db, kv, capsys):
    """Not an assertion on time: prints how long each phase takes (see bench/ for load)."""
    rng = random.Random(4)
    roots = [factories.category(slug=f"root-{n}") for n in range(10)]
    leaves = [
        factories.category(parent=root, slug=f"{root.slug}-{n}")
        for root in roots
        for n in range(10)
    ]
    products = Product.objects.bulk_create(
        Product(
            category=rng.choice(leaves),
            name_en=" ".join(rng.sample(WORDS_EN, 4)),
            name_bn=" ".join(rng.sample(WORDS_BN, 3)),
            description_en=" ".join(rng.choices(WORDS_EN, k=40)),
            description_bn=" ".join(rng.choices(WORDS_BN, k=30)),
            slug=f"synthetic-{n}",
            sku=f"SYN-{n}",
            price=Decimal("100.00"),
            quantity=rng.choice([0, 5, 10, 20]),
            tags=rng.sample([f"tag{t}" for t in range(60)], 3),
        )
        for n in range(2000)
    )
    orders = Order.objects.bulk_create(
        Order(number=f"ZS-S-{n:06d}", payment_method="cod", status="delivered") for n in range(6000)
    )
    lines = []
    for placed in orders:
        anchor = rng.randrange(len(products))
        group = {anchor, *(rng.randrange(len(products)) for _ in range(rng.randint(0, 4)))}
        group |= {(anchor + 1) % len(products)} if rng.random() < 0.5 else set()
        lines += [
            OrderItem(
                order=placed,
                product=products[index],
                product_name="x",
                sku="x",
                quantity=1,
                unit_price=Decimal("100.00"),
                total_price=Decimal("100.00"),
            )
            for index in group
        ]
    OrderItem.objects.bulk_create(lines, batch_size=5000)
    analytics({product: (rng.randint(0, 500), rng.randint(0, 50)) for product in products[:500]})

    started = time.perf_counter()
    result = recommendations_refresh()
    elapsed = time.perf_counter() - started

    with capsys.disabled():
        print(
            f"\nrecommendations over {result['products']} products, {len(orders)} orders, "
            f"{len(lines)} lines: {elapsed:.2f}s; phases {result['seconds']}; "
            f"pairs {result['pairs']}, with bought together {result['with_bought_together']}, "
            f"with similar {result['with_similar']}"
        )
    assert result["products"] == 2000
