"""Discounts: which ones a cart gets and how much (kinds, caps, windows, limits, scopes,
stacking, automatic promotions), counting their use once per order under concurrency, and
the staff administration API."""

from __future__ import annotations

import itertools
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import api.discounts
from db.models import Discount, DiscountRedemption, Order, User, UserRole, Vendor
from lib.access.api_key_cache import api_key_record_fill
from lib.access.api_keys import api_key_create
from lib.access.sessions import session_start
from lib.checkout.pricing import PricedLine
from lib.discounts import (
    AppliedDiscount,
    discount_errors_translate,
    discounts_apply,
    discounts_redeem,
)
from lib.errors import ApiError
from tests import factories
from tests.support import call

pytestmark = pytest.mark.django_db
URL = "/api/v1/admin/discounts"
_numbers = itertools.count(1)


def priced(product, quantity: int = 1) -> PricedLine:
    return PricedLine(
        product=product,
        variation=None,
        quantity=quantity,
        unit_price=product.price,
        line_total=product.price * quantity,
        category_id=product.category_id,
        vendor_id=product.vendor_id,
    )


def discount(**fields) -> Discount:
    defaults = {"name": "Offer", "kind": "percentage", "value": Decimal("10")}
    return Discount.objects.create(**{**defaults, **fields})


def order() -> Order:
    return Order.objects.create(number=f"ZS-TEST-{next(_numbers):06d}", payment_method="cod")


def apply(lines, codes=(), *, shipping="60", customer_key=None):
    return discounts_apply(
        lines=lines, shipping=Decimal(shipping), codes=list(codes), customer_key=customer_key
    )


@pytest.fixture
def shop():
    nakshi = Vendor.objects.create(name="Nakshi", slug="nakshi", status="active")
    sarees, books = factories.category(), factories.category()
    return {
        "nakshi": nakshi,
        "sarees": sarees,
        "books": books,
        "saree": factories.product(category=sarees, price=Decimal("1000.00"), images=0),
        "shawl": factories.product(
            category=sarees, vendor=nakshi, price=Decimal("500.00"), images=0
        ),
        "book": factories.product(category=books, price=Decimal("250.00"), images=0),
    }


# --- kinds, caps, rounding ------------------------------------------------------------------


def test_percentage_rounds_half_up_and_is_capped(shop):
    discount(code="TEN", value=Decimal("12.5"))
    discount(code="CAPPED", value=Decimal("50"), max_discount=Decimal("300"), stackable=True)
    lines = [priced(shop["book"]), priced(shop["saree"])]  # 1250.00

    result = apply(lines, ["ten"])
    assert result.items_discount == Decimal("156.25")
    assert [(a.code, a.amount) for a in result.applied] == [("TEN", Decimal("156.25"))]
    assert result.errors == {}

    line = PricedLine(
        product=shop["book"],
        variation=None,
        quantity=1,
        unit_price=Decimal("0.05"),
        line_total=Decimal("0.05"),
        category_id=shop["book"].category_id,
        vendor_id=None,
    )
    assert apply([line], ["TEN"]).items_discount == Decimal("0.01")  # 0.00625 -> 0.01
    assert apply(lines, ["capped"]).items_discount == Decimal("300.00")


def test_fixed_never_exceeds_the_subtotal_and_free_shipping_covers_shipping(shop):
    discount(code="BIG", kind="fixed", value=Decimal("5000"))
    discount(code="SHIPFREE", kind="free_shipping", value=0, stackable=True)

    result = apply([priced(shop["book"], 2)], ["BIG", "shipfree"], shipping="120")

    assert result.items_discount == Decimal("500.00")
    assert result.shipping_discount == Decimal("120.00")
    assert sorted((a.code, a.amount, a.kind) for a in result.applied) == [
        ("BIG", Decimal("500.00"), "fixed"),
        ("SHIPFREE", Decimal("120.00"), "free_shipping"),
    ]


# --- rules and errors per code ----------------------------------------------------------------


def test_each_unusable_code_is_reported_with_its_reason(shop):
    now = timezone.now()
    discount(code="OLD", ends_at=now - timedelta(minutes=1))
    discount(code="SOON", starts_at=now + timedelta(hours=1))
    discount(code="BIGSPEND", min_order=Decimal("2000"))
    discount(code="GONE", usage_limit=3, times_used=3)
    discount(code="OFF", is_active=False)
    books_only = discount(code="BOOKS")
    books_only.categories.add(shop["books"])
    once = discount(code="ONCE", usage_limit_per_customer=1)
    DiscountRedemption.objects.create(
        discount=once, order=order(), customer_key="+8801712345678", amount=Decimal("10")
    )
    codes = ["old", "Soon", "BIGSPEND", "gone", "off", "nope", "books", "once", " ", "OLD"]

    result = apply([priced(shop["saree"])], codes, customer_key="+8801712345678")

    assert result.applied == []
    assert result.items_discount == Decimal("0.00")
    assert result.errors == {
        "old": ["coupon_expired"],
        "Soon": ["coupon_not_started"],
        "BIGSPEND": ["coupon_min_order"],
        "gone": ["coupon_used_up"],
        "off": ["coupon_invalid"],
        "nope": ["coupon_invalid"],
        "books": ["coupon_not_applicable"],
        "once": ["coupon_customer_limit"],
    }
    # another customer may still use ONCE
    other = apply([priced(shop["saree"])], ["ONCE"], customer_key="+8801812345678")
    assert [a.code for a in other.applied] == ["ONCE"]
    bn = discount_errors_translate({"old": ["coupon_expired"]}, "bn")
    assert bn == {"old": ["এই কুপনের মেয়াদ শেষ হয়ে গেছে।"]}


def test_window_and_min_order_are_met_at_their_bounds(shop):
    now = timezone.now()
    discount(
        code="NOW",
        starts_at=now - timedelta(seconds=1),
        ends_at=now + timedelta(hours=1),
        min_order=Decimal("1000.00"),
    )
    assert apply([priced(shop["saree"])], ["NOW"]).items_discount == Decimal("100.00")


# --- scope ---------------------------------------------------------------------------------


def test_scoped_discounts_use_only_matching_lines(shop):
    by_category = discount(code="SAREES", value=Decimal("10"))
    by_category.categories.add(shop["sarees"])
    by_product = discount(code="BOOK", kind="fixed", value=Decimal("400"))
    by_product.products.add(shop["book"])
    by_vendor = discount(code="NAKSHI", value=Decimal("20"), min_order=Decimal("600"))
    by_vendor.vendors.add(shop["nakshi"])
    lines = [priced(shop["saree"]), priced(shop["shawl"]), priced(shop["book"])]

    assert apply(lines, ["SAREES"]).items_discount == Decimal("150.00")  # 10% of 1500
    assert apply(lines, ["BOOK"]).items_discount == Decimal("250.00")  # capped by the line
    # min order is checked against the vendor's lines only (500 < 600)
    assert apply(lines, ["NAKSHI"]).errors == {"NAKSHI": ["coupon_min_order"]}
    assert apply([*lines, priced(shop["shawl"])], ["NAKSHI"]).items_discount == Decimal("200.00")


def test_flagged_lines_take_no_discount(shop):
    discount(code="TEN")
    flagged = priced(shop["saree"])
    flagged.problem = "out_of_stock"
    assert apply([flagged, priced(shop["book"])], ["TEN"]).items_discount == Decimal("25.00")


# --- stacking and automatic promotions ------------------------------------------------------


def test_best_non_stackable_wins_and_stackables_add_up(shop):
    discount(code="TEN", value=Decimal("10"))  # 125
    discount(code="FLAT200", kind="fixed", value=Decimal("200"))  # 200: best
    discount(code="EXTRA", kind="fixed", value=Decimal("50"), stackable=True)
    discount(name="Eid free delivery", code=None, kind="free_shipping", stackable=True)
    lines = [priced(shop["saree"]), priced(shop["book"])]

    result = apply(lines, ["TEN", "FLAT200", "EXTRA"], shipping="80")

    assert sorted((a.code or a.name, a.amount) for a in result.applied) == [
        ("EXTRA", Decimal("50.00")),
        ("Eid free delivery", Decimal("80.00")),
        ("FLAT200", Decimal("200.00")),
    ]
    assert (result.items_discount, result.shipping_discount) == (
        Decimal("250.00"),
        Decimal("80.00"),
    )
    assert result.errors == {"TEN": ["coupon_not_combinable"]}


def test_equal_amounts_go_to_the_higher_priority(shop):
    low = discount(code="LOW", kind="fixed", value=Decimal("100"), priority=1)
    high = discount(code="HIGH", kind="fixed", value=Decimal("100"), priority=5)
    result = apply([priced(shop["saree"])], ["LOW", "HIGH"])
    assert [a.discount_id for a in result.applied] == [high.pk]
    assert result.errors == {"LOW": ["coupon_not_combinable"]}
    assert low.pk not in {a.discount_id for a in result.applied}


def test_automatic_promotion_applies_without_a_code_and_can_lose_to_a_coupon(shop):
    promotion = discount(name="Pohela Boishakh", code=None, value=Decimal("5"))
    discount(name="Expired promo", code=None, ends_at=timezone.now() - timedelta(days=1))
    lines = [priced(shop["saree"])]

    automatic = apply(lines)
    assert [(a.discount_id, a.code, a.amount) for a in automatic.applied] == [
        (promotion.pk, None, Decimal("50.00"))
    ]
    discount(code="BETTER", value=Decimal("15"))
    better = apply(lines, ["better"])
    assert [a.code for a in better.applied] == ["BETTER"]
    assert better.errors == {}  # a losing promotion is not an error


def test_stacked_discounts_never_exceed_the_subtotal(shop):
    discount(code="A", kind="fixed", value=Decimal("200"), stackable=True)
    discount(code="B", kind="fixed", value=Decimal("200"), stackable=True)
    result = apply([priced(shop["book"])], ["A", "B"])
    assert result.items_discount == Decimal("250.00")
    assert sorted(a.amount for a in result.applied) == [Decimal("50.00"), Decimal("200.00")]


def test_apply_reads_in_two_queries_whatever_the_number_of_codes(shop):
    for index in range(5):
        item = discount(code=f"C{index}", stackable=True)
        item.categories.add(shop["sarees"])
        item.vendors.add(shop["nakshi"])
    discount(name="promo", code=None, stackable=True).products.add(shop["book"])
    lines = [priced(shop["saree"]), priced(shop["book"])]
    with CaptureQueriesContext(connection) as queries:
        result = apply(lines, [f"c{i}" for i in range(5)], customer_key="+8801712345678")
    assert len(queries) == 2
    assert len(result.applied) == 6


# --- redemption --------------------------------------------------------------------------


def test_redeem_counts_once_per_order_even_when_retried(shop):
    coupon = discount(code="ONCE", usage_limit=10)
    applied = apply([priced(shop["saree"])], ["ONCE"]).applied
    placed = order()

    for _ in range(2):
        with transaction.atomic():
            discounts_redeem(order=placed, applied=applied, customer_key="k1", user_id=None)

    coupon.refresh_from_db()
    assert coupon.times_used == 1
    redemption = DiscountRedemption.objects.get(discount=coupon)
    assert (redemption.order_id, redemption.customer_key, redemption.amount) == (
        placed.pk,
        "k1",
        Decimal("100.00"),
    )


def test_redeem_refuses_a_limit_reached_meanwhile(shop):
    coupon = discount(code="LAST", usage_limit=1, usage_limit_per_customer=1)
    applied = [AppliedDiscount(coupon.pk, "LAST", "Offer", Decimal("10.00"))]
    discounts_redeem(order=order(), applied=applied, customer_key="k1", user_id=None)
    with pytest.raises(ApiError) as error:
        discounts_redeem(order=order(), applied=applied, customer_key="k2", user_id=None)
    assert (error.value.status_code, error.value.code) == (409, "coupon_used_up")

    per_customer = discount(code="PERCUST", usage_limit_per_customer=1)
    applied = [AppliedDiscount(per_customer.pk, "PERCUST", "Offer", Decimal("10.00"))]
    discounts_redeem(order=order(), applied=applied, customer_key="k1", user_id=None)
    with pytest.raises(ApiError) as error:
        discounts_redeem(order=order(), applied=applied, customer_key="k1", user_id=None)
    assert error.value.code == "coupon_customer_limit"
    assert error.value.fields == {"coupon_codes": ["PERCUST: coupon_customer_limit"]}
    discounts_redeem(order=order(), applied=applied, customer_key="k2", user_id=None)


@pytest.mark.django_db(transaction=True)
def test_concurrent_redemptions_never_exceed_the_usage_limit():
    coupon = discount(code="FLASH", usage_limit=5)
    orders = [order() for _ in range(20)]
    applied = [AppliedDiscount(coupon.pk, "FLASH", "Flash", Decimal("10.00"))]
    start = threading.Barrier(20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def place(placed: Order, index: int) -> None:
        try:
            start.wait()
            with transaction.atomic():
                discounts_redeem(
                    order=placed, applied=applied, customer_key=f"c{index}", user_id=None
                )
            outcome = "redeemed"
        except ApiError as error:
            outcome = error.code
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=place, args=(o, i)) for i, o in enumerate(orders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["coupon_used_up"] * 15 + ["redeemed"] * 5
    coupon.refresh_from_db()
    assert coupon.times_used == 5
    assert DiscountRedemption.objects.filter(discount=coupon).count() == 5


# --- administration API -------------------------------------------------------------------


@pytest.fixture
def as_user(kv):
    key, secret = api_key_create(name="back office", kind="secret", scopes=["orders:manage"])
    api_key_record_fill(key_id=key.key_id)
    headers = {"X-API-Key": key.key_id, "X-API-Secret": secret}

    def caller(user, method, url, **kwargs):
        session = session_start(user=user, ip="127.0.0.1", user_agent="test")
        signed = {**headers, "Authorization": f"Bearer {session.access_token}"}
        return call(api.discounts.app, method, url, headers=signed, **kwargs)

    return caller


@pytest.fixture
def staff():
    return User.objects.create_user(email="kamal@zest.test", role=UserRole.STAFF)


def test_staff_create_update_list_and_deactivate_discounts(as_user, staff, shop):
    body = {
        "code": "Eid25",
        "name": "Eid sale",
        "kind": "percentage",
        "value": "25",
        "max_discount": "500",
        "category_ids": [str(shop["sarees"].pk)],
        "vendor_ids": [str(shop["nakshi"].pk)],
    }
    created = as_user(staff, "POST", URL, json_body=body)
    assert created.status == 201, created.body
    data = created.json()
    assert (data["code"], data["value"], data["times_used"]) == ("Eid25", "25.00", 0)
    assert data["category_ids"] == [str(shop["sarees"].pk)]

    taken = as_user(staff, "POST", URL, json_body={**body, "code": "EID25"})
    assert (taken.status, taken.json()["error"]["code"]) == (409, "discount_code_taken")

    patched = as_user(
        staff, "PATCH", f"{URL}/{data['id']}", json_body={"value": "30", "vendor_ids": []}
    )
    assert patched.status == 200, patched.body
    assert (patched.json()["value"], patched.json()["vendor_ids"]) == ("30.00", [])

    listed = as_user(staff, "GET", f"{URL}?q=eid&active=true")
    assert [item["id"] for item in listed.json()["items"]] == [data["id"]]

    off = as_user(staff, "POST", f"{URL}/{data['id']}/deactivate")
    assert (off.status, off.json()["is_active"]) == (200, False)
    assert apply([priced(shop["saree"])], ["EID25"]).errors == {"EID25": ["coupon_invalid"]}


def test_admin_validation(as_user, staff, shop):
    base = {"name": "Bad", "kind": "percentage", "value": "120"}
    too_much = as_user(staff, "POST", URL, json_body=base)
    assert (too_much.status, list(too_much.json()["error"]["fields"])) == (422, ["value"])
    now = timezone.now()
    backwards = {
        **base,
        "value": "10",
        "starts_at": now.isoformat(),
        "ends_at": (now - timedelta(days=1)).isoformat(),
    }
    response = as_user(staff, "POST", URL, json_body=backwards)
    assert (response.status, list(response.json()["error"]["fields"])) == (422, ["ends_at"])
    unknown = as_user(
        staff, "POST", URL, json_body={**base, "value": "10", "product_ids": [str(staff.pk)]}
    )
    assert (unknown.status, list(unknown.json()["error"]["fields"])) == (422, ["product_ids"])
    assert not Discount.objects.exists()


def test_customers_cannot_manage_discounts(as_user):
    customer = User.objects.create_user(email="rahim@example.com", role=UserRole.CUSTOMER)
    response = as_user(customer, "GET", URL)
    assert response.status == 403
