"""Affiliates: application and approval by staff, clicks, orders attributed within the window,
commissions accrued on delivery and reversed on refund or return, payouts that add up."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

import api.checkout
import api.referrals
from db.models import (
    AffiliateAttribution,
    AffiliateClick,
    AffiliateCommission,
    AffiliatePayout,
    Order,
    OrderStatusEvent,
)
from lib.referrals.hooks import referrals_order_status
from tests.payment_shop import cod_order, signed_in
from tests.support import call
from tests.test_loyalty import DELIVERY, move

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(server_key):
    return signed_in(server_key, "staff")


@pytest.fixture
def affiliate(server_key, staff):
    """An approved affiliate (10%, 7 days): (user, headers, code)."""
    user, headers = signed_in(server_key, "customer")
    applied = post("/affiliates/apply", {"website": "https://blog.example"}, headers)
    assert applied.status == 201, applied.body
    decided = post(
        f"/admin/affiliates/{applied.json()['id']}/decision",
        {"approve": True, "commission_rate": "10", "cookie_window_days": 7},
        staff[1],
    )
    assert decided.status == 200, decided.body
    return user, headers, decided.json()["code"]


@pytest.fixture
def buyer(server_key):
    return signed_in(server_key, "customer")


def post(path: str, body: dict, headers: dict):
    return call(api.referrals.app, "POST", f"/api/v1{path}", json_body=body, headers=headers)


def get(path: str, headers: dict):
    return call(api.referrals.app, "GET", f"/api/v1{path}", headers=headers)


def order_with(headers, code: str = "", seen_at=None, price: str = "1000.00") -> Order:
    return cod_order(
        headers,
        price=price,
        line1="House 9",
        email="buyer@shop.test",
        **({"ref": code} if code else {}),
        **({"ref_seen_at": seen_at.isoformat()} if seen_at else {}),
    )


def approved_commissions(staff_headers, *commissions) -> None:
    ids = [str(c.pk) for c in commissions]
    reply = post("/admin/affiliates/commissions/approve", {"commission_ids": ids}, staff_headers)
    assert reply.status == 200, reply.body


def test_applying_twice_is_refused_and_only_staff_decide(server_key, staff):
    _, headers = signed_in(server_key, "customer")

    first = post("/affiliates/apply", {}, headers)
    again = post("/affiliates/apply", {}, headers)
    by_customer = post(f"/admin/affiliates/{first.json()['id']}/decision", {"approve": 1}, headers)
    rejected = post(
        f"/admin/affiliates/{first.json()['id']}/decision", {"approve": False}, staff[1]
    )
    decided_again = post(
        f"/admin/affiliates/{first.json()['id']}/decision", {"approve": True}, staff[1]
    )

    assert (first.status, first.json()["status"]) == (201, "pending")
    assert (again.status, again.json()["error"]["code"]) == (409, "affiliate_exists")
    assert by_customer.status == 403
    assert (rejected.status, rejected.json()["status"]) == (200, "rejected")
    assert (decided_again.status, decided_again.json()["error"]["code"]) == (
        409,
        "affiliate_not_pending",
    )


def test_a_click_is_counted_and_only_an_approved_affiliate_is_named(affiliate, server_key):
    _, _, code = affiliate

    known = post("/referrals/clicks", {"code": code, "landing_path": "/p/tea"}, server_key)
    unknown = post("/referrals/clicks", {"code": "NOPE2345"}, server_key)

    assert (known.status, known.json()["affiliate"], known.json()["window_days"]) == (200, True, 7)
    assert unknown.json()["affiliate"] is False
    assert AffiliateClick.objects.count() == 1


def test_a_delivered_order_accrues_the_commission_once_and_a_refund_reverses_it(
    affiliate, buyer, server_key
):
    _, _, code = affiliate
    seen = timezone.now() - timedelta(days=6)
    order = move(order_with(buyer[1], code, seen), *DELIVERY)
    guest_order = move(order_with(server_key, code), *DELIVERY)
    event = OrderStatusEvent.objects.get(order=order, to_status="delivered")
    referrals_order_status(order, event)  # the hook again: nothing more

    commission = AffiliateCommission.objects.get(order=order)
    assert (commission.base_amount, commission.rate) == (Decimal("1000.00"), Decimal("10.00"))
    assert (commission.amount, commission.status) == (Decimal("100.00"), "pending")
    assert AffiliateCommission.objects.filter(order=guest_order).exists()
    assert AffiliateCommission.objects.count() == 2
    move(order, "returned", "refunded")
    assert AffiliateCommission.objects.get(order=order).status == "reversed"


@pytest.mark.parametrize("days_ago", [8, 30])
def test_an_order_after_the_window_is_not_attributed(affiliate, buyer, days_ago):
    _, _, code = affiliate

    order = order_with(buyer[1], code, timezone.now() - timedelta(days=days_ago))

    assert not AffiliateAttribution.objects.filter(order=order).exists()


def test_an_affiliate_buying_with_their_own_code_earns_nothing(affiliate):
    _, headers, code = affiliate

    order = move(order_with(headers, code), *DELIVERY)

    assert not AffiliateCommission.objects.filter(order=order).exists()


def test_payouts_cover_exactly_the_approved_commissions_they_list(affiliate, buyer, staff):
    affiliate_user, affiliate_headers, code = affiliate
    _, staff_headers = staff
    orders = [
        move(order_with(buyer[1], code, price=p), *DELIVERY)
        for p in ("1000.00", "2500.00", "700.00")
    ]
    first, second, third = (AffiliateCommission.objects.get(order=o) for o in orders)
    affiliate_id = first.affiliate_id
    approved_commissions(staff_headers, first, second)
    url = f"/admin/affiliates/{affiliate_id}/payouts"

    with_pending = post(url, {"commission_ids": [str(first.pk), str(third.pk)]}, staff_headers)
    paid = post(
        url, {"commission_ids": [str(first.pk), str(second.pk)], "reference": "BK1"}, staff_headers
    )
    paid_again = post(url, {"commission_ids": [str(first.pk)]}, staff_headers)
    by_affiliate = post(url, {"commission_ids": [str(third.pk)]}, affiliate_headers)

    assert (with_pending.status, with_pending.json()["error"]["code"]) == (
        409,
        "commission_not_payable",
    )
    assert with_pending.json()["error"]["fields"]["commission_ids"] == [str(third.pk)]
    assert (paid.status, paid.json()["amount"]["amount"]) == (201, "350.00")
    assert paid_again.status == 409 and by_affiliate.status == 403
    payout = AffiliatePayout.objects.get()
    assert payout.amount == sum(c.amount for c in payout.commissions.all())
    assert set(payout.commissions.values_list("status", flat=True)) == {"paid"}
    # Returned after being paid: a paid commission stays paid.
    move(orders[0], "returned")
    assert AffiliateCommission.objects.get(pk=first.pk).status == "paid"
    assert affiliate_user.pk == payout.affiliate.user_id


def test_the_dashboard_totals_add_up_by_status(
    affiliate, buyer, staff, server_key, django_assert_num_queries
):
    _, affiliate_headers, code = affiliate
    post("/referrals/clicks", {"code": code}, server_key)
    kept = move(order_with(buyer[1], code), *DELIVERY)
    move(move(order_with(buyer[1], code, price="500.00"), *DELIVERY), "returned")
    order_with(buyer[1], code)  # placed, not delivered: attributed, no commission yet
    approved_commissions(staff[1], AffiliateCommission.objects.get(order=kept))

    with django_assert_num_queries(5):  # affiliate, clicks, orders, totals, payouts
        reply = get("/affiliates/me", affiliate_headers)

    data = reply.json()
    assert reply.status == 200, data
    assert (data["clicks"], data["orders"]) == (1, 3)
    commissions = data["commissions"]
    assert commissions["approved"] == {
        "count": 1,
        "amount": {"amount": "100.00", "currency": "BDT", "display": "৳100.00"},
    }
    assert commissions["reversed"]["amount"]["amount"] == "50.00"
    assert (commissions["pending"]["count"], commissions["paid"]["count"]) == (0, 0)
    assert data["payouts"] == [] and data["paid_total"]["amount"] == "0.00"


def test_staff_list_affiliates_by_status(affiliate, staff, server_key, django_assert_num_queries):
    _, pending_headers = signed_in(server_key, "customer")
    post("/affiliates/apply", {}, pending_headers)

    with django_assert_num_queries(2):  # count, page (codes joined)
        reply = get("/admin/affiliates?status=approved", staff[1])

    data = reply.json()
    assert reply.status == 200, data
    assert data["count"] == 1 and data["items"][0]["code"] == affiliate[2]
    assert get("/affiliates/me", pending_headers).json()["status"] == "pending"
