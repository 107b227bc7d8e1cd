"""The marketplace in the Django admin: applications decided by actions (through the same
services as the API), commission rules, vendors' parts of orders, the read-only ledger and
payouts cancelled by an action."""

from __future__ import annotations

import sys
import types
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.contrib import admin
from django.test import Client
from django.urls import path

from db.models import (
    LedgerKind,
    UserRole,
    Vendor,
    VendorApplication,
    VendorLedgerEntry,
    VendorMember,
    VendorPayout,
)
from lib.vendors.balances import payout_record, vendor_balance
from tests.vendor_shop import person, vendor_with_owner

pytestmark = pytest.mark.django_db

urls = types.ModuleType("zest_test_vendor_admin_urls")
urls.urlpatterns = [path("admin/", admin.site.urls)]
sys.modules[urls.__name__] = urls
BASE = "/admin/db"


@pytest.fixture(autouse=True)
def admin_function(settings):
    settings.ROOT_URLCONF = urls.__name__
    settings.MIDDLEWARE = django_settings.ADMIN_MIDDLEWARE


@pytest.fixture
def staff() -> Client:
    client = Client()
    client.force_login(person(UserRole.STAFF, is_staff=True))
    return client


def pending(slug: str) -> VendorApplication:
    return VendorApplication.objects.create(
        applicant=person(),
        business_name=slug.title(),
        slug=slug,
        contact_email=f"{slug}@shop.test",
        trade_licence_no="TL-1",
        payout_method="nagad",
        payout_account={"account_number": "01812345678"},
    )


def act(client: Client, model: str, action: str, ids: list) -> None:
    reply = client.post(
        f"{BASE}/{model}/",
        {"action": action, "_selected_action": [str(pk) for pk in ids]},
        follow=True,
    )
    assert reply.status_code == 200


def test_staff_approve_and_reject_applications_by_action(staff):
    approve, reject = pending("bengal-tea"), pending("jamdani")

    act(staff, "vendorapplication", "reject", [reject.pk])  # no reason written: refused
    reject.refresh_from_db()
    assert reject.status == "pending"

    VendorApplication.objects.filter(pk=reject.pk).update(decision_reason="Licence unreadable.")
    act(staff, "vendorapplication", "reject", [reject.pk])
    act(staff, "vendorapplication", "approve", [approve.pk])

    reject.refresh_from_db()
    approve.refresh_from_db()
    assert (reject.status, reject.decision_reason) == ("rejected", "Licence unreadable.")
    assert approve.status == "approved"
    vendor = Vendor.objects.get(slug="bengal-tea")
    assert VendorMember.objects.get(vendor=vendor).role == "owner"
    approve.applicant.refresh_from_db()
    assert approve.applicant.role == "vendor_owner"


def test_the_ledger_is_read_only_and_a_payout_is_cancelled_by_action(staff):
    vendor, _ = vendor_with_owner()
    VendorLedgerEntry.objects.create(vendor=vendor, kind=LedgerKind.SALE, amount=Decimal("500"))
    payout, _ = payout_record(
        vendor_id=vendor.pk,
        amount=Decimal("200.00"),
        method="bkash",
        reference="TRX-9",
        idempotency_key="admin-payout-0001",
    )
    entry = VendorLedgerEntry.objects.filter(vendor=vendor).first()

    assert staff.get(f"{BASE}/vendorledgerentry/").status_code == 200
    assert staff.get(f"{BASE}/vendorledgerentry/add/").status_code == 403
    staff.post(f"{BASE}/vendorledgerentry/{entry.pk}/delete/", {"post": "yes"})
    assert VendorLedgerEntry.objects.filter(pk=entry.pk).exists()

    act(staff, "vendorpayout", "cancel", [payout.pk])
    payout.refresh_from_db()
    assert payout.status == "cancelled"
    assert vendor_balance(vendor.pk) == Decimal("500.00")
    assert VendorPayout.objects.count() == 1


@pytest.mark.parametrize(
    "model", ["vendorapplication", "commissionrule", "vendororder", "vendorpayout"]
)
def test_staff_open_every_marketplace_list(staff, model):
    assert staff.get(f"{BASE}/{model}/").status_code == 200


def test_suspending_in_the_admin_signs_the_members_out_and_reinstating_brings_them_back(staff, kv):
    from lib.access.sessions import session_key, session_start
    from lib.access.tokens import user_vendor_ids
    from lib.catalog.selectors import products_listed
    from tests import factories

    vendor, owner = vendor_with_owner()
    product = factories.product(category=factories.category(), vendor=vendor, images=0)
    session_id = session_start(user=owner, ip="127.0.0.1", user_agent="test").refresh_token
    session_id = session_id.partition(".")[0]

    administrator = Client()  # staff only view vendors in the admin (they suspend by API)
    administrator.force_login(person(UserRole.ADMIN, is_staff=True))
    act(administrator, "vendor", "suspend", [vendor.pk])

    vendor.refresh_from_db()
    assert vendor.status == "suspended"
    assert not products_listed().filter(pk=product.pk).exists()
    assert user_vendor_ids(owner) == []
    assert not kv.exists(session_key(session_id))

    act(administrator, "vendor", "approve", [vendor.pk])
    vendor.refresh_from_db()
    assert vendor.status == "active"
    assert user_vendor_ids(owner) == [str(vendor.pk)]
