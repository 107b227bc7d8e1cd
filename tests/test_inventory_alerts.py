"""Inventory alerts: opened once per crossing, emailed once to staff and the owning vendor,
resolved on recovery; the cron function's secret and lock; the alerts admin API."""

from __future__ import annotations

import threading

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

import api.cron_inventory_alerts
from db.models import InventoryAlert, OutboxMessage, Product, UserRole, Vendor
from lib.cron import cron_lock
from lib.inventory import stock_adjust
from lib.inventory_alerts import inventory_alerts_scan
from lib.outbox import outbox_dispatch
from tests import factories
from tests.support import call
from tests.test_inventory import URL, make_user, product_with_variations, signed_in_caller

pytestmark = pytest.mark.django_db
CRON = "/api/cron/inventory-alerts"
CRON_AUTH = {"Authorization": "Bearer test-cron-secret"}


@pytest.fixture
def store(kv):
    """A vendor's product at 10 (threshold 5) and the people who hear about it."""
    nakshi = Vendor.objects.create(name="Nakshi", slug="nakshi", status="active")
    other = Vendor.objects.create(name="Other", slug="other", status="active")
    category = factories.category()
    make_user("kamal@zest.test", UserRole.STAFF)
    make_user("root@zest.test", UserRole.ADMIN, preferred_language="bn")
    make_user("rina@nakshi.test", UserRole.VENDOR_OWNER, vendor=nakshi)
    make_user("left@zest.test", UserRole.STAFF, is_active=False)
    make_user("someone@other.test", UserRole.VENDOR_STAFF, vendor=other)
    make_user("buyer@zest.test", UserRole.CUSTOMER)
    kantha = factories.product(
        category=category,
        vendor=nakshi,
        name_en="Kantha Stitch Saree",
        name_bn="কাঁথা স্টিচ শাড়ি",
        sku="KANTHA-1",
        quantity=10,
        low_stock_threshold=5,
    )
    return {"category": category, "nakshi": nakshi, "other": other, "kantha": kantha}


@pytest.fixture
def as_user(kv):
    return signed_in_caller()


RECIPIENTS = ["kamal@zest.test", "rina@nakshi.test", "root@zest.test"]


def set_stock(product: Product, quantity: int) -> None:
    product.refresh_from_db()
    stock_adjust(product=product, delta=quantity - product.quantity, reason="correction")


def delivered() -> list:
    """Send what the outbox holds; the emails sent, by recipient."""
    outbox_dispatch(limit=500)
    return sorted(mail.outbox, key=lambda message: message.to)


def test_a_crossing_opens_one_alert_and_emails_each_recipient_once(store):
    set_stock(store["kantha"], 4)

    result = inventory_alerts_scan()

    assert result == {"alerts_opened": 1, "alerts_resolved": 0}
    alert = InventoryAlert.objects.get()
    assert (alert.kind, alert.quantity_at_alert, alert.variation_id) == ("low_stock", 4, None)
    emails = delivered()
    assert [message.to for message in emails] == [[email] for email in RECIPIENTS]
    english, owner, bangla_first = emails
    assert english.subject == "Low stock: Kantha Stitch Saree (KANTHA-1) — 4 left"
    assert bangla_first.subject == "স্টক কম: কাঁথা স্টিচ শাড়ি (KANTHA-1) — আর ৪টি বাকি"
    assert "threshold of 5" in english.body and "সীমা ৫" in bangla_first.body
    assert owner.alternatives[0][1] == "text/html"


def test_a_rerun_opens_nothing_and_sends_nothing(store):
    set_stock(store["kantha"], 3)
    inventory_alerts_scan()
    first = delivered()

    again = inventory_alerts_scan()

    assert again == {"alerts_opened": 0, "alerts_resolved": 0}
    assert InventoryAlert.objects.count() == 1
    assert len(delivered()) == len(first) == 3
    assert OutboxMessage.objects.count() == 3


def test_recovery_resolves_and_a_new_crossing_opens_a_new_alert(store):
    kantha = store["kantha"]
    set_stock(kantha, 2)
    inventory_alerts_scan()

    set_stock(kantha, 6)
    recovered = inventory_alerts_scan()
    set_stock(kantha, 5)  # at the threshold counts as low
    crossed_again = inventory_alerts_scan()

    assert recovered == {"alerts_opened": 0, "alerts_resolved": 1}
    assert crossed_again == {"alerts_opened": 1, "alerts_resolved": 0}
    alerts = list(InventoryAlert.objects.order_by("created_at"))
    assert [alert.resolved_at is not None for alert in alerts] == [True, False]
    assert len(delivered()) == 2 * len(RECIPIENTS)


def test_running_out_opens_an_out_of_stock_alert_with_one_email_per_recipient(store):
    kantha = store["kantha"]
    set_stock(kantha, 0)  # straight from plenty to nothing: both alerts, one email each

    assert inventory_alerts_scan()["alerts_opened"] == 2
    emails = delivered()
    assert len(emails) == len(RECIPIENTS)
    assert all(message.subject.startswith(("Out of stock", "স্টক শেষ")) for message in emails)

    set_stock(kantha, 1)  # back in stock, still low: out of stock resolves, low stays
    assert inventory_alerts_scan() == {"alerts_opened": 0, "alerts_resolved": 1}
    set_stock(kantha, 0)  # out again: a new crossing of the out-of-stock level
    assert inventory_alerts_scan() == {"alerts_opened": 1, "alerts_resolved": 0}
    assert set(InventoryAlert.objects.filter(resolved_at=None).values_list("kind", flat=True)) == {
        "low_stock",
        "out_of_stock",
    }


def test_availability_counts_reservations_and_variations_alert_on_their_own(store):
    kantha, category = store["kantha"], store["category"]
    factories.reservation(product=kantha, quantity=6)  # 10 on hand, 4 available
    parent, (small, large) = product_with_variations(category, 1, 9)
    factories.product(category=category, quantity=0, is_active=False)  # a draft: ignored

    assert inventory_alerts_scan()["alerts_opened"] == 2
    alerts = {(a.product_id, a.variation_id): a.kind for a in InventoryAlert.objects.all()}
    assert alerts == {(kantha.pk, None): "low_stock", (parent.pk, small.pk): "low_stock"}
    emails = delivered()
    assert any(small.sku in message.subject for message in emails)
    # The store's own product: staff and admin hear about it, vendors do not.
    assert {tuple(m.to) for m in emails if small.sku in m.subject} == {
        ("kamal@zest.test",),
        ("root@zest.test",),
    }
    assert large.pk not in {variation for _, variation in alerts}


def test_the_scan_costs_the_same_queries_whatever_the_number_of_items(store):
    category, nakshi, other = store["category"], store["nakshi"], store["other"]

    def scan_queries(count: int) -> int:
        for index in range(count):
            vendor = (nakshi, other, None)[index % 3]
            factories.product(category=category, quantity=1, vendor=vendor, images=0)
            product_with_variations(category, 0, 1)
        with CaptureQueriesContext(connection) as queries:
            result = inventory_alerts_scan()
        assert result["alerts_opened"] >= count
        return len(queries)

    few, many = scan_queries(2), scan_queries(12)
    assert few == many <= 10


def test_the_cron_needs_the_secret_and_runs_once_at_a_time(store):
    set_stock(store["kantha"], 1)

    missing = call(api.cron_inventory_alerts.app, "GET", CRON)
    wrong = call(
        api.cron_inventory_alerts.app, "GET", CRON, headers={"Authorization": "Bearer nope"}
    )
    with cron_lock("inventory-alerts", ttl_seconds=60):
        busy = call(api.cron_inventory_alerts.app, "GET", CRON, headers=CRON_AUTH)
    ran = call(api.cron_inventory_alerts.app, "GET", CRON, headers=CRON_AUTH)

    assert (missing.status, wrong.status) == (401, 401)
    assert missing.json()["error"]["code"] == "unauthenticated"
    assert busy.json() == {
        "job": "inventory-alerts",
        "ran": False,
        "reason": "already running",
        "alerts_opened": None,
        "alerts_resolved": None,
    }
    assert ran.status == 200
    assert ran.json()["alerts_opened"] == 1
    assert InventoryAlert.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_overlapping_scans_open_and_email_each_alert_once(kv):
    make_user("kamal@zest.test", UserRole.STAFF)
    category = factories.category()
    for _ in range(5):
        factories.product(category=category, quantity=1, images=0)
    start = threading.Barrier(4)
    results = []

    def scan() -> None:
        try:
            start.wait()
            results.append(inventory_alerts_scan())
        finally:
            connection.close()

    threads = [threading.Thread(target=scan) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(result["alerts_opened"] for result in results) == 5
    assert InventoryAlert.objects.count() == 5
    assert OutboxMessage.objects.count() == 5


# --- the alerts admin API ----------------------------------------------------------------


def test_alerts_are_listed_per_vendor_in_two_queries(store, as_user, django_assert_num_queries):
    staff = make_user("lead@zest.test", UserRole.STAFF)
    owner = store["nakshi"].memberships.get().user
    set_stock(store["kantha"], 2)
    for _ in range(3):
        factories.product(category=store["category"], quantity=0, vendor=store["other"])
    inventory_alerts_scan()
    vendor_view = as_user(owner, "GET", f"{URL}/alerts").json()
    out = as_user(staff, "GET", f"{URL}/alerts?kind=out_of_stock").json()

    with django_assert_num_queries(2):
        everything = as_user(staff, "GET", f"{URL}/alerts?page_size=50").json()

    assert everything["count"] == 7  # 3 x (low + out) + 1 low
    assert [row["sku"] for row in vendor_view["items"]] == ["KANTHA-1"]
    assert vendor_view["items"][0]["name_bn"] == "কাঁথা স্টিচ শাড়ি"
    assert out["count"] == 3


def test_an_alert_is_resolved_by_hand_only_once_the_stock_has_recovered(store, as_user):
    kantha = store["kantha"]
    owner = store["nakshi"].memberships.get().user
    stranger = store["other"].memberships.get().user
    set_stock(kantha, 2)
    inventory_alerts_scan()
    alert = InventoryAlert.objects.get()
    resolve = f"{URL}/alerts/{alert.pk}/resolve"

    too_soon = as_user(owner, "POST", resolve)
    set_stock(kantha, 20)
    not_theirs = as_user(stranger, "POST", resolve)
    done = as_user(owner, "POST", resolve)
    again = as_user(owner, "POST", resolve)

    assert (too_soon.status, too_soon.json()["error"]["code"]) == (409, "stock_still_low")
    assert not_theirs.status == 403
    assert done.status == 200 and done.json()["resolved_at"] is not None
    assert again.json()["resolved_at"] == done.json()["resolved_at"]
    assert inventory_alerts_scan() == {"alerts_opened": 0, "alerts_resolved": 0}
    resolved = as_user(owner, "GET", f"{URL}/alerts?status=resolved").json()
    assert [row["id"] for row in resolved["items"]] == [str(alert.pk)]
    assert as_user(owner, "GET", f"{URL}/alerts").json()["count"] == 0
