"""Marketplace writes at the same moment: payouts never overdraw a balance nor repeat under
one key, two owners cannot remove each other, and vendors finishing their parts at once move
the order exactly once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from db.models import (
    CommissionRule,
    OrderStatusEvent,
    VendorLedgerEntry,
    VendorMember,
    VendorOrder,
    VendorPayout,
    VendorRole,
)
from lib.orders.state import order_transition
from lib.vendors.balances import payout_record, vendor_balance
from lib.vendors.fulfilment import vendor_order_transition
from lib.vendors.members import member_remove
from tests import factories
from tests.test_checkout_concurrency import run_all
from tests.vendor_shop import geo_load, order_of, person, vendor_product, vendor_with_owner

pytestmark = pytest.mark.django_db(transaction=True)


def delivered_sale(server_key, price: str = "400.00"):
    """A vendor whose delivered order left it `price` less 10% commission."""
    geo_load()
    vendor, _ = vendor_with_owner()
    CommissionRule.objects.create(scope="global", rate=Decimal("10.00"))
    order = order_of(
        vendor_product(vendor, category=factories.category(), price=price), server_key=server_key
    )
    for status in ("processing", "shipped", "delivered"):
        order_transition(order=order, to_status=status)
    return vendor


def pay(vendor, key: str, amount: str = "100.00") -> str:
    payout, created = payout_record(
        vendor_id=vendor.pk,
        amount=Decimal(amount),
        method="bkash",
        reference=f"TRX-{key}",
        idempotency_key=key,
    )
    return f"created {payout.pk}" if created else f"replayed {payout.pk}"


def test_ten_payouts_at_once_never_overdraw_the_balance(server_key):
    vendor = delivered_sale(server_key)  # balance 360.00

    outcomes = run_all(lambda i: pay(vendor, f"payout-at-once-{i:04d}"), 10)

    created = [o for o in outcomes if o.startswith("created")]
    assert len(created) == 3
    assert sorted(set(outcomes) - set(created)) == ["payout_exceeds_balance"]
    assert vendor_balance(vendor.pk) == Decimal("60.00")
    ledger = sum(VendorLedgerEntry.objects.filter(vendor=vendor).values_list("amount", flat=True))
    assert ledger == Decimal("60.00")


def test_one_key_sent_five_times_at_once_pays_once(server_key):
    vendor = delivered_sale(server_key)

    outcomes = run_all(lambda i: pay(vendor, "payout-same-key-0001"), 5)

    payout = VendorPayout.objects.get()
    assert sorted(o.split()[1] for o in outcomes) == [str(payout.pk)] * 5
    assert [o.split()[0] for o in outcomes].count("created") == 1
    assert vendor_balance(vendor.pk) == Decimal("260.00")


def test_two_owners_removing_each_other_at_once_leave_one_owner(kv):
    vendor, _ = vendor_with_owner()
    second = person("vendor_owner")
    VendorMember.objects.create(vendor=vendor, user=second, role=VendorRole.OWNER)
    members = list(VendorMember.objects.filter(vendor=vendor).order_by("created_at"))

    outcomes = run_all(
        lambda i: member_remove(vendor_id=vendor.pk, member_id=members[i].pk) or "removed", 2
    )

    assert sorted(outcomes) == ["removed", "vendor_last_owner"]
    assert VendorMember.objects.filter(vendor=vendor, role="owner").count() == 1


def test_vendors_delivering_their_parts_at_once_deliver_the_order_once(server_key):
    geo_load()
    category = factories.category()
    first, _ = vendor_with_owner()
    second, _ = vendor_with_owner()
    order = order_of(
        vendor_product(first, category=category),
        vendor_product(second, category=category),
        server_key=server_key,
    )
    order_transition(order=order, to_status="processing")
    parts = list(VendorOrder.objects.filter(order=order).order_by("vendor_id"))
    for part in parts:
        vendor_order_transition(
            vendor_order_id=part.pk, vendor_id=str(part.vendor_id), to_status="shipped"
        )

    def deliver(i: int) -> str:
        part = parts[i]
        vendor_order_transition(
            vendor_order_id=part.pk, vendor_id=str(part.vendor_id), to_status="delivered"
        )
        return "delivered"

    assert run_all(deliver, 2) == ["delivered", "delivered"]
    order.refresh_from_db()
    assert order.status == "delivered"
    assert OrderStatusEvent.objects.filter(order=order, to_status="delivered").count() == 1
    assert VendorLedgerEntry.objects.filter(kind="sale").count() == 2
