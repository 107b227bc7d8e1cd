"""Redis cache of catalog reads: no query on a hit, a payload per language, invalidation of
products, their categories and every ancestor, and no stale fill after an invalidation."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db.models import F

import api.catalog
from db.models import Category, Product, ProductVariation
from lib.catalog import cache
from lib.catalog.cache import catalog_cache_invalidate
from lib.kv import local_bridge
from tests import factories
from tests.support import call

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    fashion = factories.category(name_en="Fashion", slug="fashion")
    men = factories.category(parent=fashion, name_en="Men", slug="men")
    panjabi = factories.category(parent=men, name_en="Panjabi", name_bn="পাঞ্জাবি", slug="panjabi")
    home = factories.category(name_en="Home", slug="home")
    silk = factories.product(
        category=panjabi,
        slug="silk",
        name_en="Silk Panjabi",
        name_bn="সিল্ক পাঞ্জাবি",
        price=Decimal("2500.00"),
        quantity=2,
    )
    factories.variation(product=silk, value="M", quantity=2)
    lamp = factories.product(category=home, slug="lamp")
    return SimpleNamespace(
        fashion=fashion, men=men, panjabi=panjabi, home=home, silk=silk, lamp=lamp
    )


@pytest.fixture
def get(server_key):
    def get(url: str, language: str = "en"):
        headers = {**server_key, "Accept-Language": language}
        return call(api.catalog.app, "GET", url, headers=headers)

    return get


def listing_key(category: Category) -> str:
    return cache.category_products_key(category.pk)


def test_a_product_page_is_cached_per_language_and_a_hit_costs_no_query(
    shop, get, kv, django_assert_num_queries
):
    english = get("/api/v1/products/silk")
    bangla = get("/api/v1/products/silk", "bn")
    assert (english.headers["x-cache"], bangla.headers["x-cache"]) == ("MISS", "MISS")
    with django_assert_num_queries(0):
        english_hit = get("/api/v1/products/silk")
        bangla_hit = get("/api/v1/products/silk", "bn")
    assert (english_hit.headers["x-cache"], bangla_hit.headers["x-cache"]) == ("HIT", "HIT")
    assert english_hit.body == english.body and bangla_hit.body == bangla.body
    assert english_hit.json()["name"] == "Silk Panjabi"
    assert bangla_hit.json()["name"] == "সিল্ক পাঞ্জাবি"
    assert bangla_hit.json()["price"]["display"] == "৳২,৫০০.০০"
    assert english_hit.headers["vary"] == "Accept-Language"
    key = cache.product_key(shop.silk.pk)
    assert sorted(kv.hkeys(key)) == ["bn", "en", "slug"]
    assert kv.get(cache.product_slug_key("silk")) == str(shop.silk.pk)
    assert 0 < kv.ttl(key) <= cache.CACHE_TTL


def test_first_pages_of_category_and_catalog_listings_are_cached(
    shop, get, kv, django_assert_num_queries
):
    urls = ["/api/v1/products?category=fashion", "/api/v1/products", "/api/v1/products?page=3"]
    misses = [get(url) for url in urls]
    bangla = get("/api/v1/products?category=fashion", "bn")
    assert {response.headers["x-cache"] for response in [*misses, bangla]} == {"MISS"}
    with django_assert_num_queries(0):
        hits = [get(url) for url in urls]
        bangla_hit = get("/api/v1/products?category=fashion", "bn")
    assert [hit.body for hit in hits] == [miss.body for miss in misses]
    assert {hit.headers["x-cache"] for hit in [*hits, bangla_hit]} == {"HIT"}
    assert bangla_hit.json()["items"][0]["category"]["name"] == "পাঞ্জাবি"
    assert sorted(kv.hkeys(listing_key(shop.fashion))) == [
        "newest:None:1:20:bn",
        "newest:None:1:20:en",
    ]
    assert sorted(kv.hkeys(cache.ALL_PRODUCTS_KEY)) == [
        "newest:None:1:20:en",
        "newest:None:3:20:en",
    ]
    assert 0 < kv.ttl(listing_key(shop.fashion)) <= cache.CACHE_TTL


def test_deep_pages_cursors_and_filtered_listings_are_not_cached(shop, get, kv):
    cursor = get("/api/v1/products?page_size=1").json()["next_cursor"]
    for url in [
        "/api/v1/products?page=4",
        f"/api/v1/products?page_size=1&cursor={cursor}",
        "/api/v1/products?category=fashion&in_stock=true",
        "/api/v1/products?q=silk",
    ]:
        response = get(url)
        assert response.status == 200 and "x-cache" not in response.headers
    assert kv.hkeys(cache.ALL_PRODUCTS_KEY) == ["newest:None:1:1:en"]


def test_the_category_tree_is_cached(shop, get, django_assert_num_queries):
    with django_assert_num_queries(1):
        miss = get("/api/v1/categories", "bn")
    with django_assert_num_queries(0):
        hit = get("/api/v1/categories", "bn")
    assert hit.body == miss.body and hit.headers["x-cache"] == "HIT"


def warm(get, shop) -> None:
    for url in [
        "/api/v1/products/silk",
        "/api/v1/products/lamp",
        "/api/v1/products",
        "/api/v1/products?category=fashion",
        "/api/v1/products?category=men",
        "/api/v1/products?category=panjabi",
        "/api/v1/products?category=home",
        "/api/v1/categories",
    ]:
        assert get(url).status == 200


def test_invalidating_a_product_drops_its_page_and_its_categories_listings_up_to_the_root(
    shop, get, kv, django_assert_num_queries
):
    warm(get, shop)
    Product.objects.filter(pk=shop.silk.pk).update(price=Decimal("1999.00"))
    assert get("/api/v1/products/silk").json()["price"]["amount"] == "2500.00"  # cached until told
    bridge = local_bridge()
    trips = bridge.request_count
    with django_assert_num_queries(1):  # the categories and which of them hold the product
        catalog_cache_invalidate(product_ids=[str(shop.silk.pk)])
    assert bridge.request_count == trips + 1  # one pipeline
    gone = [
        cache.product_key(shop.silk.pk),
        listing_key(shop.panjabi),
        listing_key(shop.men),
        listing_key(shop.fashion),
        cache.ALL_PRODUCTS_KEY,
    ]
    assert kv.exists(*gone) == 0
    kept = [cache.product_key(shop.lamp.pk), listing_key(shop.home), cache.CATEGORIES_KEY]
    assert kv.exists(*kept) == 3
    detail = get("/api/v1/products/silk")
    assert (detail.headers["x-cache"], detail.json()["price"]["amount"]) == ("MISS", "1999.00")
    listed = get("/api/v1/products?category=fashion").json()["items"][0]
    assert listed["price"]["amount"] == "1999.00"


def test_a_stock_change_shows_at_once_on_cached_pages(shop, get):
    warm(get, shop)
    assert get("/api/v1/products?category=men").json()["items"][0]["in_stock"] is True
    Product.objects.filter(pk=shop.silk.pk).update(quantity=F("quantity") - 2)
    ProductVariation.objects.filter(product=shop.silk).update(quantity=F("quantity") - 2)
    catalog_cache_invalidate(
        product_ids=[str(shop.silk.pk)], category_ids=[str(shop.silk.category_id)]
    )
    assert get("/api/v1/products?category=men").json()["items"][0]["in_stock"] is False
    detail = get("/api/v1/products/silk", "bn").json()
    assert (detail["in_stock"], detail["available"], detail["variations"][0]["available"]) == (
        False,
        0,
        0,
    )


def test_invalidating_a_category_drops_its_ancestors_listings_and_the_tree(shop, get, kv):
    warm(get, shop)
    Category.objects.filter(pk=shop.men.pk).update(name_en="Gents")
    catalog_cache_invalidate(category_ids=[str(shop.men.pk)])
    gone = [listing_key(shop.men), listing_key(shop.fashion), cache.CATEGORIES_KEY]
    assert kv.exists(*gone) == 0
    kept = [listing_key(shop.panjabi), listing_key(shop.home), cache.product_key(shop.silk.pk)]
    assert kv.exists(*kept) == 3
    fashion = get("/api/v1/categories").json()["items"][0]
    assert fashion["children"][0]["name"] == "Gents"


def test_a_changed_slug_or_a_draft_is_never_served_from_the_cache(shop, get, kv):
    warm(get, shop)
    Product.objects.filter(pk=shop.silk.pk).update(slug="silk-deluxe")
    catalog_cache_invalidate(product_ids=[str(shop.silk.pk)])
    assert get("/api/v1/products/silk-deluxe").status == 200
    assert kv.get(cache.product_slug_key("silk")) == str(shop.silk.pk)  # the old pointer...
    assert get("/api/v1/products/silk").status == 404  # ...leads to a page of another slug
    Product.objects.filter(pk=shop.lamp.pk).update(is_active=False)
    catalog_cache_invalidate(product_ids=[str(shop.lamp.pk)])
    assert get("/api/v1/products/lamp").status == 404
    assert get("/api/v1/products?category=home").json()["items"] == []


def test_a_moved_category_is_listed_under_its_new_parent(shop, get):
    warm(get, shop)
    Category.objects.filter(pk=shop.panjabi.pk).update(parent=shop.home)
    catalog_cache_invalidate(  # as the category services do: the products below it, old parent
        product_ids=[str(shop.silk.pk)], category_ids=[str(shop.panjabi.pk), str(shop.men.pk)]
    )
    assert [i["slug"] for i in get("/api/v1/products?category=home").json()["items"]] == [
        "lamp",
        "silk",
    ]
    assert get("/api/v1/products?category=fashion").json()["items"] == []
    crumbs = get("/api/v1/products/silk").json()["breadcrumb"]
    assert [crumb["slug"] for crumb in crumbs] == ["home", "panjabi"]


def test_a_read_that_began_before_an_invalidation_stores_nothing(shop, kv):
    key = cache.product_key(shop.silk.pk)
    version = kv.get(cache.VERSION_KEY)
    catalog_cache_invalidate(product_ids=[str(shop.silk.pk)])  # a write committed meanwhile
    cache.kv_fill(key, version, {"en": "{}"})
    assert kv.exists(key) == 0
    cache.kv_fill(key, kv.get(cache.VERSION_KEY), {"en": "{}"})
    assert kv.hget(key, "en") == "{}"
