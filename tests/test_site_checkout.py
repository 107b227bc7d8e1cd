"""Checkout charges from the store settings: the COD fee, COD limit and COD switch, and the
store-wide free-shipping threshold, each falling back to its default (environment, or the
zone's own threshold) while empty."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.db import transaction

import api.checkout
from db.models import Order, ShippingZone, StoreSettings
from lib.site.services import site_changed
from tests.payment_shop import shop_product
from tests.support import call

pytestmark = pytest.mark.django_db

ADDRESS = {
    "full_name": "Karim Ahmed",
    "phone": "01812345678",
    "address_line1": "Flat 3B, Road 7",
    "division": "Dhaka",
    "district": "Dhaka",
}


@pytest.fixture
def store_settings(kv, django_capture_on_commit_callbacks):
    """Save the settings row as the admin does (the cached copy refreshed after commit)."""

    def save(**fields):
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            StoreSettings.objects.update_or_create(pk=1, defaults=fields)
            site_changed()

    return save


def body(product, quantity: int = 1, method: str = "cod") -> dict:
    return {
        "lines": [{"product_id": str(product.pk), "quantity": quantity}],
        "address": ADDRESS,
        "email": "karim@shop.test",
        "payment_method": method,
    }


def quote(server_key, product, quantity: int = 1, method: str = "cod"):
    reply = call(
        api.checkout.app,
        "POST",
        "/api/v1/checkout/quote",
        json_body=body(product, quantity, method),
        headers=server_key,
    )
    assert reply.status == 200, reply.body
    return reply.json()


def place(server_key, product, quantity: int = 1, method: str = "cod"):
    return call(
        api.checkout.app,
        "POST",
        "/api/v1/checkout/orders",
        json_body=body(product, quantity, method),
        headers={**server_key, "Idempotency-Key": uuid.uuid4().hex},
    )


def test_the_environment_defaults_apply_until_the_admin_sets_an_amount(server_key, store_settings):
    product = shop_product("500.00")
    assert quote(server_key, product)["cod_fee"]["amount"] == "20.00"  # COD_FEE
    store_settings(cod_fee=Decimal("45.00"))
    charged = quote(server_key, product)
    assert charged["cod_fee"]["amount"] == "45.00"
    assert quote(server_key, product, method="bkash")["cod_fee"]["amount"] == "0.00"
    reply = place(server_key, product)
    assert reply.status == 201, reply.body
    assert Order.objects.get(number=reply.json()["number"]).cod_fee == Decimal("45.00")
    store_settings(cod_fee=None)
    assert quote(server_key, product)["cod_fee"]["amount"] == "20.00"


def test_the_stores_cod_limit_refuses_larger_cod_orders(server_key, store_settings):
    product = shop_product("500.00")
    store_settings(cod_max_total=Decimal("1000.00"))
    refused = place(server_key, product, quantity=3)
    assert refused.status == 422
    assert refused.json()["error"]["code"] == "cod_limit"
    assert place(server_key, product, quantity=1).status == 201
    assert not Order.objects.filter(total_amount__gt=1000).exists()


def test_cod_switched_off_refuses_cod_but_not_wallets(server_key, store_settings):
    product = shop_product("500.00")
    store_settings(cod_enabled=False)
    refused = call(
        api.checkout.app,
        "POST",
        "/api/v1/checkout/orders",
        json_body=body(product),
        headers={**server_key, "Idempotency-Key": uuid.uuid4().hex, "Accept-Language": "bn"},
    )
    assert refused.status == 422
    assert refused.json()["error"]["code"] == "cod_unavailable"
    assert "ক্যাশ অন ডেলিভারি" in refused.json()["error"]["message"]
    assert not Order.objects.exists()
    assert place(server_key, product, method="bkash").status == 201


def test_the_store_wide_free_shipping_threshold_replaces_the_zones_own(server_key, store_settings):
    ShippingZone.objects.filter(code="inside_dhaka").update(free_shipping_threshold=5000)
    product = shop_product("1500.00")
    assert quote(server_key, product)["shipping"]["free"] is False
    store_settings(free_shipping_threshold=Decimal("1500.00"))
    free = quote(server_key, product)
    assert free["shipping"]["free"] is True and free["shipping"]["rate"]["amount"] == "0.00"
    store_settings(free_shipping_threshold=Decimal("2000.00"))
    assert quote(server_key, product)["shipping"]["free"] is False
    store_settings(free_shipping_threshold=None)  # the zone's own again
    assert quote(server_key, product, quantity=4)["shipping"]["free"] is True
