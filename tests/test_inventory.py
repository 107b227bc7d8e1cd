"""Stock adjustments: audit trail, never below what is allocated, variations keep their
product's total, safe under concurrency; the inventory admin API and who may use it."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

import api.inventory
from db.models import Product, StockAdjustment, User, UserRole, Vendor, VendorMember
from lib.access.api_key_cache import api_key_record_fill
from lib.access.api_keys import api_key_create
from lib.access.sessions import session_start
from lib.errors import ApiError
from lib.inventory import StockChange, stock_adjust, stock_adjust_many
from tests import factories
from tests.support import call

pytestmark = pytest.mark.django_db
URL = "/api/v1/admin/inventory"


# --- helpers shared with test_inventory_alerts -------------------------------------------


def make_user(email: str, role: str, *, vendor: Vendor | None = None, **fields) -> User:
    user = User.objects.create_user(email=email, role=role, **fields)
    if vendor is not None:
        member_role = "owner" if role == UserRole.VENDOR_OWNER else "staff"
        VendorMember.objects.create(vendor=vendor, user=user, role=member_role)
    return user


def key_headers(*scopes: str) -> dict[str, str]:
    """A secret key with `scopes`, its record already warm in KV."""
    key, secret = api_key_create(name="back office", kind="secret", scopes=list(scopes))
    api_key_record_fill(key_id=key.key_id)
    return {"X-API-Key": key.key_id, "X-API-Secret": secret}


def signed_in_caller():
    """Call the inventory API as a signed-in `user` through a key with `scopes` (one key per
    scopes and one session per user, made on first use)."""
    keys: dict[tuple[str, ...], dict[str, str]] = {}
    tokens: dict[object, str] = {}

    def as_user(user, method, url, *, scopes=("catalog:manage",), headers=None, **kwargs):
        if scopes not in keys:
            keys[scopes] = key_headers(*scopes)
        if user.pk not in tokens:
            session = session_start(user=user, ip="127.0.0.1", user_agent="test")
            tokens[user.pk] = session.access_token
        signed = {**keys[scopes], "Authorization": f"Bearer {tokens[user.pk]}"}
        return call(api.inventory.app, method, url, headers={**signed, **(headers or {})}, **kwargs)

    return as_user


@pytest.fixture
def as_user(kv):
    return signed_in_caller()


@pytest.fixture
def shop():
    """Two vendors' products and one of the store's own, with a staff member and vendor
    users."""
    nakshi = Vendor.objects.create(name="Nakshi", slug="nakshi", status="active")
    other = Vendor.objects.create(name="Aarong Lite", slug="aarong-lite", status="active")
    category = factories.category()
    return {
        "category": category,
        "nakshi": nakshi,
        "other": other,
        "own": factories.product(category=category, sku="OWN-1", quantity=10),
        "vendor_item": factories.product(category=category, vendor=nakshi, sku="NAK-1"),
        "other_item": factories.product(category=category, vendor=other, sku="OTH-1"),
        "staff": make_user("kamal@zest.test", UserRole.STAFF),
        "owner": make_user("rina@nakshi.test", UserRole.VENDOR_OWNER, vendor=nakshi),
        "vendor_staff": make_user("tuhin@nakshi.test", UserRole.VENDOR_STAFF, vendor=nakshi),
    }


def refused(function, **kwargs) -> ApiError:
    with pytest.raises(ApiError) as error:
        function(**kwargs)
    return error.value


def product_with_variations(category, *quantities: int) -> tuple[Product, list]:
    product = factories.product(category=category, quantity=sum(quantities))
    variations = [
        factories.variation(product=product, value=f"V{index}", quantity=quantity)
        for index, quantity in enumerate(quantities)
    ]
    return product, variations


# --- the services --------------------------------------------------------------------------


def test_adjustments_move_stock_and_keep_an_audit_trail(shop):
    product, staff = shop["own"], shop["staff"]

    received = stock_adjust(product=product, delta=5, reason="received", actor_id=staff.pk)
    damaged = stock_adjust(product=product, delta=-3, reason="damaged", note="wet carton")

    product.refresh_from_db()
    assert product.quantity == 12
    trail = list(StockAdjustment.objects.filter(product=product).order_by("created_at"))
    assert [(row.delta, row.quantity_after, row.reason) for row in trail] == [
        (5, 15, "received"),
        (-3, 12, "damaged"),
    ]
    assert trail == [received, damaged]
    assert (trail[0].actor_id, trail[1].note) == (staff.pk, "wet carton")


def test_stock_never_goes_below_what_is_allocated_or_zero(shop):
    product = shop["own"]
    Product.objects.filter(pk=product.pk).update(quantity=10, allocated=4)
    product.refresh_from_db()

    error = refused(stock_adjust, product=product, delta=-7, reason="damaged")

    assert (error.status_code, error.code) == (409, "insufficient_stock")
    assert "at most 6 can be removed" in error.fields["delta"][0]
    product.refresh_from_db()
    assert (product.quantity, product.allocated) == (10, 4)
    assert not StockAdjustment.objects.exists()
    stock_adjust(product=product, delta=-6, reason="correction")
    product.refresh_from_db()
    assert product.quantity == 4
    empty = factories.product(category=shop["category"], quantity=2)
    assert refused(stock_adjust, product=empty, delta=-3, reason="sold").code == (
        "insufficient_stock"
    )
    empty.refresh_from_db()
    assert empty.quantity == 2


def test_invalid_changes_are_refused_before_anything_is_locked(shop):
    product = shop["own"]
    assert refused(stock_adjust, product=product, delta=0, reason="received").status_code == 422
    assert refused(stock_adjust, product=product, delta=1, reason="gift").fields["reason"]
    product.refresh_from_db()
    assert product.quantity == 10


def test_a_variation_change_moves_its_products_total_in_the_same_transaction(shop):
    product, (small, large) = product_with_variations(shop["category"], 3, 2)

    adjustment = stock_adjust(product=product, variation=small, delta=4, reason="received")
    stock_adjust(product=product, variation=large, delta=-2, reason="sold")

    product.refresh_from_db()
    small.refresh_from_db()
    large.refresh_from_db()
    assert (small.quantity, large.quantity, product.quantity) == (7, 0, 7)
    assert (adjustment.variation_id, adjustment.quantity_after) == (small.pk, 7)
    # The stock of a product with variations is kept on them only.
    error = refused(stock_adjust, product=product, delta=1, reason="received")
    assert (error.status_code, error.code) == (422, "variation_required")
    # A variation of another product is not found.
    _, (stranger,) = product_with_variations(shop["category"], 1)
    assert refused(stock_adjust, product=product, variation=stranger, delta=1, reason="received")
    assert refused(
        stock_adjust, product=product, variation=large, delta=-1, reason="sold"
    ).code == ("insufficient_stock")


def test_a_batch_is_all_or_nothing(shop):
    own, vendor_item = shop["own"], shop["vendor_item"]
    items = [
        StockChange(product_id=own.pk, delta=5, reason="received"),
        StockChange(product_id=vendor_item.pk, delta=-11, reason="damaged"),
    ]

    assert refused(stock_adjust_many, items=items).code == "insufficient_stock"

    own.refresh_from_db()
    assert own.quantity == 10
    assert not StockAdjustment.objects.exists()


def test_a_batch_costs_the_same_queries_whatever_its_size(shop):
    category = shop["category"]

    def batch_queries(size: int) -> tuple[int, Product]:
        products = [factories.product(category=category, images=0) for _ in range(size)]
        parent, variations = product_with_variations(category, *[4] * size)
        items = [StockChange(product_id=p.pk, delta=2, reason="received") for p in products]
        items += [
            StockChange(product_id=parent.pk, variation_id=v.pk, delta=-1, reason="sold")
            for v in variations
        ]
        with CaptureQueriesContext(connection) as queries:
            stock_adjust_many(items=items)
        parent.refresh_from_db()
        return len(queries), parent

    small, _ = batch_queries(2)
    large, parent = batch_queries(7)
    # savepoint, lock products, lock variations, 2 updates, insert audit rows, release
    assert small == large == 7
    assert parent.quantity == 21 == sum(parent.variations.values_list("quantity", flat=True))


def test_the_catalog_cache_is_invalidated_after_commit(shop, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        stock_adjust(product=shop["own"], delta=1, reason="returned")
    assert len(callbacks) == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_removals_never_oversell():
    product = factories.product(category=factories.category(), quantity=5, images=0)
    start = threading.Barrier(10)
    outcomes: list[str] = []
    lock = threading.Lock()

    def remove_one() -> None:
        try:
            start.wait()
            stock_adjust(product=product, delta=-1, reason="sold")
            outcome = "sold"
        except ApiError as error:
            outcome = error.code
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=remove_one) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["insufficient_stock"] * 5 + ["sold"] * 5
    product.refresh_from_db()
    assert product.quantity == 0
    after = sorted(StockAdjustment.objects.values_list("quantity_after", flat=True))
    assert after == [0, 1, 2, 3, 4]


# --- the admin API -------------------------------------------------------------------------


def test_staff_adjust_stock_through_the_api(shop, as_user):
    body = {"product_id": str(shop["own"].pk), "delta": -4, "reason": "damaged", "note": "rain"}

    response = as_user(shop["staff"], "POST", f"{URL}/adjustments", json_body=body)

    assert response.status == 201
    data = response.json()
    assert (data["sku"], data["delta"], data["quantity_after"], data["reason"]) == (
        "OWN-1",
        -4,
        6,
        "damaged",
    )
    assert data["actor_id"] == str(shop["staff"].pk)


def test_refusals_are_explained_in_the_callers_language(shop, as_user):
    body = {"product_id": str(shop["own"].pk), "delta": -11, "reason": "sold"}

    english = as_user(shop["staff"], "POST", f"{URL}/adjustments", json_body=body)
    bangla = as_user(
        shop["staff"],
        "POST",
        f"{URL}/adjustments",
        json_body=body,
        headers={"Accept-Language": "bn"},
    )

    assert (english.status, english.json()["error"]["code"]) == (409, "insufficient_stock")
    assert "allocated" in english.json()["error"]["message"]
    assert "যথেষ্ট স্টক নেই" in bangla.json()["error"]["message"]
    zero = as_user(shop["staff"], "POST", f"{URL}/adjustments", json_body={**body, "delta": 0})
    assert (zero.status, list(zero.json()["error"]["fields"])) == (422, ["delta"])


def test_bulk_adjustments_through_the_api(shop, as_user):
    parent, (small,) = product_with_variations(shop["category"], 2)
    items = [
        {"product_id": str(shop["own"].pk), "delta": 3, "reason": "received"},
        {
            "product_id": str(parent.pk),
            "variation_id": str(small.pk),
            "delta": 8,
            "reason": "received",
        },
    ]

    response = as_user(shop["staff"], "POST", f"{URL}/adjustments/bulk", json_body={"items": items})

    assert response.status == 201
    assert [(row["sku"], row["quantity_after"]) for row in response.json()["items"]] == [
        ("OWN-1", 13),
        (small.sku, 10),
    ]
    parent.refresh_from_db()
    assert parent.quantity == 10
    empty = as_user(shop["staff"], "POST", f"{URL}/adjustments/bulk", json_body={"items": []})
    assert empty.status == 422


def test_history_filters_paginates_and_costs_two_queries(shop, as_user, django_assert_num_queries):
    for delta in (5, -1, 2):
        stock_adjust(product=shop["own"], delta=delta, reason="received" if delta > 0 else "sold")
    for _ in range(3):
        stock_adjust(product=shop["other_item"], delta=1, reason="returned")
    staff = shop["staff"]

    own = as_user(staff, "GET", f"{URL}/adjustments?product_id={shop['own'].pk}").json()
    with django_assert_num_queries(2):  # the count and the page
        page = as_user(staff, "GET", f"{URL}/adjustments?page_size=4").json()
    sold = as_user(staff, "GET", f"{URL}/adjustments?reason=sold").json()

    assert (page["count"], page["pages"], len(page["items"])) == (6, 2, 4)
    assert [row["delta"] for row in own["items"]] == [2, -1, 5]  # newest first
    assert [row["sku"] for row in sold["items"]] == ["OWN-1"]


def test_vendor_users_manage_only_their_own_vendors_stock(shop, as_user):
    def adjust(user, product, **kwargs):
        body = {"product_id": str(product.pk), "delta": 1, "reason": "received"}
        return as_user(user, "POST", f"{URL}/adjustments", json_body=body, **kwargs)

    for user in (shop["owner"], shop["vendor_staff"]):
        assert adjust(user, shop["vendor_item"]).status == 201
        assert adjust(user, shop["other_item"]).status == 403
        assert adjust(user, shop["own"]).status == 403  # the store's own products
    assert adjust(shop["owner"], shop["vendor_item"], scopes=("vendor:manage",)).status == 403
    mixed = [
        {"product_id": str(shop["vendor_item"].pk), "delta": 1, "reason": "received"},
        {"product_id": str(shop["other_item"].pk), "delta": 1, "reason": "received"},
    ]
    batch = as_user(shop["owner"], "POST", f"{URL}/adjustments/bulk", json_body={"items": mixed})
    assert batch.status == 403
    shop["vendor_item"].refresh_from_db()
    shop["other_item"].refresh_from_db()
    assert (shop["vendor_item"].quantity, shop["other_item"].quantity) == (12, 10)

    stock_adjust(product=shop["other_item"], delta=2, reason="received")
    history = as_user(shop["vendor_staff"], "GET", f"{URL}/adjustments").json()
    assert {row["sku"] for row in history["items"]} == {"NAK-1"}


def test_who_may_call_the_inventory_api(shop, as_user):
    body = {"product_id": str(shop["own"].pk), "delta": 1, "reason": "received"}
    customer = make_user("nusrat@zest.test", UserRole.CUSTOMER)
    support = make_user("help@zest.test", UserRole.SUPPORT)
    admin = make_user("root@zest.test", UserRole.ADMIN)

    def status(user, **kwargs) -> tuple[int, str | None]:
        response = as_user(user, "POST", f"{URL}/adjustments", json_body=body, **kwargs)
        return response.status, response.json().get("error", {}).get("code")

    assert status(customer) == (403, "forbidden")
    assert status(support) == (403, "forbidden")
    assert status(admin) == (201, None)
    assert status(shop["staff"], scopes=("storefront:read",)) == (403, "scope_denied")
    signed_out = call(
        api.inventory.app,
        "POST",
        f"{URL}/adjustments",
        json_body=body,
        headers=key_headers("catalog:manage"),
    )
    assert (signed_out.status, signed_out.json()["error"]["code"]) == (401, "unauthenticated")


def test_low_stock_report_lists_items_at_or_below_threshold(
    shop, as_user, django_assert_num_queries
):
    category, nakshi = shop["category"], shop["nakshi"]
    factories.product(category=category, sku="LOW-1", quantity=5, low_stock_threshold=5)
    held = factories.product(category=category, sku="HELD-1", quantity=8, vendor=nakshi)
    factories.reservation(product=held, quantity=4)  # 4 available, threshold 5
    factories.product(category=category, sku="DRAFT-1", quantity=0, is_active=False)
    parent, (small, large) = product_with_variations(category, 0, 9)
    parent.vendor = nakshi
    parent.save(update_fields=["vendor"])

    vendor_view = as_user(shop["owner"], "GET", f"{URL}/low-stock").json()
    as_user(shop["staff"], "GET", f"{URL}/low-stock?page=2")  # signed in
    with django_assert_num_queries(2):
        report = as_user(shop["staff"], "GET", f"{URL}/low-stock").json()

    rows = [(row["sku"], row["available"], row["status"]) for row in report["items"]]
    assert rows == [
        (small.sku, 0, "out_of_stock"),
        ("HELD-1", 4, "low_stock"),
        ("LOW-1", 5, "low_stock"),
    ]
    variation_row = report["items"][0]
    assert (variation_row["product_id"], variation_row["variation_value_en"]) == (
        str(parent.pk),
        "V0",
    )
    assert variation_row["name_bn"] == parent.name_bn
    assert [row["sku"] for row in vendor_view["items"]] == [small.sku, "HELD-1"]
    assert large.sku not in {row["sku"] for row in report["items"]}
