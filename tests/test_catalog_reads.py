"""Catalog reads: tree, listing with filters and pagination, detail; fixed query counts."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from urllib.parse import quote

import pytest

import api.catalog
from db.models import Category, Vendor
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
    with django_assert_num_queries(3):  # category table (not cached yet), count, page
        first = get("/api/v1/products?page_size=1").json()
    for n in range(10):
        factories.product(category=catalog["fashion"], slug=f"extra-{n}")
    with django_assert_num_queries(2):  # count, page: images and category joined in
        many = get("/api/v1/products?page_size=50").json()
    assert first["count"] == 3 and many["count"] == 13
    assert all(item["image"]["url"].startswith("https://img.example/") for item in many["items"])


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


def test_prices_are_money_with_bdt_display_in_the_callers_language(catalog, get):
    english = get("/api/v1/products/silk-panjabi").json()
    assert english["price"] == {"amount": "125000.00", "currency": "BDT", "display": "৳1,25,000.00"}
    response = get("/api/v1/products/silk-panjabi", **{"Accept-Language": "bn"})
    assert "সিল্ক পাঞ্জাবি".encode() in response.body  # UTF-8, not \u escapes
    bangla = response.json()
    assert bangla["price"] == {"amount": "125000.00", "currency": "BDT", "display": "৳১,২৫,০০০.০০"}
    assert bangla["name"] == "সিল্ক পাঞ্জাবি"


def test_product_detail_has_images_variations_and_breadcrumb(
    catalog, django_assert_max_num_queries, get
):
    with django_assert_max_num_queries(3):  # product with category chain, images, variations
        body = get("/api/v1/products/silk-panjabi").json()
    assert [crumb["slug"] for crumb in body["breadcrumb"]] == ["fashion", "men", "panjabi"]
    assert len(body["images"]) == 2 and body["image"]["is_primary"] is True
    sizes = {v["value"]: (v["price"]["amount"], v["available"]) for v in body["variations"]}
    assert sizes == {"L": ("125050.00", 0), "M": ("125000.00", 3)}


def test_a_breadcrumb_deeper_than_the_join_costs_one_more_query(django_assert_num_queries, get):
    parent = None
    for depth in range(6):
        parent = factories.category(parent=parent, slug=f"level-{depth}")
    factories.product(category=parent, slug="deep")
    with django_assert_num_queries(4):  # product with 4 levels, images, variations, the rest
        body = get("/api/v1/products/deep").json()
    assert [crumb["slug"] for crumb in body["breadcrumb"]] == [f"level-{d}" for d in range(6)]


def test_unknown_or_inactive_products_are_404(catalog, get):
    assert get("/api/v1/products/gone").status == 404
    assert get("/api/v1/categories/hidden").status == 404
    response = get("/api/v1/products?category=hidden")
    assert response.status == 404 and response.json()["error"]["fields"] == {"slug": ["hidden"]}


@pytest.mark.parametrize(
    "query",
    [
        "page=0",
        "page_size=1000",
        "min_price=-1",
        "ordering=cheapest",
        "in_stock=maybe",
        "attr=size",
        "attr=:M",
        "cursor=not-a-cursor",
        "page=2&cursor=eyJvIjoibmV3ZXN0IiwiayI6W119",
    ],
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


# --- filters, orderings and cursors over a small shop -------------------------------------


@pytest.fixture
def shop():
    """Four shown products (created in this order) and one under a hidden category."""
    clothing = factories.category(name_en="Clothing", slug="clothing")
    shirts = factories.category(parent=clothing, name_en="Shirts", slug="shirts")
    food = factories.category(name_en="Food", slug="food")
    archive = factories.category(name_en="Archive", slug="archive", is_active=False)
    old = factories.category(parent=archive, name_en="Old", slug="old")  # active, parent not
    looms = Vendor.objects.create(name="Dhaka Looms", slug="dhaka-looms", status="active")
    red = factories.product(
        category=shirts,
        slug="shirt-red",
        name_en="Cotton Shirt",
        name_bn="সুতি শার্ট",
        description_en="<p>Soft <strong>cotton</strong></p>",
        description_bn="<p>নরম কাপড়</p>",
        price=Decimal("800.00"),
        vendor=looms,
        is_featured=True,
        rating_sum=9,
        rating_count=2,
        popularity=5.0,
    )
    factories.variation(product=red, value="M", variation_value_bn="এম")
    factories.variation(product=red, value="Red", variation_type="color", variation_value_bn="লাল")
    blue = factories.product(
        category=shirts,
        slug="shirt-blue",
        name_en="Linen Shirt",
        name_bn="লিনেন শার্ট",
        price=Decimal("1200.00"),
        rating_sum=18,
        rating_count=4,
        popularity=9.0,
    )
    factories.variation(product=blue, value="L", variation_value_bn="এল")
    factories.variation(
        product=blue, value="Blue", variation_type="color", variation_value_bn="নীল"
    )
    factories.variation(product=blue, value="XL", is_active=False)
    factories.product(
        category=clothing,
        slug="kurta",
        name_en="Khadi Kurta",
        name_bn="খাদি কুর্তা সোনালী",  # NFC: ো is one code point
        price=Decimal("1500.00"),
        quantity=0,
        rating_sum=5,
        rating_count=1,
        popularity=1.0,
    )
    factories.product(
        category=food,
        slug="honey",
        sku="HONEY-500",
        name_en="Sundarbans Honey",
        name_bn="সুন্দরবনের মধু",
        price=Decimal("650.00"),
        popularity=7.0,
    )
    factories.product(category=old, slug="ghost")


def slugs(response) -> list[str]:
    assert response.status == 200, response.body
    return [item["slug"] for item in response.json()["items"]]


DECOMPOSED_SONALI = "স\u09c7\u09beনালী"  # ো typed as two code points


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"honey", "kurta", "shirt-blue", "shirt-red"}),
        ("category=clothing", {"kurta", "shirt-blue", "shirt-red"}),
        ("category=shirts", {"shirt-blue", "shirt-red"}),
        ("min_price=1000", {"kurta", "shirt-blue"}),
        ("max_price=700", {"honey"}),
        ("min_price=700&max_price=1200", {"shirt-red", "shirt-blue"}),
        ("in_stock=true", {"honey", "shirt-blue", "shirt-red"}),
        ("in_stock=false", {"kurta"}),
        ("vendor=dhaka-looms", {"shirt-red"}),
        ("featured=true", {"shirt-red"}),
        ("attr=size:M", {"shirt-red"}),
        ("attr=SIZE:m", {"shirt-red"}),
        (f"attr=size:{quote('এম')}", {"shirt-red"}),
        (f"attr=color:{quote('নীল')}", {"shirt-blue"}),
        ("attr=size:M&attr=size:L", {"shirt-red", "shirt-blue"}),
        ("attr=size:M&attr=color:Red", {"shirt-red"}),
        ("attr=size:M&attr=color:Blue", set()),
        ("attr=size:XL", set()),  # inactive variation
        ("q=cotton", {"shirt-red"}),
        ("q=COTTON", {"shirt-red"}),
        (f"q={quote('কাপড়')}", {"shirt-red"}),
        (f"q={quote('শার্ট')}", {"shirt-red", "shirt-blue"}),
        ("q=linen%20shirt", {"shirt-blue"}),
        ("q=shirt%20honey", set()),
        ("q=honey-5", {"honey"}),
        (f"q={quote('মধু')}", {"honey"}),
        (f"q={quote(DECOMPOSED_SONALI)}", {"kurta"}),
        (f"category=clothing&q={quote('শার্ট')}&in_stock=true", {"shirt-red", "shirt-blue"}),
    ],
)
def test_every_filter(shop, get, query, expected):
    assert set(slugs(get(f"/api/v1/products?{query}"))) == expected


def test_a_category_under_a_hidden_one_is_hidden_with_its_products(shop, get):
    tree = get("/api/v1/categories").json()["items"]
    assert [node["slug"] for node in tree] == ["clothing", "food"]
    assert get("/api/v1/products?category=old").status == 404
    assert get("/api/v1/products/ghost").status == 404
    assert get("/api/v1/products?q=ghost").json()["count"] == 0


ORDERED = [
    ("newest", "en", ["honey", "kurta", "shirt-blue", "shirt-red"]),
    ("price", "en", ["honey", "shirt-red", "shirt-blue", "kurta"]),
    ("-price", "en", ["kurta", "shirt-blue", "shirt-red", "honey"]),
    ("name", "en", ["shirt-red", "kurta", "shirt-blue", "honey"]),
    ("name", "bn", ["kurta", "shirt-blue", "shirt-red", "honey"]),
    ("popularity", "en", ["shirt-blue", "honey", "shirt-red", "kurta"]),
    # best average first, more reviews break a tie, unrated last
    ("rating", "en", ["kurta", "shirt-blue", "shirt-red", "honey"]),
]


@pytest.mark.parametrize(("ordering", "language", "expected"), ORDERED)
def test_every_ordering_by_page_and_by_cursor(shop, get, ordering, language, expected):
    headers = {"Accept-Language": language}
    assert slugs(get(f"/api/v1/products?ordering={ordering}", **headers)) == expected
    walked, url = [], f"/api/v1/products?ordering={ordering}&page_size=1"
    while url:
        body = get(url, **headers).json()
        walked += [item["slug"] for item in body["items"]]
        cursor = body["next_cursor"]
        url = f"/api/v1/products?ordering={ordering}&page_size=1&cursor={cursor}" if cursor else ""
    assert walked == expected


def test_cursor_walk_sees_every_product_once_while_products_are_added(shop, get):
    def page(url: str) -> tuple[list[str], str | None]:
        body = get(url).json()
        return [item["slug"] for item in body["items"]], body["next_cursor"]

    first, cursor = page("/api/v1/products?ordering=price&page_size=2")
    assert first == ["honey", "shirt-red"]
    groceries = Category.objects.get(slug="food")
    factories.product(category=groceries, slug="cheap-salt", price=Decimal("20.00"))
    factories.product(category=groceries, slug="ghee", price=Decimal("1300.00"))
    rest, cursor = page(f"/api/v1/products?ordering=price&page_size=2&cursor={cursor}")
    last, cursor = page(f"/api/v1/products?ordering=price&page_size=2&cursor={cursor}")
    assert first + rest + last == ["honey", "shirt-red", "shirt-blue", "ghee", "kurta"]
    assert cursor is None
    # By page number the same insert shifts page 2 back over what page 1 showed.
    assert page("/api/v1/products?ordering=price&page_size=2&page=2")[0] == [
        "shirt-red",
        "shirt-blue",
    ]


def test_newest_first_cursor_skips_products_added_after_the_walk_began(shop, get):
    body = get("/api/v1/products?page_size=2").json()
    seen = [item["slug"] for item in body["items"]]
    factories.product(category=Category.objects.get(slug="food"), slug="fresh")
    while body["next_cursor"]:
        body = get(f"/api/v1/products?page_size=2&cursor={body['next_cursor']}").json()
        seen += [item["slug"] for item in body["items"]]
    assert seen == ["honey", "kurta", "shirt-blue", "shirt-red"]


def test_page_totals_and_next_cursor(shop, get):
    first = get("/api/v1/products?page_size=3").json()
    assert (first["count"], first["pages"], first["page"], first["page_size"]) == (4, 2, 1, 3)
    second = get("/api/v1/products?page_size=3&page=2").json()
    assert second["next_cursor"] is None and second["page"] == 2
    by_cursor = get(f"/api/v1/products?page_size=3&cursor={first['next_cursor']}").json()
    assert by_cursor["items"] == second["items"]
    assert (by_cursor["count"], by_cursor["pages"], by_cursor["page"]) == (4, 2, None)


def test_a_cursor_only_continues_its_own_ordering(shop, get):
    cursor = get("/api/v1/products?ordering=price&page_size=1").json()["next_cursor"]
    response = get(f"/api/v1/products?ordering=-price&cursor={cursor}")
    assert response.status == 422
    assert response.json()["error"]["fields"] == {
        "cursor": ["This cursor belongs to another ordering."]
    }
    name_en = get("/api/v1/products?ordering=name&page_size=1").json()["next_cursor"]
    assert (
        get(f"/api/v1/products?ordering=name&cursor={name_en}", **{"Accept-Language": "bn"}).status
        == 422
    )


def test_cards_carry_rating_price_stock_and_primary_image(shop, get):
    cards = {
        i["slug"]: i for i in get("/api/v1/products", **{"Accept-Language": "bn"}).json()["items"]
    }
    red = cards["shirt-red"]
    assert (red["rating_average"], red["rating_count"]) == (4.5, 2)
    assert (red["name"], red["price"]["display"], red["in_stock"]) == ("সুতি শার্ট", "৳৮০০.০০", True)
    assert red["image"] == {
        "url": "https://img.example/shirt-red/0.png",
        "alt_text": "",
        "is_primary": True,
    }
    assert (cards["honey"]["rating_average"], cards["honey"]["rating_count"]) == (None, 0)
    assert cards["kurta"]["in_stock"] is False


@pytest.mark.parametrize("page_size", [1, 24, 100])
def test_a_listing_page_costs_the_same_queries_at_any_size(
    shop, get, django_assert_num_queries, page_size
):
    shirts = Category.objects.get(slug="shirts")
    for n in range(30):
        product = factories.product(category=shirts, slug=f"tee-{n}", images=3)
        factories.variation(product=product, value="M")
    with django_assert_num_queries(3):  # category table (cold), count, page
        cold = get(f"/api/v1/products?category=clothing&ordering=rating&page_size={page_size}")
    filtered = f"/api/v1/products?attr=size:M&q=product&in_stock=true&page_size={page_size}"
    with django_assert_num_queries(2):  # count, page
        body = get(filtered).json()
    cursor = get("/api/v1/products?attr=size:M&page_size=1").json()["next_cursor"]
    with django_assert_num_queries(2):
        after = get(f"/api/v1/products?attr=size:M&page_size={page_size}&cursor={cursor}").json()
    assert len(cold.json()["items"]) == min(page_size, 33)
    assert body["count"] == 30 and len(body["items"]) == min(page_size, 30)
    assert len(after["items"]) == min(page_size, 30)  # 31 with size M, after the first
