"""Helpers for payment tests driven through the HTTP API against the provider simulators:
a signed-in customer places an order, pays it on the simulator's page, and staff act on it."""

from __future__ import annotations

import dataclasses
import importlib
import itertools
from decimal import Decimal
from urllib.parse import urlsplit

import httpx
import pytest
from django.apps import apps

import api.checkout
import api.orders
import api.payments
from db.models import Order, User
from devtools.payment_sims import bkash as bkash_sim
from devtools.payment_sims.bkash import start_bkash_simulator
from devtools.payment_sims.upay import start_upay_simulator
from lib import conf
from lib.access.sessions import session_start
from tests import factories
from tests.support import WsgiResponse, call

_numbers = itertools.count(1)
TIMEOUT = 0.5  # seconds our provider calls wait in these tests
GUEST_EMAIL = "guest@shop.test"  # a guest's contact on orders placed with the server key


@pytest.fixture
def upay(kv, monkeypatch):
    server = start_upay_simulator()
    monkeypatch.setenv("UPAY_BASE_URL", server.url)
    monkeypatch.setenv("UPAY_HTTP_TIMEOUT", str(TIMEOUT))
    yield server
    server.stop()


@pytest.fixture
def bkash(kv, monkeypatch):
    server = start_bkash_simulator()
    bkash_config_set(monkeypatch, server.url)
    monkeypatch.setattr(
        conf, "payment_config", dataclasses.replace(conf.payment_config, http_timeout=TIMEOUT)
    )
    yield server
    server.stop()


def bkash_config_set(monkeypatch, url: str) -> None:
    """Points the bKash adapter at a simulator, with the credentials the simulator accepts."""
    settings = bkash_sim.env(url)
    monkeypatch.setattr(
        conf,
        "bkash_config",
        dataclasses.replace(
            conf.bkash_config,
            base_url=settings["BKASH_BASE_URL"],
            app_key=settings["BKASH_APP_KEY"],
            app_secret=settings["BKASH_APP_SECRET"],
            username=settings["BKASH_USERNAME"],
            password=settings["BKASH_PASSWORD"],
        ),
    )


@pytest.fixture
def people(server_key):
    _, customer = signed_in(server_key, "customer")
    _, staff = signed_in(server_key, "staff")
    return customer, staff


def signed_in(server_key: dict[str, str], role: str, **fields) -> tuple[User, dict[str, str]]:
    """A new user of `role` (with any other `fields`) and the headers of their session."""
    fields = {"full_name": "Karim", **fields}
    user = User.objects.create_user(
        email=f"{role}-{next(_numbers)}@shop.test", password=None, role=role, **fields
    )
    tokens = session_start(user=user, ip="127.0.0.1", user_agent="test")
    return user, {**server_key, "Authorization": f"Bearer {tokens.access_token}"}


def shop_product(price: str = "445.00"):
    importlib.import_module("migrations.0007_geo_and_shipping").geo_load(apps)
    return factories.product(category=factories.category(), price=Decimal(price), images=0)


def order_place(
    product,
    headers: dict[str, str],
    method: str,
    *,
    quantity: int = 1,
    email: str | None = "karim@shop.test",
    address: dict[str, str] | None = None,
    status: str = "awaiting_payment",
) -> Order:
    """An order of `quantity` of `product` placed through checkout, in `status` (awaiting its
    payment by `method` unless said otherwise); `headers` say who places it (a signed-in
    customer, or the server key for a guest); `address` changes or adds address fields."""
    body = {
        "lines": [{"product_id": str(product.pk), "quantity": quantity}],
        "address": {
            "full_name": "Karim Ahmed",
            "phone": "01812345678",
            "address_line1": "Flat 3B, Road 7",
            "division": "Dhaka",
            "district": "Dhaka",
            **(address or {}),
        },
        **({"email": email} if email else {}),
        "payment_method": method,
    }
    key = {"Idempotency-Key": f"order-{next(_numbers):08d}-key"}
    reply = call(
        api.checkout.app,
        "POST",
        "/api/v1/checkout/orders",
        json_body=body,
        headers={**headers, **key},
    )
    assert reply.status == 201, reply.body
    order = Order.objects.get(number=reply.json()["number"])
    assert order.status == status
    return order


# The payer's return from a provider's page and the storefront's landing for it: the button
# pressed, the amount the provider then reports instead (None: the one asked), whether the
# order ends paid, and the landing's status.
PAYER_RETURNS = (
    ("action", "tamper", "paid", "landing"),
    [
        ("pay", None, True, "paid"),
        ("fail", None, False, "failed"),
        ("cancel", None, False, "cancelled"),
        ("pay", "1.00", False, "failed"),
    ],
)


def cod_order(
    headers: dict[str, str],
    *,
    price: str = "1000.00",
    phone: str = "01833333333",
    line1: str = "House 9, Road 2",
    **extra,
) -> Order:
    """A cash-on-delivery order of one new product at `price`, placed through checkout;
    `extra` adds body fields."""
    body = {
        "lines": [{"product_id": str(shop_product(price).pk), "quantity": 1}],
        "address": {
            "full_name": "Nadia Islam",
            "phone": phone,
            "address_line1": line1,
            "division": "Dhaka",
            "district": "Dhaka",
        },
        **extra,
    }
    reply = call(
        api.checkout.app,
        "POST",
        "/api/v1/checkout/orders",
        json_body=body,
        headers={**headers, "Idempotency-Key": f"cod-{next(_numbers):08d}"},
    )
    assert reply.status == 201, reply.body
    return Order.objects.get(number=reply.json()["number"])


def payment_start_http(order: Order, headers: dict[str, str], key: str) -> WsgiResponse:
    return call(
        api.payments.app,
        "POST",
        f"/api/v1/payments/{order.number}/start",
        json_body={"phone": "01812345678"},
        headers={**headers, "Idempotency-Key": key},
    )


def refund_http(
    payment_id: str, headers: dict[str, str], amount: str, key: str | None = None
) -> WsgiResponse:
    extra = {"Idempotency-Key": key} if key else {}
    return call(
        api.payments.app,
        "POST",
        f"/api/v1/admin/payments/{payment_id}/refund",
        json_body={"amount": amount, "reason": "damaged"},
        headers={**headers, **extra},
    )


def webhook_follow(app, location: str) -> WsgiResponse:
    """The payer's browser arriving at our webhook from the provider's redirect."""
    parts = urlsplit(location)
    return call(app, "GET", f"{parts.path}?{parts.query}")


def press_pay(redirect_url: str) -> str:
    """The payer presses Pay on the simulator's page; the browser's next URL."""
    reply = httpx.post(redirect_url, data={"action": "pay"}, timeout=5, follow_redirects=False)
    assert reply.status_code == 302, reply.text
    return reply.headers["location"]


def order_seen(order: Order, customer: dict[str, str], staff: dict[str, str]) -> tuple[dict, dict]:
    mine = call(api.orders.app, "GET", f"/api/v1/orders/{order.number}", headers=customer)
    console = call(api.orders.app, "GET", f"/api/v1/admin/orders/{order.number}", headers=staff)
    assert mine.status == 200, mine.body
    assert console.status == 200, console.body
    return mine.json(), console.json()
