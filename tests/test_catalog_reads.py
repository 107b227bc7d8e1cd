"""Catalog reads: tree, listing with filters and pagination, detail; fixed query counts."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from urllib.parse import quote

import pytest

import api.catalog
from tests import factories
from tests.support import call

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog():
    fashion = factories.category(name_en="Fashion", slug="fashion", sort_order=1)
    men = factories.category(parent=fashion, name_en="Men", slug="men")
    panjabi = factories.category(parent=men, name_en="Panjabi", name_bn="পাঞ্জাবি", slug="panjabi")
    groceries = factories.category(name_en="Groceries", slug="groceries", sort_order=2)
    factories.category(name_en="Hidden", slug="hidden", is_active=False)
    silk = factories.product(
        category=panjabi,
        name_en="Silk Panjabi",
        name_bn="সিল্ক পাঞ্জাবি",
        slug="silk-panjabi",
        price=Decimal("125000.00"),
        images=2,
    )
    factories.variation(product=silk, value="M", quantity=3)
    factories.variation(product=silk, value="L", quantity=0, price_adjustment=Decimal("50.00"))
    rice = factories.product(
        category=groceries,
        name_en="Miniket Rice 5kg",
        name_bn="মিনিকেট চাল ৫ কেজি",
        slug="miniket-rice",
        price=Decimal("450.00"),
        quantity=4,
    )
    factories.reservation(product=rice, quantity=4)  # every unit held by a cart
    factories.product(category=groceries, slug="lentils", price=Decimal("140.00"))
    factories.product(category=groceries, slug="gone", is_active=False)
    return {"fashion": fashion, "silk": silk, "rice": rice}


@pytest.fixture
def get(server_key):
    def get(url: str, **headers):
        return call(api.catalog.app, "GET", url, headers={**server_key, **headers})

    return get


def test_category_tree_nests_active_categories_in_one_query(
    catalog, django_assert_num_queries, get
):
    with django_assert_num_queries(1):
        body = get("/api/v1/categories").json()
    assert [node["slug"] for node in body["items"]] == ["fashion", "groceries"]
    panjabi = body["items"][0]["children"][0]["children"][0]
    assert (panjabi["slug"], panjabi["name_bn"]) == ("panjabi", "পাঞ্জাবি")


def test_product_list_includes_subcategories_and_hides_inactive(catalog, get):
    body = get("/api/v1/products?category=fashion").json()
    assert [item["slug"] for item in body["items"]] == ["silk-panjabi"]
    all_slugs = {item["slug"] for item in get("/api/v1/products").json()["items"]}
    assert all_slugs == {"silk-panjabi", "miniket-rice", "lentils"}


def test_product_list_query_count_does_not_grow_with_items(catalog, django_assert_num_queries, get):
    with django_assert_num_queries(3):  # count, page, primary images
        first = get("/api/v1/products?page_size=1").json()
    for n in range(10):
        factories.product(category=catalog["fashion"], slug=f"extra-{n}")
    with django_assert_num_queries(3):
        many = get("/api/v1/products?page_size=50").json()
    assert first["count"] == 3 and many["count"] == 13


def test_price_filters_ordering_and_pagination(catalog, get):
    body = get("/api/v1/products?min_price=100&max_price=500&ordering=price&page_size=1").json()
    assert [item["slug"] for item in body["items"]] == ["lentils"]
    assert (body["count"], body["pages"]) == (2, 2)
    second = get("/api/v1/products?min_price=100&max_price=500&ordering=price&page_size=1&page=2")
    assert [item["slug"] for item in second.json()["items"]] == ["miniket-rice"]
    beyond = get("/api/v1/products?page=9").json()
    assert beyond["items"] == [] and beyond["count"] == 3


def test_search_matches_bangla_names(catalog, get):
    body = get(f"/api/v1/products?q={quote('চাল')}").json()
    assert [item["slug"] for item in body["items"]] == ["miniket-rice"]


def test_unexpired_reservations_make_a_product_out_of_stock(catalog, get):
    rice = next(i for i in get("/api/v1/products").json()["items"] if i["slug"] == "miniket-rice")
    assert rice["in_stock"] is False
    in_stock = {item["slug"] for item in get("/api/v1/products?in_stock=true").json()["items"]}
    assert in_stock == {"silk-panjabi", "lentils"}


def test_prices_are_decimal_strings_with_bdt_display_in_the_callers_language(catalog, get):
    english = get("/api/v1/products/silk-panjabi").json()
    assert english["price"] == "125000.00"
    assert english["price_display"] == "৳1,25,000.00"
    response = get("/api/v1/products/silk-panjabi", **{"Accept-Language": "bn"})
    assert "সিল্ক পাঞ্জাবি".encode() in response.body  # UTF-8, not \u escapes
    bangla = response.json()
    assert bangla["price_display"] == "৳১,২৫,০০০.০০"
    assert bangla["name"] == "সিল্ক পাঞ্জাবি"


def test_product_detail_has_images_variations_and_breadcrumb(
    catalog, django_assert_max_num_queries, get
):
    with django_assert_max_num_queries(4):  # product, images, variations, categories
        body = get("/api/v1/products/silk-panjabi").json()
    assert [crumb["slug"] for crumb in body["breadcrumb"]] == ["fashion", "men", "panjabi"]
    assert len(body["images"]) == 2 and body["image"]["is_primary"] is True
    sizes = {v["value"]: (v["price"], v["available"]) for v in body["variations"]}
    assert sizes == {"L": ("125050.00", 0), "M": ("125000.00", 3)}


def test_unknown_or_inactive_products_are_404(catalog, get):
    assert get("/api/v1/products/gone").status == 404
    assert get("/api/v1/categories/hidden").status == 404
    response = get("/api/v1/products?category=hidden")
    assert response.status == 404 and response.json()["error"]["fields"] == {"slug": ["hidden"]}


@pytest.mark.parametrize(
    "query",
    ["page=0", "page_size=1000", "min_price=-1", "ordering=cheapest", "in_stock=maybe"],
)
def test_bad_query_parameters_are_422(catalog, query, get):
    response = get(f"/api/v1/products?{query}")
    assert response.status == 422
    assert response.json()["error"]["code"] == "validation_error"


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_share_the_connection_pool(server_key):
    """More threads than pooled connections: every request still answers, none errors."""
    groceries = factories.category(slug="groceries")
    for n in range(5):
        factories.product(category=groceries, slug=f"rice-{n}")

    def fetch(_: int) -> tuple[int, int]:
        response = call(
            api.catalog.app, "GET", "/api/v1/products", headers=server_key, isolated=True
        )
        return response.status, response.json()["count"]

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(fetch, range(48)))
    assert results == [(200, 5)] * 48
