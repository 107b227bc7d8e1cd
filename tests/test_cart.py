"""The cart function: lines in Redis, live prices and stock from the database, guest carts
named by a token, and the guest cart moved into the customer's on sign-in."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

import api.auth
import api.cart
from db.models import User
from lib.access.sessions import session_start
from lib.cart import cart_key, cart_lines, cart_merge
from lib.conf import config
from lib.engagement.analytics import pending_key
from tests import factories
from tests.support import call

pytestmark = pytest.mark.django_db

_people = itertools.count(1)
PASSWORD = "mango-lassi-42-dhaka"


@pytest.fixture
def category():
    return factories.category()


@pytest.fixture
def product(category):
    return factories.product(category=category, price=Decimal("250.50"), quantity=20)


@pytest.fixture
def customer(server_key):
    """(user, headers signed in as that user)."""
    user = User.objects.create_user(email=f"shopper-{next(_people)}@shop.test", password=None)
    tokens = session_start(user=user, ip="127.0.0.1", user_agent="test")
    return user, {**server_key, "Authorization": f"Bearer {tokens.access_token}"}


def send(method: str, url: str, headers: dict, **kwargs):
    return call(api.cart.app, method, f"/api/v1/cart{url}", headers=headers, **kwargs)


def add(headers: dict, product_id, quantity: int = 1, **extra):
    body = {"product_id": str(product_id), "quantity": quantity, **extra}
    return send("POST", "/lines", headers, json_body=body)


def fields_of(response) -> dict:
    return response.json()["error"]["fields"]


def test_add_change_remove_clear(kv, customer, product, category):
    user, headers = customer
    other = factories.product(category=category, price=Decimal("99.99"), quantity=5)
    response = add(headers, product.pk, 2)
    assert response.status == 201, response.body
    add(headers, product.pk, 1)  # merged into the same line
    response = add(headers, other.pk, 1)
    cart = response.json()
    assert cart["token"] is None
    by_product = {line["product_id"]: line for line in cart["lines"]}
    line = by_product[str(product.pk)]
    assert line["quantity"] == 3
    assert line["unit_price"]["amount"] == "250.50"
    assert line["line_total"] == {"amount": "751.50", "currency": "BDT", "display": "৳751.50"}
    assert cart["subtotal"]["amount"] == "851.49"
    assert cart["item_count"] == 4
    stored = cart_lines(key=cart_key(user_id=str(user.pk), guest_token=None))
    assert {line.product_id: line.quantity for line in stored} == {
        str(product.pk): 3,
        str(other.pk): 1,
    }

    response = send("PATCH", f"/lines/{product.pk}", headers, json_body={"quantity": 5})
    assert response.status == 200, response.body
    assert {li["product_id"]: li["quantity"] for li in response.json()["lines"]} == {
        str(product.pk): 5,
        str(other.pk): 1,
    }
    response = send("PATCH", f"/lines/{other.pk}", headers, json_body={"quantity": 0})
    assert [li["product_id"] for li in response.json()["lines"]] == [str(product.pk)]
    response = send("DELETE", f"/lines/{product.pk}", headers)
    assert response.json()["lines"] == []

    add(headers, product.pk, 1)
    assert send("DELETE", "", headers).status == 204
    assert send("GET", "", headers).json()["lines"] == []
    assert send("PATCH", f"/lines/{product.pk}", headers, json_body={"quantity": 2}).status == 404


def test_add_by_slug_and_bangla_display(kv, customer, product):
    _, headers = customer
    response = send("POST", "/lines", headers, json_body={"slug": product.slug, "quantity": 4})
    assert response.status == 201, response.body
    response = send("GET", "", {**headers, "Accept-Language": "bn"})
    assert response.json()["subtotal"]["display"] == "৳১,০০২.০০"


def test_guest_token_flow_and_expiry(kv, server_key, product):
    response = add(server_key, product.pk, 2)
    assert response.status == 201, response.body
    token = response.json()["token"]
    assert token and response.headers["x-cart-token"] == token
    key = cart_key(user_id=None, guest_token=token)
    assert 0 < kv.ttl(key) <= config.cart_ttl_seconds

    guest = {**server_key, "X-Cart-Token": token}
    kv.expire(key, 60)
    add(guest, product.pk, 1)
    assert kv.ttl(key) > 60  # every write restarts the clock
    cart = send("GET", "", guest).json()
    assert cart["token"] == token
    assert [(li["product_id"], li["quantity"]) for li in cart["lines"]] == [(str(product.pk), 3)]

    assert send("GET", "", server_key).json()["lines"] == []  # no token: no cart
    bad = send("GET", "", {**server_key, "X-Cart-Token": "not a token!"})
    assert bad.status == 400
    assert bad.json()["error"]["code"] == "cart_token_invalid"


def test_user_cart_expiry_set(kv, customer, product):
    user, headers = customer
    add(headers, product.pk, 1)
    assert 0 < kv.ttl(cart_key(user_id=str(user.pk), guest_token=None)) <= config.cart_ttl_seconds


def test_cart_add_is_counted_in_analytics(kv, customer, product):
    _, headers = customer
    add(headers, product.pk, 3)
    add(headers, product.pk, 50)  # refused: not counted
    assert int(kv.hget(pending_key("cart_add"), str(product.pk))) == 3


def test_guest_cart_merged_on_login(kv, server_key, product, category):
    other = factories.product(category=category, quantity=50)
    email = f"merge-{next(_people)}@shop.test"
    user = User.objects.create_user(email=email, password=PASSWORD)
    tokens = session_start(user=user, ip="127.0.0.1", user_agent="test")
    user_headers = {**server_key, "Authorization": f"Bearer {tokens.access_token}"}
    add(user_headers, product.pk, 8)

    token = add(server_key, product.pk, 5).json()["token"]
    add({**server_key, "X-Cart-Token": token}, other.pk, 2)
    response = call(
        api.auth.app,
        "POST",
        "/api/v1/auth/login",
        json_body={"email": email, "password": PASSWORD},
        headers={**server_key, "X-Cart-Token": token},
    )
    assert response.status == 200, response.body
    lines = {
        li.product_id: li.quantity
        for li in cart_lines(key=cart_key(user_id=str(user.pk), guest_token=None))
    }
    # 8 + 5 capped by the per-line limit
    assert lines == {str(product.pk): config.cart_max_qty_per_line, str(other.pk): 2}
    assert not kv.exists(cart_key(user_id=None, guest_token=token))
    assert send("GET", "", {**server_key, "X-Cart-Token": token}).json()["lines"] == []


def test_guest_cart_merged_on_register(kv, server_key, product):
    token = add(server_key, product.pk, 2).json()["token"]
    email = f"new-{next(_people)}@shop.test"
    response = call(
        api.auth.app,
        "POST",
        "/api/v1/auth/register",
        json_body={"email": email, "password": PASSWORD},
        headers={**server_key, "X-Cart-Token": token},
    )
    assert response.status == 201, response.body
    user = User.objects.get(email=email)
    lines = cart_lines(key=cart_key(user_id=str(user.pk), guest_token=None))
    assert [(li.product_id, li.quantity) for li in lines] == [(str(product.pk), 2)]


def test_merge_of_unknown_or_malformed_token_is_harmless(kv, customer, product):
    user, headers = customer
    add(headers, product.pk, 1)
    cart_merge(guest_token="x" * 32, user_id=str(user.pk))
    cart_merge(guest_token="", user_id=str(user.pk))
    assert len(cart_lines(key=cart_key(user_id=str(user.pk), guest_token=None))) == 1


@pytest.mark.parametrize("quantity", [0, -1, 11])
def test_quantity_out_of_range(kv, customer, product, quantity):
    _, headers = customer
    response = add(headers, product.pk, quantity)
    assert response.status == 422
    assert "quantity" in fields_of(response)


def test_quantity_over_limit_with_existing_line_and_over_stock(kv, customer, category):
    _, headers = customer
    item = factories.product(category=category, quantity=30)
    add(headers, item.pk, 7)
    response = add(headers, item.pk, 4)
    assert response.status == 422
    assert "At most 10" in fields_of(response)["quantity"][0]

    scarce = factories.product(category=category, quantity=3)
    factories.reservation(product=scarce, quantity=1)
    response = add(headers, scarce.pk, 3)
    assert response.status == 422
    assert "Only 2 available" in fields_of(response)["quantity"][0]
    response = send("PATCH", f"/lines/{item.pk}", headers, json_body={"quantity": -2})
    assert response.status == 422
    response = send("PATCH", f"/lines/{item.pk}", headers, json_body={"quantity": 11})
    assert response.status == 422


def test_unknown_product_and_variation_required(kv, customer, category):
    _, headers = customer
    response = add(headers, "00000000-0000-0000-0000-000000000000")
    assert response.status == 404
    assert "product_id" in fields_of(response)
    assert send("POST", "/lines", headers, json_body={"quantity": 1}).status == 422

    shirt = factories.product(category=category, quantity=0)
    small = factories.variation(
        product=shirt, value="S", quantity=4, price_adjustment=Decimal("20")
    )
    response = add(headers, shirt.pk)
    assert response.status == 422
    assert response.json()["error"]["code"] == "variation_required"
    response = add(headers, shirt.pk, 2, variation_id=str(small.pk))
    assert response.status == 201, response.body
    (line,) = response.json()["lines"]
    assert line["id"] == f"{shirt.pk}:{small.pk}"
    assert line["unit_price"]["amount"] == "120.00"
    assert line["variation_name"] == "Size: S"
    other = factories.product(category=category)
    response = add(headers, other.pk, variation_id=str(small.pk))
    assert response.status == 404


def test_draft_product_flagged_not_dropped_and_stock_warning(kv, customer, category):
    _, headers = customer
    kept = factories.product(category=category, quantity=5)
    drafted = factories.product(category=category, quantity=5)
    add(headers, kept.pk, 4)
    add(headers, drafted.pk, 1)
    drafted.is_active = False
    drafted.save(update_fields=["is_active"])
    kept.quantity = 2
    kept.save(update_fields=["quantity"])

    cart = send("GET", "", headers).json()
    lines = {li["product_id"]: li for li in cart["lines"]}
    assert lines[str(drafted.pk)]["unavailable"] is True
    assert lines[str(drafted.pk)]["warning"] == "unavailable"
    assert lines[str(kept.pk)]["unavailable"] is False
    assert lines[str(kept.pk)]["warning"] == "insufficient_stock"
    assert lines[str(kept.pk)]["available"] == 2
    assert cart["has_problems"] is True
    assert cart["subtotal"]["amount"] == "400.00"  # the drafted line is not counted

    drafted_id = str(drafted.pk)
    drafted.delete()
    cart = send("GET", "", headers).json()
    assert {li["product_id"]: li["unavailable"] for li in cart["lines"]}[drafted_id] is True


def test_view_query_count_is_constant(kv, customer, category):
    _, headers = customer
    first = factories.product(category=category)
    add(headers, first.pk)
    with CaptureQueriesContext(connection) as one_line:
        assert send("GET", "", headers).status == 200
    for _ in range(4):
        item = factories.product(category=category)
        add(headers, item.pk)
        variation_of = factories.product(category=category, quantity=0)
        choice = factories.variation(product=variation_of, value="M")
        add(headers, variation_of.pk, variation_id=str(choice.pk))
    with CaptureQueriesContext(connection) as many_lines:
        response = send("GET", "", headers)
    assert len(response.json()["lines"]) == 9
    assert len(many_lines) <= len(one_line) + 1  # the variations' query
    assert len(many_lines) <= 2


def test_guest_and_user_carts_are_isolated(kv, server_key, customer, product, category):
    other = factories.product(category=category)
    token_b = add(server_key, product.pk, 3).json()["token"]
    token_c = add(server_key, other.pk, 1).json()["token"]
    assert token_b != token_c
    _, headers_a = customer
    assert send("GET", "", headers_a).json()["lines"] == []
    # A signed-in caller always gets their own cart, whatever token they send.
    assert send("GET", "", {**headers_a, "X-Cart-Token": token_b}).json()["lines"] == []
    seen_by_c = send("GET", "", {**server_key, "X-Cart-Token": token_c}).json()["lines"]
    assert [li["product_id"] for li in seen_by_c] == [str(other.pk)]
    # Guest C cannot change B's lines.
    response = send(
        "PATCH",
        f"/lines/{product.pk}",
        {**server_key, "X-Cart-Token": token_c},
        json_body={"quantity": 1},
    )
    assert response.status == 404
    seen_by_b = send("GET", "", {**server_key, "X-Cart-Token": token_b}).json()["lines"]
    assert [(li["product_id"], li["quantity"]) for li in seen_by_b] == [(str(product.pk), 3)]


def test_api_key_required(kv, product):
    response = call(api.cart.app, "GET", "/api/v1/cart")
    assert response.status == 401
