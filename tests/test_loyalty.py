"""Loyalty points: earned on delivery, redeemed at checkout (never overspent), given back and
taken back on cancellation, return and refund (each once), expired first in first out."""

from __future__ import annotations

import dataclasses
import itertools
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

import api.checkout
import api.cron_loyalty
import api.loyalty
from db.models import (
    CategoryPointsMultiplier,
    LoyaltyAccount,
    Order,
    OrderStatusEvent,
    PointsEntry,
    PointsKind,
)
from lib import conf
from lib.loyalty.earn import loyalty_order_status, order_points_partial_reverse
from lib.loyalty.expiry import loyalty_sweep
from lib.loyalty.ledger import points_entry_add
from lib.loyalty.tiers import loyalty_tiers_seed
from lib.money import BANGLA_DIGITS
from lib.orders.state import order_transition
from tests.payment_shop import order_place, shop_product, signed_in
from tests.support import call

pytestmark = pytest.mark.django_db
_keys = itertools.count(1)
DELIVERY = ("processing", "shipped", "delivered")


@pytest.fixture
def tiers():
    loyalty_tiers_seed()


@pytest.fixture
def customer(server_key):
    return signed_in(server_key, "customer")


def placed(product, headers, *, quantity: int = 1, **fields) -> Order:
    """A cash-on-delivery order placed through checkout by `headers`."""
    return order_place(product, headers, "cod", quantity=quantity, status="placed", **fields)


def move(order: Order, *statuses: str) -> Order:
    for status in statuses:
        order = order_transition(order=order, to_status=status, notify=False)
    return order


def delivered(product, headers, *, quantity: int = 1) -> Order:
    return move(placed(product, headers, quantity=quantity), *DELIVERY)


def balance(user) -> int:
    return LoyaltyAccount.objects.get(user=user).balance


def ledger_sum(user) -> int:
    return sum(PointsEntry.objects.filter(user=user).values_list("points", flat=True))


def credit(user, points: int, *, days: int = 365, ago: int = 0) -> PointsEntry:
    """Points earned `ago` days back, expiring `days` after that (the ledger's own writer)."""
    entry = points_entry_add(
        user_id=user.pk,
        kind=PointsKind.EARN,
        points=points,
        reference=f"test:{next(_keys)}",
        expires_at=timezone.now() - timedelta(days=ago) + timedelta(days=days),
    )
    assert entry is not None
    return entry


def checkout(path: str, product, headers, **fields):
    body = {
        "lines": [{"product_id": str(product.pk), "quantity": fields.pop("quantity", 1)}],
        "address": {
            "full_name": "Karim Ahmed",
            "phone": "01812345678",
            "address_line1": "Flat 3B, Road 7",
            "division": "Dhaka",
            "district": "Dhaka",
        },
        **fields,
    }
    extra = {"Idempotency-Key": f"loyalty-{next(_keys):08d}"} if path == "/orders" else {}
    return call(
        api.checkout.app,
        "POST",
        f"/api/v1/checkout{path}",
        json_body=body,
        headers={**headers, **extra},
    )


# --- earning -------------------------------------------------------------------------------


def test_a_delivered_order_earns_points_by_category_and_tier_once(tiers, customer):
    user, headers = customer
    product = shop_product("1000.00")
    CategoryPointsMultiplier.objects.create(category=product.category, multiplier=Decimal("2"))

    order = delivered(product, headers, quantity=3)

    entry = PointsEntry.objects.get(user=user)
    assert (entry.kind, entry.points, entry.reference) == ("earn", 60, f"earn:order:{order.pk}")
    assert entry.expires_at - timezone.now() > timedelta(days=364)
    assert balance(user) == 60
    # The hook run again (a retried transition) writes nothing more.
    event = OrderStatusEvent.objects.filter(order=order, to_status="delivered").get()
    loyalty_order_status(order, event)
    assert PointsEntry.objects.filter(user=user).count() == 1
    assert balance(user) == 60


def test_a_transition_rolled_back_earns_nothing_and_its_retry_earns_once(tiers, customer):
    user, headers = customer
    order = move(placed(shop_product("500.00"), headers), "processing", "shipped")

    with pytest.raises(RuntimeError), transaction.atomic():
        order_transition(order=order, to_status="delivered", notify=False)
        raise RuntimeError("the function died before commit")
    assert not PointsEntry.objects.filter(user=user).exists()

    order_transition(order=order, to_status="delivered", notify=False)
    assert list(PointsEntry.objects.values_list("points", flat=True)) == [5]


def test_gold_customers_earn_more_and_see_their_tier(tiers, customer, django_assert_num_queries):
    user, headers = customer
    product = shop_product("19000.00")
    delivered(product, headers)  # 19,000 + shipping: silver (20,000) not reached yet
    first = balance(user)
    delivered(product, headers)  # now over 20,000 in 12 months: silver, x1.25

    assert first == 190
    assert balance(user) == 190 + 237  # floor(190 x 1.25)
    with django_assert_num_queries(4):  # balance, spend, tiers, expiring
        reply = call(api.loyalty.app, "GET", "/api/v1/loyalty", headers=headers)
    data = reply.json()
    assert reply.status == 200, data
    assert data["balance"] == 427
    assert data["tier"]["code"] == "silver"
    assert (data["tier"]["name_bn"], data["next_tier"]["code"]) == ("সিলভার", "gold")
    spend = Decimal(data["spend_12_months"]["amount"])
    assert Decimal(data["to_next_tier"]["amount"]) == Decimal("60000.00") - spend


def test_a_guest_order_earns_nothing(tiers, server_key):
    order = delivered(shop_product("900.00"), server_key)

    assert order.status == "delivered"
    assert not PointsEntry.objects.exists()


# --- reversal -------------------------------------------------------------------------------


def test_return_then_refund_takes_the_points_back_once(tiers, customer):
    user, headers = customer
    order = delivered(shop_product("2000.00"), headers)

    move(order, "returned", "refunded")

    kinds = sorted(PointsEntry.objects.values_list("kind", "points"))
    assert kinds == [("earn", 20), ("reverse", -20)]
    assert balance(user) == 0 == ledger_sum(user)


def test_points_already_spent_are_still_taken_back_and_the_balance_goes_negative(
    tiers, customer, monkeypatch
):
    user, headers = customer
    cheap = dataclasses.replace(conf.loyalty_config, taka_per_point="10", redeem_min_balance=0)
    monkeypatch.setattr(conf, "loyalty_config", cheap)
    product = shop_product("1000.00")
    first = delivered(product, headers)  # 100 points
    spend = checkout("/orders", product, headers, redeem_points=100)
    assert spend.status == 201, spend.body

    move(first, "refunded")

    assert balance(user) == -100 == ledger_sum(user)
    refused = checkout("/quote", product, headers, redeem_points=1)
    assert (refused.status, refused.json()["error"]["code"]) == (422, "points_below_minimum")


def test_partial_refunds_take_back_their_share_and_never_more_than_earned(tiers, customer):
    user, headers = customer
    order = delivered(shop_product("9980.00"), headers)
    earned = PointsEntry.objects.get(kind="earn").points

    first = order_points_partial_reverse(order, refunded=order.total_amount / 4)
    again = order_points_partial_reverse(order, refunded=order.total_amount / 4)
    more = order_points_partial_reverse(order, refunded=order.total_amount / 2)
    move(order, "refunded")

    assert first == earned // 4 and again == 0
    assert more == earned // 2 - earned // 4
    assert balance(user) == 0
    assert (
        -sum(PointsEntry.objects.filter(kind="reverse").values_list("points", flat=True)) == earned
    )


# --- redemption -----------------------------------------------------------------------------


def test_points_redeemed_at_checkout_show_as_a_discount_and_come_back_on_cancel(tiers, customer):
    user, headers = customer
    credit(user, 300)
    product = shop_product("1000.00")

    quote = checkout("/quote", product, headers, redeem_points=200).json()
    placed_reply = checkout(
        "/orders", product, headers, redeem_points=200, expected_total=quote["total"]["amount"]
    )

    assert (quote["points_redeemed"], quote["points_discount"]["amount"]) == (200, "200.00")
    assert placed_reply.status == 201, placed_reply.body
    order = Order.objects.get(number=placed_reply.json()["number"])
    assert order.discount_total == Decimal("200.00")
    assert order.total_amount == Decimal(quote["total"]["amount"])
    assert balance(user) == 100
    move(order, "cancelled")
    assert balance(user) == 300
    kinds = sorted(PointsEntry.objects.filter(order=order).values_list("kind", "points"))
    assert kinds == [("redeem", -200), ("restore", 200)]


def test_the_paid_part_earns_points_not_the_part_paid_with_points(tiers, customer):
    user, headers = customer
    credit(user, 500)
    product = shop_product("1000.00")
    reply = checkout("/orders", product, headers, redeem_points=500)
    order = Order.objects.get(number=reply.json()["number"])

    move(order, *DELIVERY)

    assert PointsEntry.objects.get(kind="earn", order=order).points == 5  # ৳500 still paid


@pytest.mark.parametrize(
    ("points", "held", "status", "code"),
    [
        (50, 50, 422, "points_below_minimum"),
        (400, 300, 422, "points_insufficient"),
        (600, 1000, 422, "points_over_limit"),  # more than 50% of ৳1,000
    ],
)
def test_redemption_limits(tiers, customer, points, held, status, code):
    user, headers = customer
    credit(user, held)

    reply = checkout("/quote", shop_product("1000.00"), headers, redeem_points=points)

    assert (reply.status, reply.json()["error"]["code"]) == (status, code)
    assert "redeem_points" in reply.json()["error"]["fields"]


def test_guests_cannot_redeem_points(server_key):
    reply = checkout("/quote", shop_product(), server_key, redeem_points=10, email="g@shop.test")

    assert (reply.status, reply.json()["error"]["code"]) == (401, "points_sign_in_required")


def test_a_negative_or_unknown_redemption_field_is_refused(customer):
    _, headers = customer
    product = shop_product()

    negative = checkout("/quote", product, headers, redeem_points=-1)
    unknown = checkout("/quote", product, headers, points=10)

    assert (negative.status, unknown.status) == (422, 422)


@pytest.mark.django_db(transaction=True)
def test_concurrent_placements_cannot_spend_the_same_points(server_key):
    loyalty_tiers_seed()
    user, headers = signed_in(server_key, "customer")
    credit(user, 300)
    # A product each: only the customer's points account is shared between the placements.
    products = [shop_product("1000.00") for _ in range(4)]
    start = threading.Barrier(4)
    statuses: list[int] = []
    lock = threading.Lock()

    def place(product) -> None:
        try:
            start.wait()
            body = {
                "lines": [{"product_id": str(product.pk), "quantity": 1}],
                "address": {
                    "full_name": "Karim Ahmed",
                    "phone": "01812345678",
                    "address_line1": "Flat 3B",
                    "division": "Dhaka",
                    "district": "Dhaka",
                },
                "redeem_points": 200,
            }
            reply = call(
                api.checkout.app,
                "POST",
                "/api/v1/checkout/orders",
                json_body=body,
                headers={**headers, "Idempotency-Key": f"race-{threading.get_ident()}"},
                isolated=True,
            )
            with lock:
                statuses.append(reply.status)
        finally:
            connection.close()

    threads = [threading.Thread(target=place, args=(product,)) for product in products]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [201, 422, 422, 422]
    assert balance(user) == 100 == ledger_sum(user)
    assert PointsEntry.objects.filter(kind="redeem").count() == 1


# --- expiry ---------------------------------------------------------------------------------


def test_expiry_takes_what_is_left_of_the_oldest_points_first(customer):
    user, _ = customer
    old = credit(user, 100, days=30, ago=40)  # expired 10 days ago
    credit(user, 50)
    points_entry_add(user_id=user.pk, kind="redeem", points=-30, reference="spent")

    first = loyalty_sweep()
    second = loyalty_sweep()

    assert first["expired_points"] == 70 and second["expired_points"] == 0
    assert PointsEntry.objects.get(kind="expire").reference == f"expire:{old.pk}"
    assert balance(user) == 50 == ledger_sum(user)


def test_points_spent_before_their_date_do_not_expire(customer):
    user, _ = customer
    credit(user, 100, days=30, ago=40)
    credit(user, 50)
    points_entry_add(user_id=user.pk, kind="redeem", points=-120, reference="spent")

    assert loyalty_sweep()["expired_points"] == 0
    assert balance(user) == 30


def test_the_loyalty_cron_needs_its_secret_and_runs_once(customer):
    user, _ = customer
    credit(user, 40, days=1, ago=2)

    refused = call(api.cron_loyalty.app, "GET", "/api/cron/loyalty")
    ran = call(
        api.cron_loyalty.app,
        "GET",
        "/api/cron/loyalty",
        headers={"Authorization": f"Bearer {conf.config.cron_secret}"},
    )

    assert refused.status == 401
    assert ran.status == 200, ran.body
    assert ran.json()["expired_points"] == 40
    assert balance(user) == 0


# --- the ledger itself ----------------------------------------------------------------------


def test_the_ledger_is_append_only(customer):
    user, _ = customer
    entry = credit(user, 10)

    with pytest.raises(ValueError):
        entry.save()
    with pytest.raises(ValueError):
        PointsEntry.objects.filter(pk=entry.pk).update(points=1000)
    with pytest.raises(ValueError):
        PointsEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        PointsEntry.objects.create(user=user, kind="earn", points=-5, reference="bad-sign")
    assert (
        points_entry_add(user_id=user.pk, kind="earn", points=10, reference=entry.reference) is None
    )
    assert balance(user) == 10


# --- reads ----------------------------------------------------------------------------------


def test_history_is_paginated_newest_first(customer, django_assert_num_queries):
    user, headers = customer
    for _ in range(3):
        credit(user, 10)

    with django_assert_num_queries(2):  # count, page (orders joined)
        reply = call(api.loyalty.app, "GET", "/api/v1/loyalty/history?page_size=2", headers=headers)

    data = reply.json()
    assert reply.status == 200, data
    assert (data["count"], data["pages"], len(data["items"])) == (3, 2, 2)
    assert data["items"][0]["kind"] == "earn"


def test_the_preview_says_what_points_are_worth(customer, django_assert_num_queries):
    user, headers = customer
    credit(user, 400)

    with django_assert_num_queries(1):  # the balance
        reply = call(
            api.loyalty.app,
            "GET",
            "/api/v1/loyalty/preview?points=300&subtotal=1000",
            headers=headers,
        )

    data = reply.json()
    assert reply.status == 200, data
    assert (data["value"]["amount"], data["max_points"], data["allowed"]) == ("300.00", 400, True)
    assert call(api.loyalty.app, "GET", "/api/v1/loyalty").status == 401


def test_the_cron_takes_back_the_share_of_a_partial_refund_once(tiers, customer):
    from db.models import Payment
    from lib.payments.refunds import order_refund_follow
    from lib.payments.services import event_record

    user, headers = customer
    order = delivered(shop_product("3980.00"), headers)
    earned = balance(user)
    payment = Payment.objects.create(
        order=order, provider="cod", amount=order.total_amount, status="captured"
    )
    event_record(payment, "captured", reference="cash-1", amount=order.total_amount)
    event_record(payment, "refunded", reference="back-1", amount=order.total_amount / 2)
    order_refund_follow(order, actor_id=None)

    first = loyalty_sweep()
    second = loyalty_sweep()

    order.refresh_from_db()
    assert order.payment_status == "partially_refunded"
    assert (first["partial_refund_points"], second["partial_refund_points"]) == (earned // 2, 0)
    assert balance(user) == earned - earned // 2


def test_a_refunded_order_gives_back_its_redeemed_points_and_takes_back_its_earned_ones(
    tiers, customer
):
    user, headers = customer
    credit(user, 200)
    reply = checkout("/orders", shop_product("1000.00"), headers, redeem_points=200)
    order = move(Order.objects.get(number=reply.json()["number"]), *DELIVERY)
    assert balance(user) == 8  # ৳800 paid: 8 points

    move(order, "refunded")
    move_again = OrderStatusEvent.objects.get(order=order, to_status="refunded")
    loyalty_order_status(order, move_again)

    assert balance(user) == 200 == ledger_sum(user)
    kinds = sorted(PointsEntry.objects.filter(order=order).values_list("kind", "points"))
    assert kinds == [("earn", 8), ("redeem", -200), ("restore", 200), ("reverse", -8)]


def test_earned_points_are_announced_in_the_customer_feed_once(tiers, customer):
    from db.models import Notification

    user, headers = customer
    order = delivered(shop_product("2500.00"), headers)
    event = OrderStatusEvent.objects.get(order=order, to_status="delivered")
    loyalty_order_status(order, event)

    news = Notification.objects.filter(user=user, kind="rewards.earned")
    assert news.count() == 1
    assert news.get().title_en == "You earned 25 points"
    assert news.get().title_bn == "আপনি ২৫ পয়েন্ট পেয়েছেন"  # Bangla digits in Bangla
    assert order.number.translate(BANGLA_DIGITS) in news.get().body_bn


def test_only_what_is_left_of_credits_expiring_within_30_days_is_announced(customer):
    user, headers = customer
    credit(user, 100, days=20)  # expires in 20 days
    credit(user, 80, days=200)
    points_entry_add(user_id=user.pk, kind="redeem", points=-60, reference="spent-soon")

    data = call(api.loyalty.app, "GET", "/api/v1/loyalty", headers=headers).json()

    assert (data["balance"], data["expiring_soon"]) == (120, 40)
