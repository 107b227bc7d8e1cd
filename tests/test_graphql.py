"""GraphQL storefront reads at /api/graphql: every field, both languages, filters, pages,
fixed query counts, query limits and GraphQL-over-HTTP behaviour."""

from __future__ import annotations

import json
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from graphql import GraphQLError, get_introspection_query

import api.graphql
from lib.access.api_keys import api_key_create
from lib.graphql.http import error_format
from lib.graphql.limits import MAX_DEPTH, MAX_FIELDS, MAX_ROOT_FIELDS
from tests import factories
from tests.support import call

pytestmark = pytest.mark.django_db

URL = "/api/graphql"
PRODUCT_CARD = """
  slug name nameEn nameBn price priceDisplay inStock available
  category { slug name }
  image { url isPrimary }
  images { url }
  variations { value price available }
  reviewSummary { average count }
"""


@pytest.fixture
def catalog():
    fashion = factories.category(name_en="Fashion", name_bn="ফ্যাশন", slug="fashion", sort_order=1)
    men = factories.category(parent=fashion, name_en="Men", name_bn="পুরুষ", slug="men")
    panjabi = factories.category(parent=men, name_en="Panjabi", name_bn="পাঞ্জাবি", slug="panjabi")
    groceries = factories.category(name_en="Groceries", name_bn="", slug="groceries", sort_order=2)
    factories.category(parent=fashion, name_en="Hidden", slug="hidden", is_active=False)
    silk = factories.product(
        category=panjabi,
        name_en="Silk Panjabi",
        name_bn="সিল্ক পাঞ্জাবি",
        description_en="<p>Pure silk</p>",
        description_bn="<p>খাঁটি সিল্ক</p>",
        slug="silk-panjabi",
        price=Decimal("125000.00"),
        compare_price=Decimal("150000.00"),
        tags=["eid", "silk"],
        is_featured=True,
        rating_count=4,
        rating_sum=18,
        images=2,
    )
    silk.images.filter(is_primary=True).update(alt_text_en="Front", alt_text_bn="সামনে")
    factories.variation(product=silk, value="M", variation_value_bn="মাঝারি", quantity=3)
    factories.variation(
        product=silk, value="L", variation_value_bn="বড়", quantity=0, price_adjustment=50
    )
    factories.variation(product=silk, value="XL", quantity=9, is_active=False)
    rice = factories.product(
        category=groceries,
        name_en="Miniket Rice 5kg",
        name_bn="মিনিকেট চাল ৫ কেজি",
        slug="miniket-rice",
        price=Decimal("450.00"),
        quantity=4,
    )
    factories.reservation(product=rice, quantity=4)  # every unit held by a cart
    factories.product(category=groceries, slug="lentils", price=Decimal("140.00"), images=0)
    factories.product(category=groceries, slug="draft", is_active=False)
    return {"fashion": fashion, "groceries": groceries, "silk": silk}


@pytest.fixture
def gql(server_key):
    def gql(query: str, variables: dict | None = None, **headers):
        body = {"query": query, "variables": variables}
        return call(api.graphql.app, "POST", URL, json_body=body, headers={**server_key, **headers})

    return gql


def data_of(response) -> dict:
    assert response.status == 200, response.body
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]


def error_codes(response) -> list[str]:
    return [error["extensions"]["code"] for error in response.json()["errors"]]


# --- categories ---------------------------------------------------------------------------


def test_category_tree_is_nested_localised_and_one_query(catalog, gql, django_assert_num_queries):
    query = "{ categories { slug name nameEn nameBn children { slug name children { slug } } } }"
    with django_assert_num_queries(1):
        tree = data_of(gql(query))["categories"]
    assert [node["slug"] for node in tree] == ["fashion", "groceries"]
    fashion = tree[0]
    assert (fashion["name"], fashion["nameEn"], fashion["nameBn"]) == ("Fashion", "Fashion", "ফ্যাশন")
    assert fashion["children"] == [
        {"slug": "men", "name": "Men", "children": [{"slug": "panjabi"}]}
    ]  # the hidden subcategory is not shown

    bangla = data_of(gql(query, **{"Accept-Language": "bn-BD,en;q=0.5"}))["categories"]
    assert [node["name"] for node in bangla] == ["ফ্যাশন", "Groceries"]  # no Bangla: English
    assert bangla[0]["children"][0]["name"] == "পুরুষ"


def test_category_by_slug_with_children_and_breadcrumb(catalog, gql, django_assert_num_queries):
    query = """query($slug: String!) { category(slug: $slug) {
        id slug name description imageUrl children { slug } breadcrumb { slug name } } }"""
    with django_assert_num_queries(1):
        men = data_of(gql(query, {"slug": "men"}))["category"]
    assert men["children"] == [{"slug": "panjabi"}]
    assert men["breadcrumb"] == [
        {"slug": "fashion", "name": "Fashion"},
        {"slug": "men", "name": "Men"},
    ]
    assert men["imageUrl"] is None and men["description"] == ""
    assert data_of(gql(query, {"slug": "hidden"}))["category"] is None
    assert data_of(gql(query, {"slug": "nothing"}))["category"] is None


# --- product detail -----------------------------------------------------------------------

PRODUCT_DETAIL = """query($slug: String!) { product(slug: $slug) {
  id slug sku name nameEn nameBn description
  price priceDisplay comparePrice comparePriceDisplay currency
  available inStock isFeatured tags
  category { slug } breadcrumb { slug name }
  image { url alt altEn altBn isPrimary }
  images { url alt isPrimary }
  variations { id sku type value valueEn valueBn price priceDisplay available inStock }
  reviewSummary { average count }
} }"""


def test_product_detail_has_every_field(catalog, gql, django_assert_num_queries):
    with django_assert_num_queries(4):  # product, images, variations, category tree
        product = data_of(gql(PRODUCT_DETAIL, {"slug": "silk-panjabi"}))["product"]
    assert product["id"] == str(catalog["silk"].id)
    assert (product["name"], product["description"]) == ("Silk Panjabi", "<p>Pure silk</p>")
    assert (product["price"], product["priceDisplay"]) == ("125000.00", "৳1,25,000.00")
    assert (product["comparePrice"], product["comparePriceDisplay"]) == (
        "150000.00",
        "৳1,50,000.00",
    )
    assert product["currency"] == "BDT"
    assert (product["available"], product["inStock"], product["isFeatured"]) == (10, True, True)
    assert product["tags"] == ["eid", "silk"]
    assert product["category"] == {"slug": "panjabi"}
    assert [crumb["slug"] for crumb in product["breadcrumb"]] == ["fashion", "men", "panjabi"]
    assert product["image"] == {
        "url": "https://img.example/silk-panjabi/0.png",
        "alt": "Front",
        "altEn": "Front",
        "altBn": "সামনে",
        "isPrimary": True,
    }
    assert [image["isPrimary"] for image in product["images"]] == [True, False]
    sizes = {v["value"]: (v["price"], v["available"], v["inStock"]) for v in product["variations"]}
    assert sizes == {"L": ("125050.00", 0, False), "M": ("125000.00", 3, True)}  # XL inactive
    assert {v["type"] for v in product["variations"]} == {"size"}
    assert product["reviewSummary"] == {"average": 4.5, "count": 4}


def test_product_detail_in_bangla(catalog, gql):
    response = gql(PRODUCT_DETAIL, {"slug": "silk-panjabi"}, **{"Accept-Language": "bn"})
    assert "সিল্ক পাঞ্জাবি".encode() in response.body  # UTF-8, not \u escapes
    product = data_of(response)["product"]
    assert (product["name"], product["nameEn"]) == ("সিল্ক পাঞ্জাবি", "Silk Panjabi")
    assert product["description"] == "<p>খাঁটি সিল্ক</p>"
    assert product["price"] == "125000.00"  # the amount itself is never localised
    assert product["priceDisplay"] == "৳১,২৫,০০০.০০"
    assert product["image"]["alt"] == "সামনে"
    assert [crumb["name"] for crumb in product["breadcrumb"]] == ["ফ্যাশন", "পুরুষ", "পাঞ্জাবি"]
    medium = next(v for v in product["variations"] if v["valueEn"] == "M")
    assert (medium["value"], medium["priceDisplay"]) == ("মাঝারি", "৳১,২৫,০০০.০০")
    assert response.headers["vary"].count("Accept-Language") == 1


def test_unknown_or_draft_product_is_null(catalog, gql):
    query = "query($slug: String!) { product(slug: $slug) { slug } }"
    assert data_of(gql(query, {"slug": "draft"})) == {"product": None}
    assert data_of(gql(query, {"slug": "nothing"})) == {"product": None}


def test_a_product_without_reviews_or_images(catalog, gql):
    query = """{ product(slug: "lentils") {
        image { url } images { url } variations { sku } reviewSummary { average count } } }"""
    product = data_of(gql(query))["product"]
    assert product == {
        "image": None,
        "images": [],
        "variations": [],
        "reviewSummary": {"average": None, "count": 0},
    }


# --- listing: filters and sorting ---------------------------------------------------------


def slugs(response, field: str = "products") -> list[str]:
    return [node["slug"] for node in data_of(response)[field]["nodes"]]


def test_category_filter_includes_subcategories(catalog, gql):
    query = "query($c: String) { products(category: $c) { totalCount nodes { slug } } }"
    assert slugs(gql(query, {"c": "fashion"})) == ["silk-panjabi"]
    everything = data_of(gql(query))["products"]
    assert everything["totalCount"] == 3
    assert {node["slug"] for node in everything["nodes"]} == {
        "silk-panjabi",
        "miniket-rice",
        "lentils",
    }


def test_unknown_category_is_a_not_found_error_in_the_callers_language(catalog, gql):
    query = '{ products(category: "hidden") { totalCount } }'
    response = gql(query, **{"Accept-Language": "bn"})
    assert response.status == 200
    body = response.json()
    assert body["data"] == {"products": None}
    [error] = body["errors"]
    assert error["path"] == ["products"]
    assert error["extensions"] == {"code": "not_found", "fields": {"slug": ["hidden"]}}
    assert error["message"] == "অনুরোধ করা তথ্য পাওয়া যায়নি।"


def test_search_price_stock_and_featured_filters(catalog, gql):
    query = """query($search: String, $min: Decimal, $max: Decimal, $stock: Boolean,
                     $featured: Boolean) {
        products(search: $search, minPrice: $min, maxPrice: $max, inStock: $stock,
                 featured: $featured, sort: PRICE) { nodes { slug } } }"""
    assert slugs(gql(query, {"search": "চাল"})) == ["miniket-rice"]
    assert slugs(gql(query, {"search": "silk"})) == ["silk-panjabi"]
    assert slugs(gql(query, {"min": "100", "max": 500})) == ["lentils", "miniket-rice"]
    assert slugs(gql(query, {"stock": True})) == ["lentils", "silk-panjabi"]
    assert slugs(gql(query, {"stock": False})) == ["miniket-rice"]
    assert slugs(gql(query, {"featured": True})) == ["silk-panjabi"]
    literal = '{ products(minPrice: "400.5", maxPrice: 1000) { nodes { slug } } }'
    assert slugs(gql(literal)) == ["miniket-rice"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("PRICE", ["lentils", "miniket-rice", "silk-panjabi"]),
        ("PRICE_DESC", ["silk-panjabi", "miniket-rice", "lentils"]),
        ("NAME", ["miniket-rice", "lentils", "silk-panjabi"]),
        ("NEWEST", ["lentils", "miniket-rice", "silk-panjabi"]),
    ],
)
def test_sorting(catalog, gql, sort, expected):
    assert slugs(gql(f"{{ products(sort: {sort}) {{ nodes {{ slug }} }} }}")) == expected


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ("first: 0", "first"),
        ("first: 101", "first"),
        ('minPrice: "-1"', "minPrice"),
        ('after: "not-a-cursor"', "after"),
        (f'search: "{"x" * 101}"', "search"),
    ],
)
def test_bad_arguments_are_validation_errors(catalog, gql, arguments, field):
    response = gql(f"{{ products({arguments}) {{ totalCount }} }}")
    assert response.status == 200
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "validation_error"
    assert list(error["extensions"]["fields"]) == [field]


@pytest.mark.parametrize("amount", ['"abc"', '"NaN"', "true"])
def test_a_decimal_that_is_not_an_amount_is_refused(catalog, gql, amount):
    response = gql(f"{{ products(minPrice: {amount}) {{ totalCount }} }}")
    assert error_codes(response) == ["graphql_validation_failed"]
    assert "data" not in response.json()


# --- pagination ---------------------------------------------------------------------------


def test_cursor_pagination_walks_every_page(catalog, gql):
    query = """query($after: String) { products(first: 2, sort: PRICE, after: $after) {
        totalCount
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { cursor node { slug } } } }"""
    first = data_of(gql(query))["products"]
    assert first["totalCount"] == 3
    assert [edge["node"]["slug"] for edge in first["edges"]] == ["lentils", "miniket-rice"]
    info = first["pageInfo"]
    assert (info["hasNextPage"], info["hasPreviousPage"]) == (True, False)
    assert info["startCursor"] == first["edges"][0]["cursor"]
    assert info["endCursor"] == first["edges"][-1]["cursor"]

    second = data_of(gql(query, {"after": info["endCursor"]}))["products"]
    assert [edge["node"]["slug"] for edge in second["edges"]] == ["silk-panjabi"]
    assert (second["pageInfo"]["hasNextPage"], second["pageInfo"]["hasPreviousPage"]) == (
        False,
        True,
    )
    last = data_of(gql(query, {"after": second["pageInfo"]["endCursor"]}))["products"]
    assert last["edges"] == []
    assert last["pageInfo"]["startCursor"] is None and last["pageInfo"]["endCursor"] is None


def test_no_count_query_unless_total_count_is_asked(catalog, gql, django_assert_num_queries):
    with django_assert_num_queries(2):  # the page (one row more than asked) + primary images
        page = data_of(gql("{ products(first: 2) { pageInfo { hasNextPage } } }"))
    assert page["products"]["pageInfo"]["hasNextPage"] is True


# --- query counts -------------------------------------------------------------------------

LISTING = f"""query($first: Int!) {{ products(first: $first) {{
  totalCount pageInfo {{ hasNextPage endCursor }}
  edges {{ cursor node {{
    {PRODUCT_CARD} breadcrumb {{ slug }} category {{ children {{ slug }} }}
  }} }}
}} }}"""


def test_listing_costs_the_same_queries_for_5_or_24_products(
    catalog, gql, django_assert_num_queries
):
    for n in range(30):
        item = factories.product(category=catalog["groceries"], slug=f"item-{n}", images=2)
        factories.variation(product=item, value="1kg")
        factories.variation(product=item, value="5kg")
    # count, page, primary images, all images, variations, category tree
    with django_assert_num_queries(6):
        small = data_of(gql(LISTING, {"first": 5}))["products"]
    with django_assert_num_queries(6):
        page = data_of(gql(LISTING, {"first": 24}))["products"]
    assert len(small["edges"]) == 5 and len(page["edges"]) == 24
    assert page["totalCount"] == 33
    node = page["edges"][0]["node"]
    assert len(node["images"]) == 2 and node["image"]["isPrimary"] is True
    assert [v["value"] for v in node["variations"]] == ["1kg", "5kg"]
    assert node["breadcrumb"] == [{"slug": "groceries"}]


def test_the_same_product_twice_in_one_request_is_still_batched(
    catalog, gql, django_assert_num_queries
):
    query = """{ cheap: products(sort: PRICE) { nodes { slug variations { value } } }
                 dear: products(sort: PRICE_DESC) { nodes { slug variations { value } } } }"""
    with django_assert_num_queries(6):  # per list: page, primary images, variations
        result = data_of(gql(query))
    silk = next(node for node in result["dear"]["nodes"] if node["slug"] == "silk-panjabi")
    assert [v["value"] for v in silk["variations"]] == ["L", "M"]


# --- query limits -------------------------------------------------------------------------


def nested_children(levels: int) -> str:
    selection = "slug"
    for _ in range(levels - 2):  # `categories` and the innermost `slug` are two levels
        selection = f"slug children {{ {selection} }}"
    return f"{{ categories {{ {selection} }} }}"


def test_queries_up_to_the_depth_limit_run(catalog, gql):
    assert data_of(gql(nested_children(MAX_DEPTH)))["categories"]


def test_queries_deeper_than_the_limit_are_refused(catalog, gql):
    response = gql(nested_children(MAX_DEPTH + 1))
    assert response.status == 200
    body = response.json()
    assert "data" not in body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "graphql_validation_failed"
    assert f"the limit is {MAX_DEPTH}" in error["message"]


def test_depth_counts_through_fragments(catalog, gql):
    query = (
        "fragment deep on Category { children { children { children { children { slug } } } } }"
        "{ categories { children { children { children { ...deep } } } } }"
    )
    assert "the limit is" in gql(query).json()["errors"][0]["message"]


def test_too_many_fields_are_refused_even_through_aliases_and_fragments(catalog, gql):
    fields = " ".join(f"a{n}: slug" for n in range(40))
    spreads = " ".join(f'x{n}: category(slug: "men") {{ ...f }}' for n in range(8))
    response = gql(f"fragment f on Category {{ {fields} }} {{ {spreads} }}")
    [error] = response.json()["errors"]
    assert f"the limit is {MAX_FIELDS}" in error["message"]


def test_too_many_top_level_fields_are_refused(catalog, gql):
    roots = " ".join(f"p{n}: products {{ totalCount }}" for n in range(MAX_ROOT_FIELDS + 1))
    [error] = gql(f"{{ {roots} }}").json()["errors"]
    assert f"the limit is {MAX_ROOT_FIELDS}" in error["message"]


def test_introspection_is_allowed(catalog, gql):
    schema = data_of(gql(get_introspection_query(descriptions=True)))["__schema"]
    names = {graphql_type["name"] for graphql_type in schema["types"]}
    assert {"Product", "Category", "Variation", "Image", "ReviewSummary", "Decimal"} <= names
    sort = next(t for t in schema["types"] if t["name"] == "ProductSort")
    assert {value["name"] for value in sort["enumValues"]} >= {"NEWEST", "PRICE", "PRICE_DESC"}


# --- GraphQL over HTTP --------------------------------------------------------------------


def test_get_runs_queries_with_json_encoded_variables(catalog, server_key):
    params = {
        "query": "query Item($slug: String!) { product(slug: $slug) { slug } }",
        "variables": json.dumps({"slug": "lentils"}),
        "operationName": "Item",
    }
    response = call(api.graphql.app, "GET", f"{URL}?{urlencode(params)}", headers=server_key)
    assert data_of(response) == {"product": {"slug": "lentils"}}
    assert response.headers["content-type"] == "application/json"


def test_operation_name_picks_one_of_several_operations(catalog, gql, server_key):
    document = 'query A { product(slug: "lentils") { slug } } query B { categories { slug } }'
    body = {"query": document, "operationName": "A"}
    response = call(api.graphql.app, "POST", URL, json_body=body, headers=server_key)
    assert data_of(response) == {"product": {"slug": "lentils"}}
    ambiguous = gql(document)
    assert ambiguous.status == 200 and "data" not in ambiguous.json()


def test_unknown_field_is_a_graphql_error_without_data(catalog, gql):
    response = gql('{ product(slug: "lentils") { slug costPrice } }')
    assert response.status == 200
    body = response.json()
    assert "data" not in body
    [error] = body["errors"]
    assert "costPrice" in error["message"]
    assert error["locations"] and error["extensions"]["code"] == "graphql_validation_failed"


def test_syntax_error_is_a_graphql_error(catalog, gql):
    response = gql("{ products { ")
    assert response.status == 200
    assert error_codes(response) == ["graphql_parse_failed"]


def test_mutations_do_not_exist(catalog, gql):
    response = gql("mutation { anything }")
    assert response.status == 200 and "errors" in response.json()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("{not json", "malformed_json"),
        ("[]", "bad_request"),
        ('{"variables": {}}', "bad_request"),
        ('{"query": ""}', "bad_request"),
        ('{"query": "{ categories { slug } }", "variables": [1]}', "bad_request"),
        ('{"query": "{ categories { slug } }", "operationName": 5}', "bad_request"),
    ],
)
def test_malformed_requests_are_400_in_graphql_shape(catalog, server_key, body, code):
    response = call(api.graphql.app, "POST", URL, body=body, headers=server_key)
    assert response.status == 400
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == code


def test_a_body_that_is_not_json_is_415(catalog, server_key):
    headers = {**server_key, "Content-Type": "application/graphql"}
    response = call(api.graphql.app, "POST", URL, body="{ categories { slug } }", headers=headers)
    assert response.status == 415
    assert error_codes(response) == ["unsupported_media_type"]


def test_other_methods_are_405(catalog, server_key):
    response = call(api.graphql.app, "PUT", URL, json_body={"query": "{ x }"}, headers=server_key)
    assert response.status == 405 and response.headers["allow"] == "GET, POST"


def test_missing_api_key_is_the_401_envelope(catalog):
    response = call(api.graphql.app, "POST", URL, json_body={"query": "{ categories { slug } }"})
    assert response.status == 401
    assert response.json()["error"]["code"] == "api_key_required"


def test_a_publishable_storefront_key_is_enough(catalog, kv):
    key, _ = api_key_create(name="Shop", kind="publishable", scopes=["storefront:read"])
    response = call(
        api.graphql.app,
        "POST",
        URL,
        json_body={"query": "{ categories { slug } }"},
        headers={"X-API-Key": key.key_id},
    )
    assert [node["slug"] for node in data_of(response)["categories"]] == ["fashion", "groceries"]


def test_a_failing_resolver_is_reported_and_its_text_never_shown(rf, caplog):
    failure = RuntimeError("connection string postgres://secret")
    error = GraphQLError(str(failure), path=["products"], original_error=failure)
    formatted = error_format(rf.get(URL, HTTP_ACCEPT_LANGUAGE="bn"), error)
    assert formatted["message"] == "আমাদের দিকে একটি সমস্যা হয়েছে।"
    assert formatted["extensions"] == {"code": "internal_error"}
    assert formatted["path"] == ["products"]
    assert "secret" in caplog.text  # logged (and sent to Sentry when configured)
