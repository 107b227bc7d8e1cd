"""Fraud screening: each rule at its threshold, the score and the hold, the audit rows, and the
staff review API (approve / reject through the order state machine)."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import api.fraud
from db.models import (
    FraudReview,
    Order,
    OrderItem,
    OrderStatusEvent,
    Product,
    User,
    UserRole,
)
from lib.access.api_key_cache import api_key_record_fill
from lib.access.api_keys import api_key_create
from lib.access.sessions import session_start
from lib.conf import FraudConfig, checkout_config, config
from lib.kv import local_bridge
from lib.orders.fraud import (
    POINTS,
    FraudFacts,
    FraudResult,
    FraudSignals,
    fraud_evaluate,
    fraud_record,
    fraud_screen,
    velocity_key,
)
from tests import factories
from tests.support import call

pytestmark = pytest.mark.django_db
URL = "/api/v1/admin/fraud"
CONF = FraudConfig()
PHONE = "+8801712345678"
_numbers = itertools.count(1)


def signals(**fields) -> FraudSignals:
    defaults = {
        "user_id": None,
        "phone": PHONE,
        "email": "guest@example.com",
        "ip": "203.0.113.7",
        "device_id": "device-1",
        "total": Decimal("1000.00"),
        "payment_method": "bkash",
        "district_id": None,
        "is_new_customer": False,
    }
    return FraudSignals(**{**defaults, **fields})


def make_order(*, user=None, status="placed", total="1000.00", **fields) -> Order:
    number = f"ZS-TEST-{next(_numbers):06d}"
    defaults = {
        "payment_method": "cod",
        "subtotal": Decimal(total),
        "total_amount": Decimal(total),
        "guest_email": "" if user else "guest@example.com",
    }
    return Order.objects.create(number=number, user=user, status=status, **{**defaults, **fields})


def user(email: str, role: str = UserRole.CUSTOMER) -> User:
    return User.objects.create_user(email=email, role=role)


def codes(result: FraudResult) -> list[str]:
    return list(result.reasons)


# --- each rule at its threshold (pure evaluation) -----------------------------------------


@pytest.mark.parametrize(
    ("field", "limit", "code"),
    [
        ("phone_orders_hour", CONF.velocity_phone, "velocity_phone"),
        ("ip_orders_hour", CONF.velocity_ip, "velocity_ip"),
        ("device_orders_hour", CONF.velocity_device, "velocity_device"),
        ("failed_payments", CONF.failed_payments - 1, "failed_payments"),
    ],
)
def test_counting_rules_fire_above_their_threshold_only(field, limit, code):
    below = fraud_evaluate(signals(), FraudFacts(**{field: limit}), CONF)
    at = fraud_evaluate(signals(), FraudFacts(**{field: limit + 1}), CONF)
    assert code not in below.reasons
    assert codes(at) == [code]
    assert at.score == POINTS[code]


def test_new_customer_cod_limit():
    limit = Decimal(CONF.new_customer_cod_limit)
    new_cod = {"is_new_customer": True, "payment_method": "cod"}
    assert fraud_evaluate(signals(total=limit, **new_cod), FraudFacts(), CONF).reasons == []
    over = fraud_evaluate(signals(total=limit + Decimal("0.01"), **new_cod), FraudFacts(), CONF)
    assert over.reasons == ["new_customer_cod"]
    returning = signals(total=limit * 2, is_new_customer=False, payment_method="cod")
    wallet = signals(total=limit * 2, is_new_customer=True, payment_method="bkash")
    assert fraud_evaluate(returning, FraudFacts(), CONF).reasons == []
    assert fraud_evaluate(wallet, FraudFacts(), CONF).reasons == []


def test_high_amount():
    limit = Decimal(CONF.high_amount)
    assert fraud_evaluate(signals(total=limit), FraudFacts(), CONF).reasons == []
    over = fraud_evaluate(signals(total=limit + 1), FraudFacts(), CONF)
    assert over.reasons == ["high_amount"]


def test_amount_far_above_the_customers_average():
    facts = FraudFacts(prior_orders=3, prior_average=Decimal("800.00"))
    at = Decimal("800.00") * CONF.average_multiplier
    assert fraud_evaluate(signals(total=at), facts, CONF).reasons == []
    assert fraud_evaluate(signals(total=at + 1), facts, CONF).reasons == ["unusual_amount"]
    # no history, no average to compare with
    assert fraud_evaluate(signals(total=at + 1), FraudFacts(), CONF).reasons == []


def test_phone_shared_by_accounts():
    others = CONF.phone_accounts - 1  # with this customer: exactly the limit
    assert fraud_evaluate(signals(), FraudFacts(other_accounts=others), CONF).reasons == []
    shared = fraud_evaluate(signals(), FraudFacts(other_accounts=others + 1), CONF)
    assert shared.reasons == ["phone_shared"]
    no_phone = fraud_evaluate(signals(phone=""), FraudFacts(other_accounts=9), CONF)
    assert no_phone.reasons == []


def test_score_sums_and_hold_at_the_threshold():
    facts = FraudFacts(phone_orders_hour=99, ip_orders_hour=99)
    both = POINTS["velocity_phone"] + POINTS["velocity_ip"]
    at = fraud_evaluate(signals(), facts, dataclasses.replace(CONF, hold_score=both))
    above = fraud_evaluate(signals(), facts, dataclasses.replace(CONF, hold_score=both + 1))
    assert (at.score, at.reasons, at.hold) == (both, ["velocity_phone", "velocity_ip"], True)
    assert (above.score, above.hold) == (both, False)
    assert fraud_evaluate(signals(), FraudFacts(), CONF) == FraudResult(0, [], False)


# --- the facts from real KV counters and the database --------------------------------------


def test_velocity_uses_real_kv_counters_with_an_hour_expiry(kv):
    limit = config.fraud.velocity_device
    device_only = signals(phone="", ip="", device_id="dev-velocity")
    results = [fraud_screen(signals=device_only) for _ in range(limit + 1)]
    assert [r.reasons for r in results[:limit]] == [[]] * limit
    assert results[-1].reasons == ["velocity_device"]
    key = velocity_key("device", "dev-velocity")
    assert int(kv.get(key)) == limit + 1
    assert 3500 < kv.ttl(key) <= 3600


def test_velocity_per_phone_and_ip(kv):
    for _ in range(config.fraud.velocity_phone):
        fraud_screen(signals=signals(device_id="", ip=""))
    result = fraud_screen(signals=signals(device_id="", ip="", phone="01712345678"))
    assert result.reasons == ["velocity_phone"]  # the same number, normalised
    for _ in range(config.fraud.velocity_ip):
        fraud_screen(signals=signals(phone="", device_id="", ip="198.51.100.9"))
    assert fraud_screen(signals=signals(phone="", device_id="", ip="198.51.100.9")).reasons == [
        "velocity_ip"
    ]


def test_failed_payments_in_the_last_day_count(kv):
    customer = user("rahim@example.com")
    for _ in range(config.fraud.failed_payments - 1):
        make_order(user=customer, payment_status="failed", payment_method="bkash")
    old = make_order(user=customer, payment_status="failed", payment_method="bkash")
    Order.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=25))
    mine = signals(user_id=str(customer.pk), phone="", ip="", device_id="")
    assert "failed_payments" not in fraud_screen(signals=mine).reasons
    make_order(user=customer, payment_status="failed", payment_method="bkash")
    assert "failed_payments" in fraud_screen(signals=mine).reasons
    # a guest is matched by phone
    make_order(guest_phone=PHONE, payment_status="failed")
    make_order(guest_phone=PHONE, payment_status="failed")
    guest = signals(ip="", device_id="")
    assert "failed_payments" in fraud_screen(signals=guest).reasons


def test_phone_reuse_and_average_from_history(kv):
    def screen(signals):
        kv.delete(velocity_key("phone", PHONE))  # velocity is not under test here
        return fraud_screen(signals=signals)

    customer = user("karim@example.com")
    make_order(user=customer, total="500.00", shipping_snapshot={"phone": PHONE})
    make_order(user=customer, total="700.00")
    mine = signals(user_id=str(customer.pk), email="karim@example.com", ip="", device_id="")
    # average 600: 3000 is 5x (not above), 3001 is
    assert screen(dataclasses.replace(mine, total=Decimal("3000"))).reasons == []
    above = screen(dataclasses.replace(mine, total=Decimal("3001")))
    assert above.reasons == ["unusual_amount"]

    other = user("other@example.com")
    make_order(user=other, shipping_snapshot={"phone": PHONE})
    assert "phone_shared" not in screen(mine).reasons  # 2 accounts: the limit
    make_order(guest_phone=PHONE, guest_email="Stranger@example.com")
    make_order(guest_phone=PHONE, guest_email="stranger@example.com")  # the same guest
    assert screen(mine).reasons == ["phone_shared"]  # 3 accounts
    stale = make_order(guest_phone=PHONE, guest_email="old@example.com")
    Order.objects.filter(pk=stale.pk).update(created_at=timezone.now() - timedelta(days=31))
    assert screen(mine).reasons == ["phone_shared"]


def test_screening_costs_one_query_and_one_kv_round_trip(kv):
    customer = user("budget@example.com")
    make_order(user=customer, shipping_snapshot={"phone": PHONE})
    bridge = local_bridge()
    before = bridge.request_count
    with CaptureQueriesContext(connection) as queries:
        fraud_screen(signals=signals(user_id=str(customer.pk)))
    assert len(queries) == 1
    assert bridge.request_count - before == 1


def test_kv_trouble_does_not_block_checkout(kv, monkeypatch):
    from lib.orders import fraud

    def broken():
        raise ConnectionError("down")

    class Pipe:
        def incr(self, key):
            pass

        def expire(self, key, seconds, nx=False):
            pass

        def exec(self):
            broken()

    monkeypatch.setattr(fraud, "get_kv", lambda: type("KV", (), {"pipeline": lambda s: Pipe()})())
    assert fraud_screen(signals=signals()).reasons == []


def test_record_stores_score_reasons_and_an_audit_row():
    held_order, accepted_order = make_order(status="on_hold"), make_order()
    fraud_record(order=held_order, result=FraudResult(70, ["velocity_phone", "high_amount"], True))
    fraud_record(order=accepted_order, result=FraudResult(20, ["velocity_ip"], False))
    held_order.refresh_from_db()
    assert (held_order.fraud_score, held_order.fraud_reasons) == (
        70,
        ["velocity_phone", "high_amount"],
    )
    review = FraudReview.objects.get(order=held_order)
    assert (review.decision, review.score, review.reasons) == (
        "held",
        70,
        ["velocity_phone", "high_amount"],
    )
    assert FraudReview.objects.get(order=accepted_order).decision == "accepted"
    # placement already stored the score on the new order: only the audit row is written
    placed = make_order(fraud_score=20, fraud_reasons=["velocity_ip"])
    with CaptureQueriesContext(connection) as queries:
        fraud_record(order=placed, result=FraudResult(20, ["velocity_ip"], False))
    assert len(queries) == 1


# --- the staff review API ------------------------------------------------------------------


def key_headers(*scopes: str) -> dict[str, str]:
    key, secret = api_key_create(name="back office", kind="secret", scopes=list(scopes))
    api_key_record_fill(key_id=key.key_id)
    return {"X-API-Key": key.key_id, "X-API-Secret": secret}


def signed_headers(person, scopes=("orders:manage",)) -> dict[str, str]:
    session = session_start(user=person, ip="127.0.0.1", user_agent="test")
    return {**key_headers(*scopes), "Authorization": f"Bearer {session.access_token}"}


def as_user(person, method, url, *, scopes=("orders:manage",), **kwargs):
    return call(api.fraud.app, method, url, headers=signed_headers(person, scopes), **kwargs)


@pytest.fixture
def held(kv):
    """A held COD order of two units with its stock allocated, and a held bKash order."""
    category = factories.category()
    product = factories.product(category=category, quantity=10)
    Product.objects.filter(pk=product.pk).update(allocated=3)
    customer = user("buyer@example.com")
    cod = make_order(user=customer, status="on_hold", total="9000.00")
    wallet = make_order(
        user=customer,
        status="on_hold",
        payment_method="bkash",
    )
    for order, quantity in ((cod, 2), (wallet, 1)):
        OrderItem.objects.create(
            order=order,
            product=product,
            product_name=product.name_en,
            sku=product.sku,
            quantity=quantity,
            unit_price=Decimal("100.00"),
            total_price=Decimal("100.00") * quantity,
        )
        fraud_record(
            order=order, result=FraudResult(65, ["new_customer_cod", "phone_shared"], True)
        )
    make_order(status="placed")  # not held: never listed
    return {
        "cod": cod,
        "wallet": wallet,
        "product": product,
        "staff": user("kamal@zest.test", UserRole.STAFF),
    }


def test_staff_list_held_orders_with_their_reviews(held):
    response = as_user(held["staff"], "GET", URL)
    assert response.status == 200, response.body
    body = response.json()
    assert body["count"] == 2
    first = body["items"][0]
    assert first["number"] == held["cod"].number  # oldest first
    assert first["fraud_score"] == 65
    assert first["fraud_reasons"][0]["code"] == "new_customer_cod"
    assert first["fraud_reasons"][0]["label_bn"]
    assert [r["decision"] for r in first["reviews"]] == ["held"]
    headers = signed_headers(held["staff"])
    with CaptureQueriesContext(connection) as queries:
        assert call(api.fraud.app, "GET", URL, headers=headers).status == 200
    assert len(queries) == 3  # count, page, reviews: however many orders are held


def test_approve_cod_goes_back_to_placed(held):
    order, staff = held["cod"], held["staff"]
    url = f"{URL}/{order.number}/approve"
    response = as_user(staff, "POST", url, json_body={"note": "called the customer"})
    assert response.status == 200, response.body
    order.refresh_from_db()
    assert order.status == "placed"
    decisions = list(order.fraud_reviews.order_by("created_at").values_list("decision", flat=True))
    assert decisions == ["held", "approved"]
    approved = order.fraud_reviews.get(decision="approved")
    assert (approved.decided_by_id, approved.note, approved.score) == (
        staff.pk,
        "called the customer",
        65,
    )
    event = OrderStatusEvent.objects.get(order=order)
    assert (event.from_status, event.to_status, event.actor_id) == ("on_hold", "placed", staff.pk)
    # a second decision is refused: the order is no longer held
    again = as_user(staff, "POST", f"{URL}/{order.number}/reject")
    assert again.status == 409
    assert again.json()["error"]["code"] == "fraud_not_on_hold"


def test_approve_wallet_awaits_payment_with_a_fresh_window(held):
    order = held["wallet"]
    response = as_user(held["staff"], "POST", f"{URL}/{order.number}/approve")
    assert response.status == 200, response.body
    order.refresh_from_db()
    assert order.status == "awaiting_payment"
    remaining = order.payment_due_at - timezone.now()
    window = timedelta(minutes=checkout_config.payment_timeout_minutes)
    assert window - timedelta(minutes=1) < remaining <= window


def test_reject_cancels_and_releases_the_stock(held):
    order, product = held["cod"], held["product"]
    response = as_user(held["staff"], "POST", f"{URL}/{order.number}/reject", json_body={})
    assert response.status == 200, response.body
    assert response.json()["status"] == "cancelled"
    product.refresh_from_db()
    assert product.allocated == 1  # the wallet order's unit only
    rejected = FraudReview.objects.get(order=order, decision="rejected")
    assert rejected.decided_by_id == held["staff"].pk


def test_unknown_order_is_404(held):
    assert as_user(held["staff"], "POST", f"{URL}/ZS-NOPE/approve").status == 404


def test_non_staff_and_wrong_scope_are_refused(held):
    customer = user("nosy@example.com")
    support = user("help@zest.test", UserRole.SUPPORT)
    url = f"{URL}/{held['cod'].number}/approve"
    for person in (customer, support):
        response = as_user(person, "POST", url)
        assert response.status == 403
        assert response.json()["error"]["code"] == "forbidden"
    wrong_scope = as_user(held["staff"], "POST", url, scopes=("catalog:manage",))
    assert wrong_scope.status == 403
    assert call(api.fraud.app, "GET", URL).status == 401
    held["cod"].refresh_from_db()
    assert held["cod"].status == "on_hold"
    assert FraudReview.objects.filter(order=held["cod"]).count() == 1
