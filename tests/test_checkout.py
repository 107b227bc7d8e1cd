"""Checkout: the quote, placement (idempotent, atomic), one-click and the payment timeout."""

from __future__ import annotations

import importlib
import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import api.checkout
from db.models import Address, Discount, Order, OrderStatusEvent, OutboxMessage, Product, User
from lib.access.sessions import session_start
from lib.cart.store import cart_key, cart_line_add, cart_lines, line_field
from lib.checkout.placement import order_timeouts_sweep
from tests import factories
from tests.support import call

pytestmark = pytest.mark.django_db
URL = "/api/v1/checkout"
_keys = itertools.count(1)
_people = itertools.count(1)


@pytest.fixture(autouse=True)
def geo():
    importlib.import_module("migrations.0007_geo_and_shipping").geo_load(apps)


@pytest.fixture
def shop(kv):
    category = factories.category()
    return {
        "tea": factories.product(category=category, price=Decimal("500.00"), images=0),
        "cup": factories.product(category=category, price=Decimal("250.00"), images=0),
    }


@pytest.fixture
def person(server_key):
    def person(*, with_address: bool = True):
        user = User.objects.create_user(
            email=f"buyer-{next(_people)}@shop.test", password=None, role="customer"
        )
        if with_address:
            Address.objects.create(
                user=user,
                full_name="Rahim Uddin",
                phone="+8801712345678",
                address_line1="House 12, Road 5",
                city="Dhaka",
                division="Dhaka",
                is_default=True,
            )
        tokens = session_start(user=user, ip="127.0.0.1", user_agent="test")
        return user, {**server_key, "Authorization": f"Bearer {tokens.access_token}"}

    return person


def address(**fields) -> dict:
    return {
        "full_name": "Karim Ahmed",
        "phone": "01812345678",
        "address_line1": "Flat 3B, Road 7",
        "division": "Dhaka",
        "district": "Dhaka",
        **fields,
    }


def body(*products, quantity=1, **fields) -> dict:
    lines = [{"product_id": str(p.pk), "quantity": quantity} for p in products]
    return {"lines": lines, "address": address(), "email": "guest@shop.test", **fields}


def key() -> dict[str, str]:
    return {"Idempotency-Key": f"test-key-{next(_keys):08d}"}


def post(path, json_body, headers):
    return call(api.checkout.app, "POST", f"{URL}{path}", json_body=json_body, headers=headers)


def test_the_quote_is_exactly_what_placement_charges(shop, server_key):
    Discount.objects.create(name="Ten", code="TEN", kind="percentage", value=Decimal("10"))
    request = body(shop["tea"], shop["cup"], quantity=2, coupon_codes=["TEN"])

    quote = post("/quote", request, server_key)
    placed = post("/orders", request, {**server_key, **key()})

    assert quote.status == 200, quote.body
    data = quote.json()
    assert data["subtotal"] == {"amount": "1500.00", "currency": "BDT", "display": "৳1,500.00"}
    assert data["items_discount"]["amount"] == "150.00"
    assert data["shipping"]["zone"] == "inside_dhaka"
    assert data["shipping"]["rate"]["amount"] == "60.00"
    assert data["cod_fee"]["amount"] == "20.00"
    assert data["total"]["amount"] == "1430.00"
    assert [a["code"] for a in data["applied_discounts"]] == ["TEN"]
    assert data["delivery_estimate"]["days_min"] == 1
    assert placed.status == 201, placed.body
    order = placed.json()
    assert order["total"] == data["total"]
    assert order["status"] == "placed"
    assert order["number"].startswith("ZS-")
    tea = Product.objects.get(pk=shop["tea"].pk)
    assert (tea.quantity, tea.allocated) == (10, 2)
    saved = Order.objects.get(number=order["number"])
    assert saved.redemptions.count() == 1
    assert list(saved.status_events.values_list("to_status", flat=True)) == ["placed"]


def test_a_price_change_between_quote_and_placement_is_refused(shop, server_key):
    request = body(shop["tea"])
    total = post("/quote", request, server_key).json()["total"]["amount"]
    Product.objects.filter(pk=shop["tea"].pk).update(price=Decimal("550.00"))

    response = post("/orders", {**request, "expected_total": total}, {**server_key, **key()})

    assert response.status == 409
    error = response.json()["error"]
    assert error["code"] == "price_changed"
    assert error["fields"]["quote"]["total"] == "630.00"
    assert Order.objects.count() == 0
    assert Product.objects.get(pk=shop["tea"].pk).allocated == 0


def test_an_empty_cart_and_an_invalid_address_are_422(shop, person):
    _, headers = person()
    empty = post("/quote", {}, headers)
    bad = post("/quote", body(shop["tea"], address=address(district="Atlantis")), headers)

    assert (empty.status, empty.json()["error"]["code"]) == (422, "cart_empty")
    assert bad.status == 422
    assert "district" in bad.json()["error"]["fields"]


def refused_coupons(response) -> tuple[int, str, list[str]]:
    error = response.json()["error"]
    return response.status, error["code"], error["fields"].get("coupon_codes", [])


def test_an_unusable_coupon_refuses_the_quote_and_the_order(shop, server_key):
    past = timezone.now() - timedelta(days=1)
    Discount.objects.create(name="Old", code="OLD", kind="fixed", value=50, ends_at=past)
    Discount.objects.create(
        name="Gone", code="GONE", kind="fixed", value=50, usage_limit=1, times_used=1
    )
    Discount.objects.create(name="Big", code="BIG", kind="fixed", value=50, min_order=5000)
    reasons = {
        "OLD": "coupon_expired",
        "gone": "coupon_used_up",
        "BIG": "coupon_min_order",
        "NOPE": "coupon_invalid",
    }

    for code, reason in reasons.items():
        request = body(shop["tea"], coupon_codes=[code])
        quoted = post("/quote", request, server_key)
        placed = post("/orders", request, {**server_key, **key()})

        expected = (422, "coupon_invalid", [f"{code}: {reason}"])
        assert refused_coupons(quoted) == expected, quoted.body
        assert refused_coupons(placed) == expected, placed.body
    assert Order.objects.count() == 0
    assert Product.objects.get(pk=shop["tea"].pk).allocated == 0


def test_a_coupon_used_up_by_this_customer_refuses_their_next_order(shop, server_key):
    Discount.objects.create(
        name="Once", code="ONCE", kind="fixed", value=50, usage_limit_per_customer=1
    )
    request = body(shop["tea"], coupon_codes=["ONCE"])
    first = post("/orders", request, {**server_key, **key()})

    again = post("/orders", request, {**server_key, **key()})

    assert first.status == 201, first.body
    assert Order.objects.get(pk=first.json()["id"]).discount_total == Decimal("50.00")
    assert refused_coupons(again) == (422, "coupon_invalid", ["ONCE: coupon_customer_limit"])
    assert Order.objects.count() == 1
    assert Product.objects.get(pk=shop["tea"].pk).allocated == 1
    assert Discount.objects.get(code="ONCE").times_used == 1


def test_a_retry_of_an_order_that_used_up_its_coupon_replays_it(shop, server_key):
    Discount.objects.create(
        name="Once", code="ONCE", kind="fixed", value=50, usage_limit=1, usage_limit_per_customer=1
    )
    request = body(shop["tea"], coupon_codes=["ONCE"])
    headers = {**server_key, **key()}
    first = post("/orders", request, headers)

    retry = post("/orders", request, headers)

    assert (first.status, retry.status) == (201, 200), retry.body
    assert retry.json()["id"] == first.json()["id"]
    assert Discount.objects.get(code="ONCE").times_used == 1


def test_every_refused_code_is_listed_and_a_usable_one_does_not_save_the_request(shop, server_key):
    Discount.objects.create(name="Ten", code="TEN", kind="fixed", value=10)
    request = body(shop["tea"], coupon_codes=["TEN", "NOPE", "ALSO-NOPE"])

    response = post("/quote", request, server_key)

    status, code, listed = refused_coupons(response)
    assert (status, code) == (422, "coupon_invalid")
    assert sorted(listed) == ["ALSO-NOPE: coupon_invalid", "NOPE: coupon_invalid"]


def test_automatic_promotions_that_do_not_apply_are_skipped_quietly(shop, server_key):
    Discount.objects.create(name="Big spender", kind="fixed", value=100, min_order=5000)
    past = timezone.now() - timedelta(days=1)
    Discount.objects.create(name="Last week", kind="fixed", value=100, ends_at=past)
    request = body(shop["tea"])

    quoted = post("/quote", request, server_key)
    placed = post("/orders", request, {**server_key, **key()})

    assert quoted.status == 200, quoted.body
    assert quoted.json()["applied_discounts"] == []
    assert placed.status == 201, placed.body
    assert Order.objects.get(pk=placed.json()["id"]).discount_total == Decimal("0.00")


def test_a_line_without_its_required_variation_is_refused(shop, server_key):
    factories.variation(product=shop["tea"], value="Loose leaf", quantity=5)
    request = body(shop["tea"])

    quoted = post("/quote", request, server_key)
    placed = post("/orders", request, {**server_key, **key()})

    assert quoted.json()["stock_warnings"][0]["problem"] == "variation_required"
    assert (placed.status, placed.json()["error"]["code"]) == (422, "variation_required")
    assert placed.json()["error"]["fields"]["sku"] == [shop["tea"].sku]
    assert Order.objects.count() == 0


def test_cash_on_delivery_has_a_limit(shop, server_key):
    request = body(shop["tea"], quantity=10)
    Product.objects.filter(pk=shop["tea"].pk).update(price=Decimal("2500.00"))

    response = post("/orders", request, {**server_key, **key()})

    assert (response.status, response.json()["error"]["code"]) == (422, "cod_limit")
    assert Order.objects.count() == 0


def test_a_wallet_order_awaits_payment_until_a_due_time(shop, server_key):
    response = post("/orders", body(shop["tea"], payment_method="bkash"), {**server_key, **key()})

    assert response.status == 201, response.body
    order = response.json()
    assert (order["status"], order["cod_fee"]["amount"]) == ("awaiting_payment", "0.00")
    saved = Order.objects.get(pk=order["id"])
    remaining = saved.payment_due_at - saved.placed_at
    assert remaining == timedelta(minutes=30)


def test_guest_checkout_needs_an_email_or_a_phone(shop, server_key):
    request = body(shop["tea"])
    del request["email"]

    refused = post("/orders", request, {**server_key, **key()})
    quoted = post("/quote", request, server_key)
    bad_phone = post("/orders", {**request, "phone": "12345"}, {**server_key, **key()})
    placed = post("/orders", {**request, "phone": "01912345678"}, {**server_key, **key()})

    assert refused.json()["error"]["code"] == "guest_contact_required"
    assert quoted.status == 200
    assert (bad_phone.status, bad_phone.json()["error"]["code"]) == (422, "phone_invalid")
    assert placed.status == 201, placed.body
    order = Order.objects.get(pk=placed.json()["id"])
    assert order.user_id is None
    assert order.guest_phone == "+8801912345678"
    assert order.shipping_snapshot["district"] == "Dhaka"


def test_a_signed_in_cart_is_checked_out_and_cleared(
    shop, person, django_capture_on_commit_callbacks
):
    user, headers = person()
    cart = cart_key(user_id=str(user.pk), guest_token=None)
    cart_line_add(key=cart, field=line_field(str(shop["cup"].pk), None), quantity=3, cap=10)

    with django_capture_on_commit_callbacks(execute=True):
        response = post("/orders", {}, {**headers, **key()})

    assert response.status == 201, response.body
    assert response.json()["items"][0]["quantity"] == 3
    assert response.json()["subtotal"]["amount"] == "750.00"
    assert cart_lines(key=cart) == []
    email = OutboxMessage.objects.get(topic="email.send")
    assert email.payload["to"] == [user.email]
    assert email.payload["subject"] == f"Order {response.json()['number']} placed"  # English


def test_one_click_uses_the_default_address_and_last_payment_method(shop, person):
    user, headers = person()
    post("/orders", body(shop["cup"], payment_method="nagad"), {**headers, **key()})

    response = post("/one-click", {"product_id": str(shop["tea"].pk)}, {**headers, **key()})

    assert response.status == 201, response.body
    order = Order.objects.get(pk=response.json()["id"])
    assert (order.user_id, order.payment_method) == (user.pk, "nagad")
    assert order.shipping_address.user_id == user.pk


def test_the_same_key_returns_the_same_order_and_a_new_body_is_refused(shop, server_key):
    headers = {**server_key, **key()}
    first = post("/orders", body(shop["tea"]), headers)
    again = post("/orders", body(shop["tea"]), headers)
    other = post("/orders", body(shop["cup"]), headers)
    missing = post("/orders", body(shop["tea"]), server_key)

    assert (first.status, again.status) == (201, 200)
    assert again.json() == first.json()
    assert (other.status, other.json()["error"]["code"]) == (409, "idempotency_key_reused")
    assert (missing.status, missing.json()["error"]["code"]) == (422, "validation_error")
    assert list(missing.json()["error"]["fields"]) == ["Idempotency-Key"]
    assert Order.objects.count() == 1
    assert Product.objects.get(pk=shop["tea"].pk).allocated == 1
    assert OrderStatusEvent.objects.count() == 1


def placement_queries(server_key, products) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = post("/orders", body(*products), {**server_key, **key()})
    assert response.status == 201, response.body
    return len(queries)


def test_placement_queries_do_not_grow_with_the_lines(shop, server_key):
    category = factories.category()
    many = [factories.product(category=category, images=0) for _ in range(10)]
    placement_queries(server_key, [shop["cup"]])  # warm caches

    one = placement_queries(server_key, [shop["tea"]])
    ten = placement_queries(server_key, many)

    assert one == ten
    assert ten <= 40, ten


def test_the_timeout_cancels_unpaid_wallet_orders_and_releases_stock(shop, server_key):
    paid_late = post("/orders", body(shop["tea"], payment_method="bkash"), {**server_key, **key()})
    Order.objects.filter(pk=paid_late.json()["id"]).update(
        payment_due_at=timezone.now() - timedelta(minutes=1)
    )
    post("/orders", body(shop["tea"], payment_method="bkash"), {**server_key, **key()})
    assert Product.objects.get(pk=shop["tea"].pk).allocated == 2

    first = order_timeouts_sweep()
    second = order_timeouts_sweep()

    assert (first, second) == ({"cancelled": 1}, {"cancelled": 0})
    assert Order.objects.get(pk=paid_late.json()["id"]).status == "cancelled"
    assert Product.objects.get(pk=shop["tea"].pk).allocated == 1


def test_the_timeout_endpoint_needs_the_cron_secret():
    import api.cron_orders

    response = call(api.cron_orders.app, "GET", "/api/cron/order-timeouts")

    assert response.status == 401


def test_a_variation_is_priced_and_allocated_with_its_product(shop, server_key):
    shirt = factories.product(
        category=factories.category(), price=Decimal("800.00"), quantity=8, images=0
    )
    large = factories.variation(
        product=shirt, value="L", quantity=3, price_adjustment=Decimal("50.00")
    )
    factories.variation(product=shirt, value="M", quantity=5)
    line = {"product_id": str(shirt.pk), "variation_id": str(large.pk), "quantity": 3}
    request = {**body(), "lines": [line]}

    too_many = post(
        "/orders", {**request, "lines": [{**line, "quantity": 4}]}, {**server_key, **key()}
    )
    no_choice = post("/quote", {**request, "lines": [{"product_id": str(shirt.pk)}]}, server_key)
    placed = post("/orders", request, {**server_key, **key()})

    assert (too_many.status, too_many.json()["error"]["code"]) == (409, "out_of_stock")
    assert no_choice.json()["stock_warnings"][0]["problem"] == "variation_required"
    assert placed.status == 201, placed.body
    assert placed.json()["items"][0]["unit_price"]["amount"] == "850.00"
    large.refresh_from_db()
    shirt.refresh_from_db()
    assert (large.allocated, shirt.allocated) == (3, 3)
