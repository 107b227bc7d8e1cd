"""Marketplace: applications, vendor people, orders split per vendor with frozen commission,
fulfilment by parts, the vendor ledger, payouts and suspension."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

import api.catalog
import api.checkout
from db.models import (
    CommissionRule,
    LedgerKind,
    Notification,
    Order,
    Product,
    Vendor,
    VendorApplication,
    VendorLedgerEntry,
    VendorMember,
    VendorOrder,
    VendorPayout,
)
from lib.orders.state import order_transition
from lib.vendors.balances import vendor_balance
from tests import factories
from tests.support import call
from tests.vendor_shop import (
    admin_call,
    geo_load,
    order_of,
    person,
    signed_in,
    vendor_product,
    vendor_with_owner,
    vendors_call,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def geo():
    geo_load()


@pytest.fixture
def staff(server_key):
    return signed_in(server_key, person("staff"))


def application(**fields) -> dict:
    return {
        "business_name": "Dhaka Crafts",
        "slug": "dhaka-crafts",
        "contact_email": "hello@dhakacrafts.test",
        "contact_phone": "+8801712345678",
        "trade_licence_no": "TRAD/DNCC/123456",
        "payout_method": "bkash",
        "payout_account": {"account_number": "01712345678"},
        **fields,
    }


# --- applications -------------------------------------------------------------------------------


def test_an_approved_applicant_owns_the_new_vendor_and_signs_in_again(server_key, staff):
    applicant = person()
    headers = signed_in(server_key, applicant)

    applied = vendors_call("POST", "/applications", headers, json_body=application())
    again = vendors_call("POST", "/applications", headers, json_body=application(slug="other"))
    mine = vendors_call("GET", "/applications/mine", headers)

    assert applied.status == 201, applied.body
    assert applied.json()["status"] == "pending"
    assert (again.status, again.json()["error"]["code"]) == (409, "vendor_application_open")
    assert [a["id"] for a in mine.json()] == [applied.json()["id"]]

    approved = admin_call("POST", f"/applications/{applied.json()['id']}/approve", staff)
    assert approved.status == 200, approved.body
    vendor = Vendor.objects.get(slug="dhaka-crafts")
    assert vendor.status == "active"
    assert (vendor.payout_method, vendor.payout_account) == (
        "bkash",
        {"account_number": "01712345678"},
    )
    assert VendorMember.objects.get(vendor=vendor).user_id == applicant.pk
    applicant.refresh_from_db()
    assert applicant.role == "vendor_owner"
    # the old session ended: the new role and vendor come with the next sign-in
    assert vendors_call("GET", "/mine", headers).status == 401
    mine = vendors_call("GET", "/mine", signed_in(server_key, applicant))
    assert [(m["slug"], m["role"]) for m in mine.json()] == [("dhaka-crafts", "owner")]

    news = Notification.objects.get(user=applicant)
    assert news.kind == "vendor.application_approved"
    assert (news.title_en, news.title_bn) == ("Your shop is approved", "আপনার দোকান অনুমোদিত হয়েছে")

    twice = admin_call("POST", f"/applications/{applied.json()['id']}/approve", staff)
    assert (twice.status, twice.json()["error"]["code"]) == (409, "vendor_application_decided")


def test_a_rejected_application_keeps_the_reason_and_lets_the_user_apply_again(server_key, staff):
    applicant = person()
    headers = signed_in(server_key, applicant)
    first = vendors_call("POST", "/applications", headers, json_body=application()).json()

    short = admin_call("POST", f"/applications/{first['id']}/reject", staff, json_body={})
    rejected = admin_call(
        "POST",
        f"/applications/{first['id']}/reject",
        staff,
        json_body={"reason": "The trade licence has expired."},
    )
    again = vendors_call("POST", "/applications", headers, json_body=application())

    assert short.status == 422
    assert rejected.status == 200
    assert rejected.json()["decision_reason"] == "The trade licence has expired."
    assert Notification.objects.get(user=applicant).kind == "vendor.application_rejected"
    assert again.status == 201
    assert not Vendor.objects.filter(slug="dhaka-crafts").exists()
    applicant.refresh_from_db()
    assert applicant.role == "customer"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"payout_account": {"account_number": "12345"}}, "payout_account.account_number"),
        (
            {"payout_method": "bank", "payout_account": {"account_number": "0012345678"}},
            "payout_account.account_name",
        ),
        ({"slug": "Not A Slug"}, "slug"),
        ({"contact_phone": "01712345678"}, "contact_phone"),
        ({"nid_no": "123"}, "nid_no"),
        ({"favourite_colour": "green"}, "favourite_colour"),
    ],
)
def test_a_bad_application_is_422_naming_the_field(server_key, fields, field):
    headers = signed_in(server_key, person())
    reply = vendors_call("POST", "/applications", headers, json_body=application(**fields))
    assert reply.status == 422, reply.body
    assert any(name.endswith(field) for name in reply.json()["error"]["fields"]), reply.json()
    assert not VendorApplication.objects.exists()


def test_a_slug_in_use_is_409(server_key):
    vendor_with_owner()
    taken = Vendor.objects.get().slug
    headers = signed_in(server_key, person())
    reply = vendors_call("POST", "/applications", headers, json_body=application(slug=taken))
    assert (reply.status, reply.json()["error"]["code"]) == (409, "vendor_slug_taken")


def test_only_staff_decide_applications(server_key):
    applicant = person()
    headers = signed_in(server_key, applicant)
    applied = vendors_call("POST", "/applications", headers, json_body=application()).json()
    _, owner = vendor_with_owner()
    for caller in (headers, signed_in(server_key, owner)):
        assert admin_call("POST", f"/applications/{applied['id']}/approve", caller).status == 403
    assert VendorApplication.objects.get().status == "pending"


# --- people -------------------------------------------------------------------------------------


def test_an_owner_adds_changes_and_removes_people_but_never_the_last_owner(server_key):
    vendor, owner = vendor_with_owner()
    headers = signed_in(server_key, owner)
    helper = person(phone="+8801812345678")
    url = f"/{vendor.pk}/members"

    added = vendors_call("POST", url, headers, json_body={"phone": "+8801812345678"})
    twice = vendors_call("POST", url, headers, json_body={"phone": "+8801812345678"})
    nobody = vendors_call("POST", url, headers, json_body={"email": "nobody@shop.test"})
    both = vendors_call(
        "POST", url, headers, json_body={"email": "a@shop.test", "phone": "+8801812345678"}
    )

    assert added.status == 201, added.body
    assert added.json()["role"] == "staff"
    assert (twice.status, twice.json()["error"]["code"]) == (409, "vendor_member_exists")
    assert (nobody.status, nobody.json()["error"]["code"]) == (404, "vendor_member_unknown_user")
    assert both.status == 422
    helper.refresh_from_db()
    assert helper.role == "vendor_staff"

    # staff of the vendor cannot manage its people
    as_helper = signed_in(server_key, helper)
    assert vendors_call("GET", url, as_helper).status == 200
    assert vendors_call("POST", url, as_helper, json_body={"email": owner.email}).status == 403

    owner_member = VendorMember.objects.get(vendor=vendor, user=owner)
    demote = vendors_call("PATCH", f"{url}/{owner_member.pk}", headers, json_body={"role": "staff"})
    remove = vendors_call("DELETE", f"{url}/{owner_member.pk}", headers)
    assert (demote.status, demote.json()["error"]["code"]) == (409, "vendor_last_owner")
    assert (remove.status, remove.json()["error"]["code"]) == (409, "vendor_last_owner")

    promoted = vendors_call(
        "PATCH", f"{url}/{added.json()['id']}", headers, json_body={"role": "owner"}
    )
    assert promoted.status == 200
    helper.refresh_from_db()
    assert helper.role == "vendor_owner"
    assert vendors_call("DELETE", f"{url}/{owner_member.pk}", headers).status == 204
    owner.refresh_from_db()
    assert owner.role == "customer"
    assert list(VendorMember.objects.filter(vendor=vendor).values_list("user_id", flat=True)) == [
        helper.pk
    ]


# --- orders split per vendor, commission -------------------------------------------------------


def test_an_order_is_split_per_vendor_with_the_most_specific_commission_frozen(server_key):
    first, _ = vendor_with_owner()
    second, _ = vendor_with_owner()
    parent = factories.category()
    child = factories.category(parent=parent)
    other = factories.category()
    now = timezone.now()
    CommissionRule.objects.create(scope="global", rate=Decimal("10.00"))
    CommissionRule.objects.create(scope="category", category=parent, rate=Decimal("8.00"))
    CommissionRule.objects.create(scope="vendor", vendor=first, rate=Decimal("5.00"))
    CommissionRule.objects.create(
        scope="vendor_category", vendor=first, category=parent, rate=Decimal("3.00")
    )
    # not in force: ended, or not started yet
    CommissionRule.objects.create(
        scope="vendor",
        vendor=second,
        rate=Decimal("1.00"),
        starts_at=now - timedelta(days=9),
        ends_at=now - timedelta(days=1),
    )
    CommissionRule.objects.create(
        scope="vendor", vendor=second, rate=Decimal("2.00"), starts_at=now + timedelta(days=1)
    )
    lines = [
        vendor_product(first, category=child, price="200.00"),  # vendor+category: 3%
        vendor_product(first, category=other, price="100.00"),  # vendor: 5%
        vendor_product(second, category=child, price="300.00"),  # category: 8%
        vendor_product(second, category=other, price="50.00"),  # global: 10%
        vendor_product(None, category=other, price="70.00"),  # the store's own
    ]

    order = order_of(*lines, server_key=server_key, quantity=2)

    parts = {part.vendor_id: part for part in VendorOrder.objects.filter(order=order)}
    assert set(parts) == {first.pk, second.pk}
    a, b = parts[first.pk], parts[second.pk]
    assert (a.subtotal, a.commission, a.payout_amount) == (
        Decimal("600.00"),
        Decimal("22.00"),  # 400 * 3% + 200 * 5%
        Decimal("578.00"),
    )
    assert (b.subtotal, b.commission, b.payout_amount) == (
        Decimal("700.00"),
        Decimal("58.00"),  # 600 * 8% + 100 * 10%
        Decimal("642.00"),
    )
    assert {a.status, b.status} == {order.status}
    rates = sorted(line.commission_rate for part in (a, b) for line in part.lines.all())
    assert rates == [Decimal("3.00"), Decimal("5.00"), Decimal("8.00"), Decimal("10.00")]

    # later rule changes leave placed orders alone
    CommissionRule.objects.update(rate=Decimal("50.00"))
    a.refresh_from_db()
    assert a.commission == Decimal("22.00")


def test_no_rule_means_no_commission_and_a_store_only_order_has_no_parts(server_key):
    vendor, _ = vendor_with_owner()
    category = factories.category()
    store_only = order_of(vendor_product(None, category=category), server_key=server_key)
    with_vendor = order_of(vendor_product(vendor, category=category), server_key=server_key)
    assert not VendorOrder.objects.filter(order=store_only).exists()
    part = VendorOrder.objects.get(order=with_vendor)
    assert (part.commission, part.payout_amount) == (Decimal("0.00"), Decimal("100.00"))


def test_staff_manage_commission_rules(staff):
    vendor, _ = vendor_with_owner()
    category = factories.category()
    base = "/commission-rules"
    created = admin_call(
        "POST",
        base,
        staff,
        json_body={
            "scope": "vendor_category",
            "vendor_id": str(vendor.pk),
            "category_id": str(category.pk),
            "rate": "4.50",
        },
    )
    missing = admin_call("POST", base, staff, json_body={"scope": "vendor", "rate": "4.50"})
    stray = admin_call(
        "POST", base, staff, json_body={"scope": "global", "vendor_id": str(vendor.pk), "rate": "1"}
    )
    too_much = admin_call("POST", base, staff, json_body={"scope": "global", "rate": "100.01"})
    backwards = admin_call(
        "POST",
        base,
        staff,
        json_body={
            "scope": "global",
            "rate": "1",
            "starts_at": "2030-01-02T00:00:00Z",
            "ends_at": "2030-01-01T00:00:00Z",
        },
    )

    assert created.status == 201, created.body
    assert created.json()["rate"] == "4.50"
    assert (missing.status, list(missing.json()["error"]["fields"])) == (422, ["vendor_id"])
    assert (stray.status, list(stray.json()["error"]["fields"])) == (422, ["vendor_id"])
    assert too_much.status == 422
    assert (backwards.status, list(backwards.json()["error"]["fields"])) == (422, ["ends_at"])

    rule = created.json()["id"]
    changed = admin_call("PATCH", f"{base}/{rule}", staff, json_body={"rate": "6"})
    empty = admin_call("PATCH", f"{base}/{rule}", staff, json_body={})
    listed = admin_call("GET", f"{base}?vendor_id={vendor.pk}", staff)
    assert changed.json()["rate"] == "6.00"
    assert empty.status == 422
    assert [r["id"] for r in listed.json()["items"]] == [rule]
    assert admin_call("DELETE", f"{base}/{rule}", staff).status == 204
    assert admin_call("DELETE", f"{base}/{rule}", staff).status == 404


# --- fulfilment by parts, the ledger -------------------------------------------------------------


@pytest.fixture
def two_vendor_order(server_key):
    first, first_owner = vendor_with_owner()
    second, second_owner = vendor_with_owner()
    category = factories.category()
    CommissionRule.objects.create(scope="global", rate=Decimal("10.00"))
    order = order_of(
        vendor_product(first, category=category, price="400.00"),
        vendor_product(second, category=category, price="250.00"),
        server_key=server_key,
    )
    parts = {p.vendor_id: p for p in VendorOrder.objects.filter(order=order)}
    return {
        "order": order,
        "first": (first, signed_in(server_key, first_owner), parts[first.pk]),
        "second": (second, signed_in(server_key, second_owner), parts[second.pk]),
    }


def move(vendor, headers, part, to_status):
    return vendors_call(
        "POST",
        f"/{vendor.pk}/orders/{part.pk}/transition",
        headers,
        json_body={"to_status": to_status},
    )


def test_each_vendor_moves_its_part_and_the_order_follows_the_slowest(two_vendor_order):
    order = two_vendor_order["order"]
    first, first_headers, first_part = two_vendor_order["first"]
    second, second_headers, second_part = two_vendor_order["second"]

    early = move(first, first_headers, first_part, "shipped")
    assert (early.status, early.json()["error"]["code"]) == (409, "transition_forbidden")

    order_transition(order=order, to_status="processing")
    assert set(VendorOrder.objects.filter(order=order).values_list("status", flat=True)) == {
        "processing"
    }

    shipped = move(first, first_headers, first_part, "shipped")
    assert shipped.status == 200, shipped.body
    assert (shipped.json()["status"], shipped.json()["order_status"]) == ("shipped", "processing")
    assert move(first, first_headers, first_part, "delivered").status == 200
    order.refresh_from_db()
    assert order.status == "processing"

    assert move(second, second_headers, second_part, "shipped").status == 200
    order.refresh_from_db()
    assert order.status == "shipped"
    first_part.refresh_from_db()
    assert first_part.status == "delivered"  # already further along: kept
    assert not VendorLedgerEntry.objects.exists()

    last = move(second, second_headers, second_part, "delivered")
    assert last.json()["order_status"] == "delivered"
    assert vendor_balance(first.pk) == Decimal("360.00")  # 400 - 10%
    assert vendor_balance(second.pk) == Decimal("225.00")
    again = move(second, second_headers, second_part, "delivered")
    assert (again.status, again.json()["error"]["code"]) == (409, "transition_forbidden")


def test_a_vendor_part_shows_only_its_lines_and_the_shipping_address(two_vendor_order):
    first, headers, part = two_vendor_order["first"]
    detail = vendors_call("GET", f"/{first.pk}/orders/{part.pk}", headers).json()
    assert [line["unit_price"]["amount"] for line in detail["lines"]] == ["400.00"]
    assert detail["ship_to"]["full_name"] == "Karim Ahmed"
    assert "karim@shop.test" not in str(detail)
    assert detail["subtotal"]["amount"] == "400.00"
    assert detail["commission"]["amount"] == "40.00"
    assert detail["payout_amount"]["amount"] == "360.00"
    assert "total_amount" not in detail


def test_an_order_with_store_items_waits_for_staff(server_key):
    vendor, owner = vendor_with_owner()
    category = factories.category()
    order = order_of(
        vendor_product(vendor, category=category),
        vendor_product(None, category=category),
        server_key=server_key,
    )
    part = VendorOrder.objects.get(order=order)
    order_transition(order=order, to_status="processing")
    assert move(vendor, signed_in(server_key, owner), part, "shipped").status == 200
    order.refresh_from_db()
    assert order.status == "processing"
    order_transition(order=order, to_status="shipped")
    part.refresh_from_db()
    assert part.status == "shipped"


def deliver(order: Order) -> None:
    for status in ("processing", "shipped", "delivered"):
        order_transition(order=order, to_status=status)


def ledger_sum(vendor) -> Decimal:
    return VendorLedgerEntry.objects.filter(vendor=vendor).aggregate(s=Sum("amount"))["s"]


def test_a_return_then_refund_reverses_the_sale_once(two_vendor_order):
    order = two_vendor_order["order"]
    first, headers, _ = two_vendor_order["first"]
    deliver(order)
    assert vendor_balance(first.pk) == Decimal("360.00")

    order_transition(order=order, to_status="returned")
    order_transition(order=order, to_status="refunded")

    kinds = sorted(VendorLedgerEntry.objects.filter(vendor=first).values_list("kind", flat=True))
    assert kinds == ["commission", "commission_reversal", "sale", "sale_reversal"]
    assert vendor_balance(first.pk) == Decimal("0.00") == ledger_sum(first)
    ledger = vendors_call("GET", f"/{first.pk}/ledger", headers).json()
    assert ledger["count"] == 4
    assert {e["order_number"] for e in ledger["items"]} == {order.number}


def test_a_refund_before_delivery_leaves_the_ledger_empty(server_key):
    vendor, _ = vendor_with_owner()
    order = order_of(vendor_product(vendor, category=factories.category()), server_key=server_key)
    order_transition(order=order, to_status="cancelled")
    assert not VendorLedgerEntry.objects.exists()
    assert VendorOrder.objects.get(order=order).status == "cancelled"


# --- payouts -------------------------------------------------------------------------------------


def payout(staff, vendor, amount, key, reference="BKASH-TRX-1"):
    return admin_call(
        "POST",
        f"/{vendor.pk}/payouts",
        {**staff, "Idempotency-Key": key},
        json_body={
            "amount": amount,
            "method": "bkash",
            "reference": reference,
            "period_start": "2026-11-01",
            "period_end": "2026-11-30",
        },
    )


def test_payouts_never_exceed_the_balance_and_replays_change_nothing(two_vendor_order, staff):
    order = two_vendor_order["order"]
    first, headers, _ = two_vendor_order["first"]
    deliver(order)

    too_much = payout(staff, first, "360.01", "payout-key-0001")
    paid = payout(staff, first, "300.00", "payout-key-0002")
    replay = payout(staff, first, "300.00", "payout-key-0002")
    reused = payout(staff, first, "10.00", "payout-key-0002")
    no_key = admin_call(
        "POST",
        f"/{first.pk}/payouts",
        staff,
        json_body={"amount": "1.00", "method": "bkash", "reference": "X-1"},
    )
    rest = payout(staff, first, "60.01", "payout-key-0003")

    assert (too_much.status, too_much.json()["error"]["code"]) == (409, "payout_exceeds_balance")
    assert paid.status == 201, paid.body
    assert (replay.status, replay.json()["id"]) == (200, paid.json()["id"])
    assert (reused.status, reused.json()["error"]["code"]) == (409, "idempotency_key_reused")
    assert no_key.status == 422
    assert rest.status == 409
    assert VendorPayout.objects.count() == 1
    assert vendor_balance(first.pk) == Decimal("60.00") == ledger_sum(first)

    cancelled = admin_call("POST", f"/payouts/{paid.json()['id']}/cancel", staff)
    again = admin_call("POST", f"/payouts/{paid.json()['id']}/cancel", staff)
    assert cancelled.json()["status"] == again.json()["status"] == "cancelled"
    assert vendor_balance(first.pk) == Decimal("360.00") == ledger_sum(first)

    assert payout(staff, first, "360.00", "payout-key-0004").status == 201
    seen = vendors_call("GET", f"/{first.pk}/payouts", headers).json()
    assert [p["status"] for p in seen["items"]] == ["paid", "cancelled"]
    balance = vendors_call("GET", f"/{first.pk}/balance", headers).json()
    assert balance["balance"]["amount"] == "0.00"
    # payouts add up: what was paid out is what the ledger debited for payouts
    debits = VendorLedgerEntry.objects.filter(
        vendor=first, kind__in=[LedgerKind.PAYOUT, LedgerKind.PAYOUT_REVERSAL]
    ).aggregate(s=Sum("amount"))["s"]
    paid_total = VendorPayout.objects.filter(vendor=first, status="paid").aggregate(
        s=Sum("amount")
    )["s"]
    assert -debits == paid_total == Decimal("360.00")


def test_the_dashboard_sums_sales_parts_to_fulfil_stock_and_balance(two_vendor_order, staff):
    first, headers, _ = two_vendor_order["first"]
    deliver(two_vendor_order["order"])
    reply = vendors_call("GET", f"/{first.pk}/dashboard", headers)
    assert reply.status == 200, reply.body
    board = reply.json()
    assert board["recent"]["orders"] == board["all_time"]["orders"] == 1
    assert board["recent"]["gross"]["amount"] == "400.00"
    assert board["recent"]["net"]["amount"] == "360.00"
    assert board["balance"]["amount"] == "360.00"
    assert set(board["to_fulfil"].values()) == {0}
    # staff read any vendor's dashboard through the same route
    assert vendors_call("GET", f"/{first.pk}/dashboard", staff).status == 200


# --- suspension ----------------------------------------------------------------------------------


def test_a_suspended_vendor_disappears_from_the_store_and_its_people_cannot_act(server_key, staff):
    vendor, owner = vendor_with_owner()
    category = factories.category()
    product = vendor_product(vendor, category=category)
    owner_headers = signed_in(server_key, owner)
    listing = f"/api/v1/products?vendor={vendor.slug}"
    assert [
        p["slug"] for p in call(api.catalog.app, "GET", listing, headers=server_key).json()["items"]
    ] == [product.slug]

    no_reason = admin_call("POST", f"/{vendor.pk}/suspend", staff, json_body={})
    suspended = admin_call(
        "POST", f"/{vendor.pk}/suspend", staff, json_body={"reason": "Counterfeit goods."}
    )
    twice = admin_call(
        "POST", f"/{vendor.pk}/suspend", staff, json_body={"reason": "Counterfeit goods."}
    )

    assert no_reason.status == 422
    assert suspended.status == 200
    assert (twice.status, twice.json()["error"]["code"]) == (409, "vendor_status_unchanged")
    assert call(api.catalog.app, "GET", listing, headers=server_key).json()["items"] == []
    page = call(api.catalog.app, "GET", f"/api/v1/products/{product.slug}", headers=server_key)
    assert page.status == 404
    address = {
        "full_name": "Karim Ahmed",
        "phone": "01812345678",
        "address_line1": "Road 7",
        "division": "Dhaka",
        "district": "Dhaka",
    }
    lines = [{"product_id": str(product.pk), "quantity": 1}]
    quote = call(
        api.checkout.app,
        "POST",
        "/api/v1/checkout/quote",
        headers=server_key,
        json_body={"lines": lines, "address": address},
    )
    placed = call(
        api.checkout.app,
        "POST",
        "/api/v1/checkout/orders",
        headers={**server_key, "Idempotency-Key": "suspended-vendor-order"},
        json_body={
            "lines": lines,
            "address": address,
            "email": "k@shop.test",
            "payment_method": "cod",
        },
    )
    assert [line["problem"] for line in quote.json()["lines"]] == ["unavailable"]
    assert placed.status in (409, 422), placed.body
    assert not Order.objects.exists()
    # the owner was signed out, and a new token leaves the vendor out
    assert vendors_call("GET", f"/{vendor.pk}/orders", owner_headers).status == 401
    fresh = signed_in(server_key, owner)
    assert vendors_call("GET", f"/{vendor.pk}/orders", fresh).status == 403

    assert admin_call("POST", f"/{vendor.pk}/reinstate", staff).status == 200
    assert vendors_call("GET", f"/{vendor.pk}/orders", signed_in(server_key, owner)).status == 200
    assert len(call(api.catalog.app, "GET", listing, headers=server_key).json()["items"]) == 1


# --- query counts --------------------------------------------------------------------------------


def test_vendor_reads_do_not_grow_with_the_page(server_key, django_assert_num_queries):
    vendor, owner = vendor_with_owner()
    headers = signed_in(server_key, owner)
    category = factories.category()
    deliver(order_of(vendor_product(vendor, category=category), server_key=server_key))

    def count(path: str) -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert vendors_call("GET", path, headers).status == 200
        return len(captured)

    paths = [f"/{vendor.pk}/orders", f"/{vendor.pk}/ledger", f"/{vendor.pk}/payouts"]
    one = [count(path) for path in paths]
    for _ in range(3):
        deliver(
            order_of(
                vendor_product(vendor, category=category),
                vendor_product(vendor, category=category),
                server_key=server_key,
            )
        )
    assert [count(path) for path in paths] == one
    with django_assert_num_queries(3):  # the page of parts with their orders, lines, count
        vendors_call("GET", f"/{vendor.pk}/orders", headers)
    with django_assert_num_queries(5):
        vendors_call("GET", f"/{vendor.pk}/dashboard", headers)


def test_a_customer_belongs_to_no_vendor(server_key):
    headers = signed_in(server_key, person())
    assert vendors_call("GET", "/mine", headers).json() == []


# --- demo data ---------------------------------------------------------------------------------


def test_the_demo_seed_adds_payout_accounts_rules_and_an_application_once():
    from devtools.seed import seed_demo_data

    seed_demo_data(stdout=lambda _: None)
    seed_demo_data(stdout=lambda _: None)

    nakshi = Vendor.objects.get(slug="nakshi-ghar")
    assert nakshi.payout_method == "bkash"
    assert CommissionRule.objects.filter(scope="global").count() == 1
    assert CommissionRule.objects.get(scope="vendor", vendor=nakshi).rate == Decimal("12.50")
    assert VendorApplication.objects.get().status == "pending"
    assert nakshi.memberships.filter(role="owner").exists()
    assert Product.objects.filter(vendor=nakshi).exclude(name_bn="").exists()
