"""Catalog management API: categories and products with variations, permissions, validation,
sanitised rich text, all-or-nothing writes and fixed query counts."""

from __future__ import annotations

import unicodedata
import uuid
from decimal import Decimal
from urllib.parse import quote

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext

import api.catalog
import api.catalog_admin
from db.models import (
    Category,
    Order,
    OrderItem,
    Product,
    ProductImage,
    ProductVariation,
    StockAdjustment,
    User,
    Vendor,
    VendorMember,
)
from lib.access.api_key_cache import api_key_record_fill
from lib.access.api_keys import api_key_create
from lib.access.sessions import session_start
from tests import factories
from tests.support import call

pytestmark = pytest.mark.django_db

BANGLA = "হাতে বোনা জামদানি শাড়ি"


@pytest.fixture
def people():
    nakshi = Vendor.objects.create(name="Nakshi Kantha House", slug="nakshi", status="active")
    tant = Vendor.objects.create(name="Tant Ghor", slug="tant", status="active")

    def user(email: str, role: str, *vendors: Vendor) -> User:
        person = User.objects.create_user(email=email, role=role)  # no password: fast
        for vendor in vendors:
            VendorMember.objects.create(vendor=vendor, user=person, role="staff")
        return person

    return {
        "staff": user("staff@zest.test", "staff"),
        "admin": user("admin@zest.test", "admin"),
        "nakshi": user("owner@nakshi.test", "vendor_owner", nakshi),
        "tant": user("staff@tant.test", "vendor_staff", tant),
        "both": user("both@vendors.test", "vendor_staff", nakshi, tant),
        "customer": user("shopper@mail.test", "customer"),
        "vendor_nakshi": nakshi,
        "vendor_tant": tant,
    }


@pytest.fixture
def as_user(server_key):
    """`as_user(user)(method, url, json_body=...)`: a call signed in as `user` through a
    secret key holding every scope."""

    def as_user(user: User, key: dict[str, str] | None = None):
        tokens = session_start(user=user, ip="127.0.0.1", user_agent="test")
        headers = {**(key or server_key), "Authorization": f"Bearer {tokens.access_token}"}

        def request(method: str, url: str, **kwargs):
            extra = kwargs.pop("headers", {})
            return call(api.catalog_admin.app, method, url, headers={**headers, **extra}, **kwargs)

        return request

    return as_user


@pytest.fixture
def staff(people, as_user):
    return as_user(people["staff"])


@pytest.fixture
def clothing():
    return factories.category(name_en="Clothing", slug="clothing")


def product_body(category: Category, **fields) -> dict:
    n = uuid.uuid4().hex[:6]
    return {
        "category": str(category.pk),
        "name_en": "Silk Panjabi",
        "name_bn": "সিল্ক পাঞ্জাবি",
        "sku": f"PNJ-{n}",
        "price": "2500.00",
        **fields,
    }


def variation_body(value: str, sku: str, **fields) -> dict:
    return {"variation_type": "size", "value_en": value, "sku": sku, **fields}


def variation(product: Product, value: str, sku: str, quantity: int = 5) -> ProductVariation:
    return ProductVariation.objects.create(
        product=product, variation_type="size", variation_value_en=value, sku=sku, quantity=quantity
    )


def make_order(product: Product, variation: ProductVariation | None = None) -> OrderItem:
    order = Order.objects.create(number=f"ZS-{uuid.uuid4().hex[:8]}", payment_method="cod")
    return OrderItem.objects.create(
        order=order,
        product=product,
        variation=variation,
        product_name=product.name_en,
        sku=variation.sku if variation else product.sku,
        quantity=1,
        unit_price=product.price,
        total_price=product.price,
    )


# --- categories ------------------------------------------------------------------------


def test_staff_create_edit_list_and_delete_categories(staff, django_assert_num_queries):
    fashion = staff("POST", "/api/v1/admin/categories", json_body={"name_en": "Fashion & Style"})
    assert fashion.status == 201 and fashion.json()["slug"] == "fashion-style"
    men = staff(
        "POST",
        "/api/v1/admin/categories",
        json_body={"name_en": "Men", "name_bn": "পুরুষ", "parent": fashion.json()["id"]},
    ).json()
    assert men["parent_id"] == fashion.json()["id"]

    edited = staff(
        "PATCH",
        f"/api/v1/admin/categories/{men['id']}",
        json_body={
            "name_bn": "ছেলেদের",
            "seo_title_en": "Men's clothing",
            "sort_order": 3,
            "is_active": False,
        },
    ).json()
    assert (edited["name_bn"], edited["seo_title_en"], edited["sort_order"]) == (
        "ছেলেদের",
        "Men's clothing",
        3,
    )
    assert edited["is_active"] is False and edited["name_en"] == "Men"

    with django_assert_num_queries(1):  # every category with its product count
        flat = staff("GET", "/api/v1/admin/categories").json()["items"]
    assert [(c["slug"], c["depth"]) for c in flat] == [("fashion-style", 0), ("men", 1)]
    tree = staff("GET", "/api/v1/admin/categories/tree").json()["items"]
    assert tree[0]["children"][0]["name_bn"] == "ছেলেদের"

    assert staff("DELETE", f"/api/v1/admin/categories/{men['id']}").status == 204
    assert not Category.objects.filter(pk=men["id"]).exists()


def test_moving_a_category_keeps_slugs_and_refuses_cycles(staff):
    top = factories.category(slug="top")
    middle = factories.category(parent=top, slug="middle")
    leaf = factories.category(parent=middle, slug="leaf")

    moved = staff("PATCH", f"/api/v1/admin/categories/{middle.pk}", json_body={"parent": None})
    assert moved.status == 200
    assert (moved.json()["parent_id"], moved.json()["slug"]) == (None, "middle")
    leaf.refresh_from_db()
    assert (leaf.slug, leaf.parent_id) == ("leaf", middle.pk)  # the subtree moved with it

    for parent in (leaf, middle):  # its own descendant, itself
        refused = staff(
            "PATCH", f"/api/v1/admin/categories/{middle.pk}", json_body={"parent": str(parent.pk)}
        )
        assert refused.status == 422 and refused.json()["error"]["code"] == "category_cycle"
    middle.refresh_from_db()
    assert middle.parent_id is None

    back = staff(
        "PATCH", f"/api/v1/admin/categories/{middle.pk}", json_body={"parent": str(top.pk)}
    )
    assert back.json()["parent_id"] == str(top.pk) and back.json()["slug"] == "middle"
    factories.product(category=middle)
    assert back.json()["product_count"] == 0
    renamed = staff("PATCH", f"/api/v1/admin/categories/{middle.pk}", json_body={"name_en": "Mid"})
    assert (renamed.json()["slug"], renamed.json()["product_count"]) == ("middle", 1)

    unknown = staff(
        "PATCH", f"/api/v1/admin/categories/{middle.pk}", json_body={"parent": str(uuid.uuid4())}
    )
    assert (unknown.status, list(unknown.json()["error"]["fields"])) == (422, ["parent"])


def test_category_with_children_or_products_cannot_be_deleted(staff):
    parent = factories.category()
    child = factories.category(parent=parent)
    factories.product(category=child)

    refused = staff("DELETE", f"/api/v1/admin/categories/{parent.pk}")
    assert (refused.status, refused.json()["error"]["code"]) == (409, "category_has_children")
    refused = staff("DELETE", f"/api/v1/admin/categories/{child.pk}")
    assert (refused.status, refused.json()["error"]["code"]) == (409, "category_has_products")
    assert Category.objects.filter(pk__in=[parent.pk, child.pk]).count() == 2


def test_category_slug_must_be_free(staff, clothing):
    taken = staff(
        "POST", "/api/v1/admin/categories", json_body={"name_en": "X", "slug": "clothing"}
    )
    assert (taken.status, taken.json()["error"]["code"]) == (409, "slug_taken")
    auto = staff("POST", "/api/v1/admin/categories", json_body={"name_en": "Clothing"})
    assert auto.json()["slug"] == "clothing-2"


def test_only_staff_manage_categories(people, as_user, clothing):
    for who in ("nakshi", "customer"):
        response = as_user(people[who])(
            "POST", "/api/v1/admin/categories", json_body={"name_en": "X"}
        )
        assert (response.status, response.json()["error"]["code"]) == (403, "forbidden")
    assert Category.objects.count() == 1


# --- products: create, edit, delete --------------------------------------------------------


def test_create_product_with_variations_in_one_call(staff, people, clothing):
    body = product_body(
        clothing,
        compare_price="3000.00",
        cost_price="1800.50",
        tags=["eid", " Eid ", "silk"],
        is_active=True,
        variations=[
            variation_body("M", "PNJ-M", value_bn="মাঝারি", quantity=3),
            variation_body("XL", "PNJ-XL", price_adjustment="150.00", quantity=2),
            variation_body("XXL", "PNJ-XXL"),
        ],
    )
    response = staff("POST", "/api/v1/admin/products", json_body=body)

    assert response.status == 201
    created = response.json()
    assert created["slug"] == "silk-panjabi"
    assert created["price"] == {"amount": "2500.00", "currency": "BDT", "display": "৳2,500.00"}
    assert tuple(created[name]["amount"] for name in ("price", "compare_price", "cost_price")) == (
        "2500.00",
        "3000.00",
        "1800.50",
    )
    assert created["tags"] == ["eid", "silk"] and created["vendor_id"] is None
    assert [(v["value_en"], v["value_bn"], v["quantity"]) for v in created["variations"]] == [
        ("M", "মাঝারি", 3),
        ("XL", "", 2),
        ("XXL", "", 0),
    ]
    assert created["variations"][1]["price_adjustment"]["amount"] == "150.00"
    # The stock lives on the variations; the product holds their total.
    assert (created["quantity"], created["available"]) == (5, 5)
    # Opening stock is on the audit trail, by whom.
    opening = StockAdjustment.objects.filter(product_id=created["id"])
    assert sorted((a.variation.sku, a.delta, a.reason) for a in opening) == [
        ("PNJ-M", 3, "received"),
        ("PNJ-XL", 2, "received"),
    ]
    assert {a.actor_id for a in opening} == {people["staff"].pk}


def test_opening_stock_of_a_product_without_variations(staff, clothing):
    created = staff(
        "POST", "/api/v1/admin/products", json_body=product_body(clothing, quantity=4)
    ).json()
    assert created["quantity"] == 4
    opening = StockAdjustment.objects.get(product_id=created["id"])
    assert (opening.variation_id, opening.delta, opening.quantity_after) == (None, 4, 4)

    both = product_body(clothing, quantity=4, variations=[variation_body("M", "BOTH-M")])
    refused = staff("POST", "/api/v1/admin/products", json_body=both)
    assert (refused.status, refused.json()["error"]["code"]) == (422, "variation_required")


def test_creating_and_replacing_variations_costs_the_same_whatever_their_number(staff, clothing):
    def queries_for(count: int) -> tuple[int, int]:
        sizes = [variation_body(f"S{n}", f"Q{count}-{n}", quantity=1) for n in range(count)]
        with CaptureQueriesContext(connection) as created:
            response = staff(
                "POST", "/api/v1/admin/products", json_body=product_body(clothing, variations=sizes)
            )
        assert response.status == 201
        product_id = response.json()["id"]
        bigger = [variation_body(f"T{n}", f"R{count}-{n}") for n in range(count)]
        with CaptureQueriesContext(connection) as replaced:
            response = staff(
                "PUT",
                f"/api/v1/admin/products/{product_id}/variations",
                json_body={"variations": sizes + bigger},
            )
        assert response.status == 200 and len(response.json()["variations"]) == 2 * count
        return len(created), len(replaced)

    assert queries_for(2) == queries_for(20)


def test_slugs_come_from_the_english_name_and_stay_unique(staff, clothing):
    slugs = [
        staff("POST", "/api/v1/admin/products", json_body=product_body(clothing)).json()["slug"]
        for _ in range(3)
    ]
    assert slugs == ["silk-panjabi", "silk-panjabi-2", "silk-panjabi-3"]
    given = staff(
        "POST", "/api/v1/admin/products", json_body=product_body(clothing, slug="silk-panjabi")
    )
    assert (given.status, given.json()["error"]["code"]) == (409, "slug_taken")
    bangla_only = staff(
        "POST", "/api/v1/admin/products", json_body=product_body(clothing, name_en="শাড়ি")
    )
    assert bangla_only.json()["slug"] == "product"


def test_hostile_html_is_sanitised_and_bangla_kept(staff, clothing):
    hostile = (
        '<p onclick="steal()">Soft <strong>silk</strong><script>alert(1)</script></p>'
        '<img src=x onerror="alert(1)"><a href="javascript:alert(1)">win</a>'
        '<a href="https://maker.example/about">maker</a><style>body{}</style>'
    )
    decomposed = unicodedata.normalize("NFD", f"<p>{BANGLA} — নয়া সংগ্রহ</p>")
    response = staff(
        "POST",
        "/api/v1/admin/products",
        json_body=product_body(clothing, description_en=hostile, description_bn=decomposed),
    )

    stored = Product.objects.get(pk=response.json()["id"])
    for bad in ("<script", "alert", "onclick", "onerror", "javascript:", "<img", "<style"):
        assert bad not in stored.description_en
    assert "<strong>silk</strong>" in stored.description_en
    assert 'href="https://maker.example/about"' in stored.description_en
    assert 'rel="nofollow noopener noreferrer"' in stored.description_en
    assert stored.description_bn == unicodedata.normalize("NFC", decomposed)
    assert BANGLA in stored.description_bn

    staff(
        "PATCH",
        f"/api/v1/admin/products/{stored.pk}",
        json_body={"description_bn": '<p onmouseover="x()">নতুন</p><script>x()</script>'},
    )
    stored.refresh_from_db()
    assert stored.description_bn == "<p>নতুন</p>"


def test_duplicate_sku_writes_nothing(staff, clothing):
    existing = factories.product(category=clothing, sku="TAKEN-1")
    variation(existing, "S", "TAKEN-2")
    before = (Product.objects.count(), ProductVariation.objects.count())

    body = product_body(
        clothing,
        variations=[variation_body("M", "NEW-M", quantity=5), variation_body("L", "TAKEN-2")],
    )
    refused = staff("POST", "/api/v1/admin/products", json_body=body)

    assert refused.status == 409
    error = refused.json()["error"]
    assert error["code"] == "sku_taken" and list(error["fields"]) == ["variations.1.sku"]
    assert (Product.objects.count(), ProductVariation.objects.count()) == before
    assert not StockAdjustment.objects.exists()

    for clash in (
        product_body(clothing, sku="TAKEN-1"),  # another product's SKU
        product_body(clothing, sku="TAKEN-2"),  # another product's variation's SKU
        product_body(clothing, variations=[variation_body("M", "A"), variation_body("L", "A")]),
    ):
        refused = staff("POST", "/api/v1/admin/products", json_body=clash)
        assert (refused.status, refused.json()["error"]["code"]) == (409, "sku_taken")
    assert (Product.objects.count(), ProductVariation.objects.count()) == before


def test_prices_are_validated(staff, clothing):
    cases = {
        "compare_price_below_price": {"price": "500.00", "compare_price": "499.99"},
        "validation_error": {"price": "10.005"},
    }
    for code, fields in cases.items():
        refused = staff(
            "POST", "/api/v1/admin/products", json_body=product_body(clothing, **fields)
        )
        assert (refused.status, refused.json()["error"]["code"]) == (422, code)
    negative = staff("POST", "/api/v1/admin/products", json_body=product_body(clothing, price="-1"))
    assert "price" in negative.json()["error"]["fields"]
    cheap_variation = product_body(
        clothing,
        price="100.00",
        variations=[variation_body("S", "S-1", price_adjustment="-100.01")],
    )
    assert staff("POST", "/api/v1/admin/products", json_body=cheap_variation).status == 422
    assert not Product.objects.exists()


def test_patch_changes_only_what_is_sent(staff, clothing):
    shoes = factories.category(name_en="Shoes", slug="shoes")
    product = factories.product(
        category=clothing, compare_price=Decimal("150.00"), description_en="<p>Kept</p>"
    )

    response = staff(
        "PATCH",
        f"/api/v1/admin/products/{product.pk}",
        json_body={"price": "120.00", "is_active": False, "category": str(shoes.pk)},
    )

    assert response.status == 200
    body = response.json()
    prices = (body["price"]["amount"], body["compare_price"]["amount"])
    assert (prices, body["is_active"]) == (("120.00", "150.00"), False)
    assert body["category_id"] == str(shoes.pk) and body["description_en"] == "<p>Kept</p>"
    assert body["name_en"] == product.name_en and body["slug"] == product.slug
    refused = staff(
        "PATCH", f"/api/v1/admin/products/{product.pk}", json_body={"compare_price": "100.00"}
    )
    assert refused.json()["error"]["code"] == "compare_price_below_price"
    # Stock is not set here: it changes through inventory adjustments.
    refused = staff("PATCH", f"/api/v1/admin/products/{product.pk}", json_body={"quantity": 99})
    assert refused.status == 422
    product.refresh_from_db()
    assert (product.quantity, product.price) == (10, Decimal("120.00"))


def test_variations_are_added_edited_replaced_and_removed(staff, clothing):
    product = factories.product(category=clothing, price=Decimal("1000.00"), quantity=0)
    base = f"/api/v1/admin/products/{product.pk}/variations"

    added = staff("POST", base, json_body=variation_body("M", "V-M", quantity=2))
    assert added.status == 201 and added.json()["quantity"] == 2
    product.refresh_from_db()
    assert product.quantity == 2  # the product holds its variations' total
    again = staff("POST", base, json_body=variation_body("m", "V-M2"))
    assert (again.status, again.json()["error"]["code"]) == (409, "variation_exists")
    small = staff("POST", base, json_body=variation_body("S", "V-S")).json()

    edited = staff(
        "PATCH", f"{base}/{small['id']}", json_body={"sku": "V-SMALL", "price_adjustment": "-50.00"}
    )
    edited_adjustment = edited.json()["price_adjustment"]["amount"]
    assert (edited.json()["sku"], edited_adjustment) == ("V-SMALL", "-50.00")
    clash = staff("PATCH", f"{base}/{small['id']}", json_body={"sku": product.sku})
    assert (clash.status, clash.json()["error"]["code"]) == (409, "sku_taken")
    stock = staff("PATCH", f"{base}/{small['id']}", json_body={"quantity": 5})
    assert stock.status == 422  # stock changes through inventory adjustments

    # Removing a variation that still has stock is refused, and nothing changes.
    refused = staff("PUT", base, json_body={"variations": [variation_body("S", "V-SMALL")]})
    assert refused.status == 409 and refused.json()["error"]["fields"] == {"sku": ["V-M"]}
    assert refused.json()["error"]["code"] == "variation_has_stock"

    replaced = staff(
        "PUT",
        base,
        json_body={
            "variations": [
                variation_body("M", "V-M", value_bn="মাঝারি", quantity=100),
                variation_body("L", "V-L", quantity=4),
            ]
        },
    ).json()
    assert [(v["sku"], v["value_bn"], v["quantity"]) for v in replaced["variations"]] == [
        ("V-L", "", 4),
        ("V-M", "মাঝারি", 2),  # stock kept: it changes through inventory adjustments
    ]
    assert replaced["quantity"] == 6
    assert not ProductVariation.objects.filter(sku="V-SMALL").exists()

    large = ProductVariation.objects.get(sku="V-L")
    refused = staff("DELETE", f"{base}/{large.pk}")
    assert (refused.status, refused.json()["error"]["code"]) == (409, "variation_has_stock")
    extra = staff("POST", base, json_body=variation_body("XL", "V-XL")).json()
    assert staff("DELETE", f"{base}/{extra['id']}").status == 204
    assert sorted(product.variations.values_list("sku", flat=True)) == ["V-L", "V-M"]


def test_a_product_with_stock_of_its_own_gets_no_variations(staff, clothing):
    product = factories.product(category=clothing, quantity=10)
    base = f"/api/v1/admin/products/{product.pk}/variations"
    for method, body in (
        ("POST", variation_body("M", "OWN-M")),
        ("PUT", {"variations": [variation_body("M", "OWN-M")]}),
    ):
        refused = staff(method, base, json_body=body)
        assert (refused.status, refused.json()["error"]["code"]) == (409, "product_has_own_stock")
    assert not product.variations.exists()


def test_ordered_variations_are_kept(staff, clothing):
    product = factories.product(category=clothing)
    sold = variation(product, "M", "SOLD-M", quantity=0)
    make_order(product, sold)
    base = f"/api/v1/admin/products/{product.pk}/variations"

    refused = staff("DELETE", f"{base}/{sold.pk}")
    assert (refused.status, refused.json()["error"]["code"]) == (409, "variation_has_orders")
    refused = staff("PUT", base, json_body={"variations": [variation_body("L", "NEW-L")]})
    assert refused.status == 409 and refused.json()["error"]["fields"] == {"sku": ["SOLD-M"]}
    assert list(product.variations.values_list("sku", flat=True)) == ["SOLD-M"]


def test_delete_removes_the_product_and_its_image_files(
    staff, clothing, django_capture_on_commit_callbacks
):
    product = factories.product(category=clothing, images=0)
    factories.variation(product=product, value="M")
    pathname = default_storage.save(f"products/{product.pk}/front.png", ContentFile(b"\x89PNG"))
    ProductImage.objects.create(
        product=product, image_url=default_storage.url(pathname), blob_pathname=pathname
    )
    assert default_storage.exists(pathname)

    with django_capture_on_commit_callbacks(execute=True):
        response = staff("DELETE", f"/api/v1/admin/products/{product.pk}")

    assert response.status == 204
    assert not Product.objects.filter(pk=product.pk).exists()
    assert not ProductVariation.objects.filter(product=product.pk).exists()
    assert not default_storage.exists(pathname)


def test_ordered_products_cannot_be_deleted(staff, clothing):
    product = factories.product(category=clothing)
    make_order(product)

    refused = staff("DELETE", f"/api/v1/admin/products/{product.pk}")

    assert refused.status == 409
    assert refused.json()["error"]["code"] == "product_has_orders"
    assert "draft" in refused.json()["error"]["message"]
    bangla = staff(
        "DELETE", f"/api/v1/admin/products/{product.pk}", headers={"Accept-Language": "bn"}
    )
    assert "খসড়া" in bangla.json()["error"]["message"]
    assert Product.objects.filter(pk=product.pk).exists()


def test_every_write_forgets_the_cached_storefront_reads(
    staff, server_key, clothing, django_capture_on_commit_callbacks
):
    product = factories.product(category=clothing, name_en="Kurta", slug="kurta", quantity=0)

    def shown(url: str = "/api/v1/products/kurta"):
        return call(api.catalog.app, "GET", url, headers=server_key)

    def write(method: str, url: str, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            response = staff(method, url, **kwargs)
        assert response.status < 300, response.body
        return response

    shown()
    assert shown().headers["x-cache"] == "HIT"
    write("PATCH", f"/api/v1/admin/products/{product.pk}", json_body={"name_en": "Linen Kurta"})
    assert shown().json()["name"] == "Linen Kurta"

    write("PATCH", f"/api/v1/admin/categories/{clothing.pk}", json_body={"name_en": "Apparel"})
    assert shown().json()["breadcrumb"][0]["name"] == "Apparel"

    write(
        "POST",
        f"/api/v1/admin/products/{product.pk}/variations",
        json_body=variation_body("M", "KRT-M", quantity=1),
    )
    assert [v["sku"] for v in shown().json()["variations"]] == ["KRT-M"]

    listing = f"/api/v1/products?category={clothing.slug}"
    assert len(shown(listing).json()["items"]) == 1
    write("POST", "/api/v1/admin/products", json_body=product_body(clothing, is_active=True))
    assert len(shown(listing).json()["items"]) == 2

    write("DELETE", f"/api/v1/admin/products/{product.pk}")
    assert shown().status == 404


# --- who may manage which products -------------------------------------------------------


def test_vendor_members_manage_only_their_own_products(people, as_user, clothing):
    nakshi, tant = people["vendor_nakshi"], people["vendor_tant"]
    owner = as_user(people["nakshi"])

    created = owner("POST", "/api/v1/admin/products", json_body=product_body(clothing))
    assert created.status == 201 and created.json()["vendor_id"] == str(nakshi.pk)

    for_other = owner(
        "POST", "/api/v1/admin/products", json_body=product_body(clothing, vendor=str(tant.pk))
    )
    assert (for_other.status, for_other.json()["error"]["code"]) == (403, "forbidden")
    featured = owner(
        "POST", "/api/v1/admin/products", json_body=product_body(clothing, is_featured=True)
    )
    assert featured.status == 403 and "is_featured" in featured.json()["error"]["fields"]

    theirs = factories.product(category=clothing, vendor=tant)
    ours = factories.product(category=clothing)  # the store's own
    for product in (theirs, ours):
        url = f"/api/v1/admin/products/{product.pk}"
        assert owner("PATCH", url, json_body={"price": "1.00"}).status == 403
        assert owner("DELETE", url).status == 403
        assert owner("GET", url).status == 403
    moved_away = owner(
        "PATCH",
        f"/api/v1/admin/products/{created.json()['id']}",
        json_body={"vendor": str(tant.pk)},
    )
    assert moved_away.status == 403
    theirs.refresh_from_db()
    assert theirs.price == Decimal("100.00") and Product.objects.filter(vendor=nakshi).count() == 1

    listed = owner("GET", "/api/v1/admin/products").json()
    assert [item["id"] for item in listed["items"]] == [created.json()["id"]]
    assert owner("GET", f"/api/v1/admin/products?vendor={tant.pk}").status == 403
    staff_view = as_user(people["staff"])("GET", "/api/v1/admin/products").json()
    assert staff_view["count"] == 3


def test_a_member_of_several_vendors_names_the_vendor(people, as_user, clothing):
    both = as_user(people["both"])
    missing = both("POST", "/api/v1/admin/products", json_body=product_body(clothing))
    assert (missing.status, missing.json()["error"]["code"]) == (422, "vendor_required")
    tant = str(people["vendor_tant"].pk)
    named = both("POST", "/api/v1/admin/products", json_body=product_body(clothing, vendor=tant))
    assert named.status == 201 and named.json()["vendor_id"] == tant


def test_customers_and_storefront_keys_are_refused(people, as_user, clothing):
    product = factories.product(category=clothing)
    customer = as_user(people["customer"])
    for method, url in (
        ("GET", "/api/v1/admin/products"),
        ("DELETE", f"/api/v1/admin/products/{product.pk}"),
    ):
        response = customer(method, url)
        assert (response.status, response.json()["error"]["code"]) == (403, "forbidden")

    key, _ = api_key_create(name="shop", kind="publishable", scopes=["storefront:read"])
    api_key_record_fill(key_id=key.key_id)
    through_storefront_key = as_user(people["admin"], key={"X-API-Key": key.key_id})
    for router in ("products", "categories"):
        response = through_storefront_key("GET", f"/api/v1/admin/{router}")
        assert (response.status, response.json()["error"]["code"]) == (403, "scope_denied")
    assert Product.objects.filter(pk=product.pk).exists()


# --- the management list ------------------------------------------------------------------


def test_management_list_filters_and_query_count(
    staff, people, clothing, django_assert_num_queries
):
    saree = factories.category(parent=clothing, name_en="Saree", slug="saree")
    jamdani = factories.product(
        category=saree, name_en="Jamdani", name_bn=BANGLA, vendor=people["vendor_nakshi"]
    )
    variation(jamdani, "Free", "JAM-FREE")
    factories.product(category=clothing, is_active=False, sku="DRAFT-1")

    with django_assert_num_queries(4):  # count, page, variations, primary images
        first = staff("GET", "/api/v1/admin/products?page_size=1").json()
    for n in range(12):
        extra = factories.product(category=clothing, images=2)
        factories.variation(product=extra, value=f"S{n}")
    with django_assert_num_queries(4):
        many = staff("GET", "/api/v1/admin/products?page_size=50").json()
    assert (first["count"], many["count"], len(many["items"])) == (2, 14, 14)
    assert all(item["image_url"] for item in many["items"])

    def slugs(query: str) -> list[str]:
        return [
            item["slug"]
            for item in staff("GET", f"/api/v1/admin/products?{quote(query, safe='=&')}").json()[
                "items"
            ]
        ]

    assert slugs(f"category={clothing.pk}&q=jam") == [jamdani.slug]  # subcategories included
    assert slugs("q=বোনা") == slugs("q=jam-free") == [jamdani.slug]  # Bangla name, variation SKU
    assert slugs(f"vendor={people['vendor_nakshi'].pk}") == [jamdani.slug]
    assert len(slugs("is_active=false")) == 1


def test_variations_may_use_any_axis_but_only_slug_like_names(staff, clothing):
    gamchha = variation_body("Checked", "GAM-1-C", variation_type="Pattern", value_bn="চেক")
    created = staff(
        "POST", "/api/v1/admin/products", json_body=product_body(clothing, variations=[gamchha])
    )
    assert created.status == 201, created.body
    assert created.json()["variations"][0]["variation_type"] == "pattern"
    hostile = variation_body("Checked", "GAM-2-C", variation_type="<b>pattern</b>")
    refused = staff(
        "POST", "/api/v1/admin/products", json_body=product_body(clothing, variations=[hostile])
    )
    assert refused.status == 422
    assert "variations.0.variation_type" in refused.json()["error"]["fields"]
