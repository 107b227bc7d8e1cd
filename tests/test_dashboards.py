"""GET /api/v1/dashboard: each role's widgets (and only those), their figures, constant
queries per role."""

from __future__ import annotations

import importlib
from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.utils import timezone

import api.dashboards
from db.models import OutboxMessage, OutboxStatus, Product, VendorMember
from lib.analytics.rollups import dhaka_today, rollups_build
from tests.payment_shop import signed_in
from tests.support import call
from tests.test_analytics_api import signed_in_again
from tests.test_rollups import customer, earlier_today, item, sale, vendor

pytestmark = pytest.mark.django_db

WIDGETS = (
    "sales_today",
    "sales_7d",
    "orders_to_process",
    "orders_to_fulfil",
    "low_stock",
    "fraud_reviews_pending",
    "failed_notifications",
    "chat_queue",
    "vendor_applications_pending",
    "orders_needing_attention",
    "balance",
)
SEES = {
    "admin": {
        "sales_today",
        "sales_7d",
        "orders_to_process",
        "low_stock",
        "fraud_reviews_pending",
        "failed_notifications",
        "chat_queue",
        "vendor_applications_pending",
    },
    "staff": {"orders_to_process", "low_stock", "fraud_reviews_pending"},
    "support": {"chat_queue", "orders_needing_attention"},
    "vendor_owner": {"sales_today", "sales_7d", "orders_to_fulfil", "low_stock", "balance"},
    "vendor_staff": {"orders_to_fulfil", "low_stock"},
}
# Queries per role: sales (rollups, yesterday's check, today's lines, first orders), order
# counts, orders to fulfil, low stock (count, items), failed notifications, the chat queue,
# applications, orders needing attention, the balance (one per vendor).
QUERIES = {"admin": 10, "staff": 3, "support": 2, "vendor_owner": 8, "vendor_staff": 3}


def installed(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


@pytest.fixture
def store(server_key):
    mine, theirs = vendor("Mine"), vendor("Theirs")
    products = {
        "mine": item(vendor=mine, price="300.00", quantity=2),
        "theirs": item(vendor=theirs, price="50.00", quantity=1),
        "house": item(price="20.00", quantity=50),
    }
    now = timezone.now()
    buyer = customer()
    sale(at=earlier_today(5), lines=[(products["mine"], 1)], user=buyer)
    sale(at=earlier_today(4), lines=[(products["theirs"], 2)], status="paid")
    sale(at=now - timedelta(days=3), lines=[(products["mine"], 2)], status="processing")
    sale(at=now - timedelta(days=2), lines=[(products["house"], 1)], status="on_hold")
    failed = sale(
        at=now - timedelta(hours=1), lines=[(products["house"], 1)], status="awaiting_payment"
    )
    type(failed).objects.filter(pk=failed.pk).update(payment_status="failed")
    sale(at=now - timedelta(days=30), lines=[(products["mine"], 1)], status="delivered")
    today = dhaka_today()
    rollups_build(today - timedelta(days=10), today - timedelta(days=1))
    OutboxMessage.objects.create(topic="email.order_confirmation", status=OutboxStatus.FAILED)
    headers = {}
    for role in ("admin", "staff", "support", "customer"):
        headers[role] = signed_in(server_key, role)[1]
    for role, membership in (("vendor_owner", "owner"), ("vendor_staff", "staff")):
        user, _ = signed_in(server_key, role)
        VendorMember.objects.create(vendor=mine, user=user, role=membership)
        headers[role] = signed_in_again(server_key, user)
    return {"headers": headers, "products": products, "mine": mine, "theirs": theirs}


def dashboard(headers: dict[str, str]):
    return call(api.dashboards.app, "GET", "/api/v1/dashboard", headers=headers)


@pytest.mark.parametrize("role", sorted(SEES))
def test_each_role_sees_its_widgets_and_only_those(store, role):
    reply = dashboard(store["headers"][role])

    assert reply.status == 200, reply.body
    body = reply.json()
    assert body["role"] == role
    present = {name for name in WIDGETS if body[name] is not None}
    wanted = set(SEES[role])
    if not installed("lib.chat.selectors"):
        wanted.discard("chat_queue")
    if not installed("lib.vendors.balances"):
        wanted.discard("balance")
    assert present == wanted


def test_admin_figures(store):
    body = dashboard(store["headers"]["admin"]).json()

    assert body["sales_today"]["orders"] == 2
    assert body["sales_today"]["revenue"]["amount"] == "400.00"
    assert body["sales_7d"]["orders"] == 3  # and the processing order of 3 days ago
    assert body["sales_7d"]["revenue"]["amount"] == "1000.00"
    assert body["orders_to_process"] == 2  # placed and paid
    assert body["fraud_reviews_pending"] == 1
    assert body["failed_notifications"] == 1
    assert body["low_stock"]["count"] >= 2
    if "VendorApplication" in {model.__name__ for model in apps.get_models()}:
        pending = apps.get_model("db", "VendorApplication").objects.filter(status="pending")
        assert body["vendor_applications_pending"] == pending.count()
    if body["chat_queue"] is not None:
        assert set(body["chat_queue"]) == {"unassigned", "assigned", "awaiting_staff"}


def test_a_vendor_sees_its_own_sales_orders_and_stock_only(store):
    owner = dashboard(store["headers"]["vendor_owner"]).json()
    helper = dashboard(store["headers"]["vendor_staff"]).json()

    assert owner["vendor_ids"] == [str(store["mine"].pk)]
    assert owner["sales_today"]["orders"] == 1
    assert owner["sales_today"]["revenue"]["amount"] == "300.00"
    assert owner["sales_7d"]["revenue"]["amount"] == "900.00"
    assert owner["orders_to_fulfil"] == helper["orders_to_fulfil"] == 2
    for body in (owner, helper):
        skus = [row["sku"] for row in body["low_stock"]["items"]]
        assert skus == [store["products"]["mine"].sku]
        assert body["low_stock"]["count"] == 1
    assert helper["balance"] is None and helper["sales_today"] is None  # no money for staff
    if owner["balance"] is not None:
        assert Decimal(owner["balance"]["amount"]) == Decimal("0.00")
        assert owner["balance"]["display"] == "৳0.00"


def test_support_sees_the_orders_needing_attention(store):
    body = dashboard(store["headers"]["support"]).json()

    statuses = [(o["status"], o["payment_status"]) for o in body["orders_needing_attention"]]
    assert statuses == [("awaiting_payment", "failed"), ("on_hold", "unpaid")]
    assert body["orders_needing_attention"][0]["total_amount"]["currency"] == "BDT"


def test_customers_get_a_403_and_strangers_a_401(store, server_key):
    refused = dashboard(store["headers"]["customer"])
    assert refused.status == 403
    assert refused.json()["error"]["code"] == "forbidden"
    assert dashboard(server_key).status == 401


@pytest.mark.parametrize("role", sorted(QUERIES))
def test_queries_per_role_do_not_grow_with_the_data(store, role, django_assert_num_queries):
    wanted = QUERIES[role]
    if role in ("admin", "support") and not installed("lib.chat.selectors"):
        wanted -= 1
    if role == "vendor_owner" and not installed("lib.vendors.balances"):
        wanted -= 1
    with django_assert_num_queries(wanted):
        assert dashboard(store["headers"][role]).status == 200
    # Many more orders and products change nothing.
    more = [item(vendor=store["mine"], quantity=1) for _ in range(5)]
    for product in more:
        sale(at=earlier_today(1), lines=[(product, 1)], status="paid")
        sale(at=timezone.now() - timedelta(days=2), lines=[(product, 1)], status="processing")
    assert Product.objects.count() >= 8
    with django_assert_num_queries(wanted):
        assert dashboard(store["headers"][role]).status == 200
