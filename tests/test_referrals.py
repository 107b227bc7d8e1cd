"""Referrals: each customer's code; a newcomer's first delivered order credits both once;
self-referrals (same account, phone, email, device or address) and late claims earn nothing."""

from __future__ import annotations

import pytest

import api.checkout
import api.referrals
from db.models import LoyaltyAccount, OrderStatusEvent, PointsEntry, Referral, User
from lib.conf import config
from lib.referrals.hooks import referrals_order_status
from tests.payment_shop import cod_order, signed_in
from tests.support import call
from tests.test_loyalty import DELIVERY, move

pytestmark = pytest.mark.django_db
URL = "/api/v1/referrals"


@pytest.fixture
def referrer(server_key):
    return signed_in(server_key, "customer", phone="+8801711111111")


@pytest.fixture
def newcomer(server_key):
    return signed_in(server_key, "customer", phone="+8801722222222")


def code_of(headers) -> str:
    reply = call(api.referrals.app, "GET", URL, headers=headers)
    assert reply.status == 200, reply.body
    return reply.json()["code"]


def claim(headers, code: str):
    return call(
        api.referrals.app, "POST", f"{URL}/claim", json_body={"code": code}, headers=headers
    )


def points(user) -> int:
    account = LoyaltyAccount.objects.filter(user=user).first()
    return account.balance if account else 0


def test_the_code_is_stable_and_shared_as_a_storefront_link(referrer, django_assert_num_queries):
    _, headers = referrer
    first = code_of(headers)

    with django_assert_num_queries(4):  # code, counts, bonus points, referred by
        reply = call(api.referrals.app, "GET", URL, headers=headers)

    data = reply.json()
    assert data["code"] == first and len(first) == 8
    assert data["link"] == f"{config.storefront_url}/?ref={first}"
    assert (data["pending"], data["credited"], data["points_earned"]) == (0, 0, 0)


def test_a_claimed_referral_credits_both_once_on_the_first_delivered_order(referrer, newcomer):
    referrer_user, referrer_headers = referrer
    user, headers = newcomer

    claimed = claim(headers, code_of(referrer_headers).lower())
    first = move(cod_order(headers), *DELIVERY)
    second = move(cod_order(headers), *DELIVERY)
    event = OrderStatusEvent.objects.get(order=first, to_status="delivered")
    referrals_order_status(first, event)  # the hook again, as after a retried transition

    assert (claimed.status, claimed.json()["status"]) == (201, "pending")
    referral = Referral.objects.get()
    assert (referral.status, referral.order_id) == ("credited", first.pk)
    assert PointsEntry.objects.filter(kind="referral_bonus").count() == 2
    assert points(referrer_user) == 200
    assert points(user) == 100 + 10 + 10  # the bonus and each order's own points
    assert second.status == "delivered"
    summary = call(api.referrals.app, "GET", URL, headers=referrer_headers).json()
    assert (summary["credited"], summary["points_earned"]) == (1, 200)


def test_a_code_given_at_the_first_checkout_counts_as_a_referral(referrer, newcomer):
    _, referrer_headers = referrer
    user, headers = newcomer

    order = move(cod_order(headers, ref=code_of(referrer_headers)), *DELIVERY)

    referral = Referral.objects.get(referee=user)
    assert (referral.source, referral.status, referral.order_id) == (
        "checkout",
        "credited",
        order.pk,
    )


def test_an_existing_customer_cannot_be_referred(referrer, newcomer):
    _, referrer_headers = referrer
    _, headers = newcomer
    code = code_of(referrer_headers)
    cod_order(headers)

    late_claim = claim(headers, code)
    at_second_checkout = cod_order(headers, ref=code)

    assert (late_claim.status, late_claim.json()["error"]["code"]) == (409, "referral_too_late")
    assert at_second_checkout.status == "placed"
    assert not Referral.objects.exists()


def test_own_unknown_and_second_codes_are_refused(referrer, newcomer, server_key):
    _, referrer_headers = referrer
    _, headers = newcomer
    _, other_headers = signed_in(server_key, "customer")

    own = claim(referrer_headers, code_of(referrer_headers))
    unknown = claim(headers, "NOPE2345")
    first = claim(headers, code_of(referrer_headers))
    again = claim(headers, code_of(other_headers))
    guest = call(api.referrals.app, "POST", f"{URL}/claim", json_body={"code": "X"})

    assert (own.status, own.json()["error"]["code"]) == (422, "referral_self")
    assert (unknown.status, unknown.json()["error"]["code"]) == (422, "referral_code_invalid")
    assert first.status == 201
    assert (again.status, again.json()["error"]["code"]) == (409, "referral_exists")
    assert guest.status == 401


@pytest.mark.parametrize(
    ("reason", "newcomer_order"),
    [
        ("same_phone", {"phone": "01744444444"}),
        ("same_device", {"device_id": "phone-of-the-referrer"}),
        ("same_address", {"line1": "Flat 1A,  road 1"}),
    ],
)
def test_a_referral_looking_like_the_referrer_themselves_is_blocked(
    referrer, newcomer, reason, newcomer_order
):
    referrer_user, referrer_headers = referrer
    user, headers = newcomer
    move(
        cod_order(
            referrer_headers,
            phone="01744444444",
            line1="Flat 1A, Road 1",
            device_id="phone-of-the-referrer",
        ),
        *DELIVERY,
    )
    claim(headers, code_of(referrer_headers))
    before = points(referrer_user)
    move(cod_order(headers, **newcomer_order), *DELIVERY)

    referral = Referral.objects.get(referee=user)
    assert (referral.status, referral.blocked_reason) == ("blocked", reason)
    assert not PointsEntry.objects.filter(kind="referral_bonus").exists()
    assert points(referrer_user) == before


def register(server_key, email: str, **fields):
    import api.auth

    body = {"email": email, "password": "a long passphrase 42", **fields}
    return call(api.auth.app, "POST", "/api/v1/auth/register", json_body=body, headers=server_key)


def test_a_code_given_at_sign_up_is_recorded_and_an_unknown_one_refused(referrer, server_key):
    _, referrer_headers = referrer
    code = code_of(referrer_headers)

    unknown = register(server_key, "nobody@shop.test", referral_code="NOPE2345")
    signed_up = register(server_key, "friend@shop.test", referral_code=code)

    assert (unknown.status, unknown.json()["error"]["code"]) == (422, "referral_code_invalid")
    assert "referral_code" in unknown.json()["error"]["fields"]
    assert not User.objects.filter(email="nobody@shop.test").exists()
    assert signed_up.status == 201, signed_up.body
    referral = Referral.objects.get(referee__email="friend@shop.test")
    assert (referral.source, referral.status, referral.code) == ("signup", "pending", code)


def test_two_customers_cannot_refer_each_other(referrer, newcomer):
    _, referrer_headers = referrer
    _, headers = newcomer

    forward = claim(headers, code_of(referrer_headers))
    back = claim(referrer_headers, code_of(headers))

    assert forward.status == 201
    assert (back.status, back.json()["error"]["code"]) == (422, "referral_self")
