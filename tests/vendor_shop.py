"""Builders for marketplace tests: vendors with an owner, their products, orders placed
through checkout with lines of several vendors, and calls to the vendor functions."""

from __future__ import annotations

import importlib
import itertools
from decimal import Decimal
from typing import Any

from django.apps import apps

import api.checkout
import api.vendor_admin
import api.vendors
from db.models import Category, Order, Product, User, Vendor, VendorMember, VendorRole
from lib.access.sessions import session_start
from tests import factories
from tests.support import WsgiResponse, call

_numbers = itertools.count(1)


def geo_load() -> None:
    importlib.import_module("migrations.0007_geo_and_shipping").geo_load(apps)


def signed_in(server_key: dict[str, str], user: User) -> dict[str, str]:
    """Headers of a new session of `user` (its token carries the user's current vendors)."""
    tokens = session_start(user=user, ip="127.0.0.1", user_agent="test")
    return {**server_key, "Authorization": f"Bearer {tokens.access_token}"}


def person(role: str = "customer", **fields: Any) -> User:
    n = next(_numbers)
    return User.objects.create_user(
        email=f"{role}-{n}@shop.test", password=None, role=role, full_name=f"Person {n}", **fields
    )


def vendor_with_owner(*, status: str = "active") -> tuple[Vendor, User]:
    n = next(_numbers)
    vendor = Vendor.objects.create(name=f"Shop {n}", slug=f"shop-{n}", status=status)
    owner = person("vendor_owner")
    VendorMember.objects.create(vendor=vendor, user=owner, role=VendorRole.OWNER)
    return vendor, owner


def vendor_product(vendor: Vendor | None, *, category: Category, price: str = "100.00") -> Product:
    return factories.product(category=category, vendor=vendor, price=Decimal(price), images=0)


def order_of(*products: Product, server_key: dict[str, str], quantity: int = 1) -> Order:
    """A cash-on-delivery guest order of `quantity` of each product, placed through checkout."""
    body = {
        "lines": [{"product_id": str(p.pk), "quantity": quantity} for p in products],
        "address": {
            "full_name": "Karim Ahmed",
            "phone": "01812345678",
            "address_line1": "Flat 3B, Road 7",
            "division": "Dhaka",
            "district": "Dhaka",
        },
        "email": "karim@shop.test",
        "payment_method": "cod",
    }
    headers = {**server_key, "Idempotency-Key": f"vendor-order-{next(_numbers):08d}"}
    reply = call(
        api.checkout.app, "POST", "/api/v1/checkout/orders", json_body=body, headers=headers
    )
    assert reply.status == 201, reply.body
    return Order.objects.get(number=reply.json()["number"])


def vendors_call(method: str, path: str, headers: dict[str, str], **kwargs: Any) -> WsgiResponse:
    return call(api.vendors.app, method, f"/api/v1/vendors{path}", headers=headers, **kwargs)


def admin_call(method: str, path: str, headers: dict[str, str], **kwargs: Any) -> WsgiResponse:
    return call(
        api.vendor_admin.app, method, f"/api/v1/admin/vendors{path}", headers=headers, **kwargs
    )
