"""Payments core: start (idempotent), settle (exactly once under concurrency, amounts checked
against our record), reconcile, refunds bounded by the event log, COD, redaction.

The provider is a stand-in `Gateway` defined here and served through `register_gateway`
(configuration), so these tests need no simulator.
"""

from __future__ import annotations

import itertools
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

import api.cron_payments
import api.payments
from db.models import (
    Order,
    OrderStatusEvent,
    Payment,
    PaymentEvent,
    User,
)
from lib.access.sessions import session_start
from lib.errors import ApiError
from lib.payments.base import (
    ProviderError,
    ProviderRefund,
    ProviderStatus,
    RefundResult,
    StartResult,
)
from lib.payments.reconcile import payment_reconcile
from lib.payments.redact import REDACTED, redact
from lib.payments.refunds import cod_mark_paid
from lib.payments.registry import gateway_for, register_gateway
from lib.payments.services import payment_settle, payment_start, payment_totals
from tests.support import call

pytestmark = pytest.mark.django_db
PHONE = "+8801712345678"
TOTAL = Decimal("560.00")
_numbers = itertools.count(1)


class FakeGateway:
    """A provider double: an in-memory ledger, call counters and switches."""

    name = "bkash"

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.payments: dict[str, dict] = {}
        self.calls: dict[str, int] = {
            "start": 0,
            "confirm": 0,
            "query": 0,
            "refund": 0,
            "refund_status": 0,
        }
        self.refunds = itertools.count(1)
        self.error: ProviderError | None = None

    def count(self, name: str) -> None:
        with self.lock:
            self.calls[name] += 1

    def start(self, *, payment_id, invoice, amount, callback_url, customer) -> StartResult:
        self.count("start")
        if self.error:
            raise self.error
        ppid = f"FAKE{payment_id.replace('-', '')[:16]}"
        self.payments[ppid] = {"amount": amount, "state": "pending", "trx": f"TRX{ppid[4:14]}"}
        return StartResult(
            provider_payment_id=ppid,
            redirect_url=f"http://fake.test/pay/{ppid}",
            raw={"paymentID": ppid, "id_token": "secret-token", "callbackURL": callback_url},
        )

    def status(self, ppid: str) -> ProviderStatus:
        entry = self.payments[ppid]
        return ProviderStatus(
            provider_payment_id=ppid,
            state=entry["state"],
            amount=entry.get("reported", entry["amount"]),
            transaction_id=entry["trx"] if entry["state"] == "captured" else "",
            raw={"paymentID": ppid, "currency": "BDT", "app_secret": "s3cret", "x": "kept"},
        )

    def confirm(self, *, provider_payment_id, callback) -> ProviderStatus:
        self.count("confirm")
        return self.status(provider_payment_id)

    def query(self, *, provider_payment_id) -> ProviderStatus:
        self.count("query")
        return self.status(provider_payment_id)

    def refund(self, *, provider_payment_id, transaction_id, amount, reason) -> RefundResult:
        self.count("refund")
        assert transaction_id == self.payments[provider_payment_id]["trx"]
        return RefundResult(refund_id=f"R{next(self.refunds)}", amount=amount, raw={"ok": 1})

    def refund_status(self, *, query) -> ProviderRefund:
        self.count("refund_status")
        return ProviderRefund(state="unknown")

    def callback_payment_id(self, *, request_data) -> str:
        if request_data.get("signature") == "bad":
            raise ProviderError("bad signature", code="signature_invalid")
        return str(request_data.get("paymentID", ""))

    def pay(self, ppid: str, *, state: str = "captured", reported: Decimal | None = None):
        self.payments[ppid]["state"] = state
        if reported is not None:
            self.payments[ppid]["reported"] = reported


@pytest.fixture
def fake():
    gateway = FakeGateway()
    previous = register_gateway("bkash", lambda: gateway)
    yield gateway
    register_gateway("bkash", previous)


def make_order(*, status="awaiting_payment", method="bkash", **fields) -> Order:
    return Order.objects.create(
        number=f"ZS-P-{next(_numbers):06d}",
        status=status,
        payment_method=method,
        payment_status=fields.pop("payment_status", "pending" if method != "cod" else "unpaid"),
        guest_phone=PHONE,
        guest_email="guest@shop.test",
        subtotal=Decimal("500.00"),
        shipping_total=Decimal("60.00"),
        total_amount=TOTAL,
        **fields,
    )


def started(order: Order, key: str = "start-key-0001") -> Payment:
    return payment_start(order=order, idempotency_key=key).payment


def settle(payment: Payment, **extra) -> Payment:
    return payment_settle(
        provider="bkash", callback_data={"paymentID": payment.transaction_id, **extra}
    )


def paid_events(order: Order) -> int:
    return OrderStatusEvent.objects.filter(order=order, to_status="paid").count()


def events(payment: Payment, event_type: str) -> list[PaymentEvent]:
    return list(PaymentEvent.objects.filter(payment=payment, event_type=event_type))


@pytest.fixture
def staff(server_key):
    user = User.objects.create_user(
        email=f"staff-{next(_numbers)}@shop.test", password=None, role="staff"
    )
    tokens = session_start(user=user, ip="127.0.0.1", user_agent="test")
    return user, {**server_key, "Authorization": f"Bearer {tokens.access_token}"}


# --- start -------------------------------------------------------------------------------


def test_start_is_idempotent_and_calls_the_provider_once(fake, server_key):
    order = make_order()
    url = f"/api/v1/payments/{order.number}/start"
    headers = {**server_key, "Idempotency-Key": "pay-key-000001"}

    first = call(api.payments.app, "POST", url, json_body={"phone": "01712345678"}, headers=headers)
    again = call(api.payments.app, "POST", url, json_body={"phone": "01712345678"}, headers=headers)

    assert first.status == 200, first.body
    assert again.json() == first.json()
    assert first.json()["redirect_url"].startswith("http://fake.test/pay/FAKE")
    assert fake.calls["start"] == 1
    payment = Payment.objects.get()
    assert payment.status == "pending" and payment.transaction_id.startswith("FAKE")
    assert payment.amount == TOTAL
    (initiated,) = events(payment, "initiated")
    assert initiated.payload["response"]["id_token"] == REDACTED
    assert initiated.payload["request"]["callback_url"].endswith("/api/webhooks/bkash")


def test_start_needs_a_key_the_owner_and_an_order_awaiting_payment(fake, server_key):
    order = make_order()
    cod = make_order(status="placed", method="cod")
    url = f"/api/v1/payments/{order.number}/start"
    key = {**server_key, "Idempotency-Key": "pay-key-000002"}

    no_key = call(api.payments.app, "POST", url, json_body={"phone": PHONE}, headers=server_key)
    wrong_phone = call(
        api.payments.app, "POST", url, json_body={"phone": "01899999999"}, headers=key
    )
    cod_start = call(
        api.payments.app,
        "POST",
        f"/api/v1/payments/{cod.number}/start",
        json_body={"phone": PHONE},
        headers=key,
    )

    assert (no_key.status, no_key.json()["error"]["code"]) == (422, "validation_error")
    assert list(no_key.json()["error"]["fields"]) == ["Idempotency-Key"]
    assert wrong_phone.status == 404
    assert (cod_start.status, cod_start.json()["error"]["code"]) == (409, "payment_not_startable")
    assert fake.calls["start"] == 0 and Payment.objects.count() == 0


def test_a_provider_failure_at_start_is_recorded_and_the_same_key_tries_again(fake):
    order = make_order()
    fake.error = ProviderError("timed out", code="timeout", retryable=True)

    with pytest.raises(ApiError) as first:
        started(order)
    fake.error = None
    again = started(order)
    replay = started(order)

    assert (first.value.status_code, first.value.code) == (504, "payment_provider_error")
    assert fake.calls["start"] == 2
    failed = Payment.objects.get(status="failed")
    assert events(failed, "failed")[0].payload["error"]["code"] == "timeout"
    assert failed.idempotency_key is None  # the key moved to the attempt that worked
    assert again.status == "pending" and again.idempotency_key == "start-key-0001"
    assert replay.pk == again.pk


# --- settle ------------------------------------------------------------------------------


def test_settle_captures_and_moves_the_order_to_paid(fake):
    order = make_order()
    payment = started(order)
    fake.pay(payment.transaction_id)

    settled = settle(payment)
    repeated = settle(payment)

    assert settled.status == repeated.status == "captured"
    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("paid", "paid")
    assert paid_events(order) == 1
    (captured,) = events(payment, "captured")
    assert captured.amount == TOTAL
    assert captured.provider_reference == fake.payments[payment.transaction_id]["trx"]
    assert captured.payload["provider_status"]["app_secret"] == REDACTED
    assert captured.payload["provider_status"]["x"] == "kept"
    assert fake.calls["confirm"] == 1  # a settled payment is not confirmed again
    assert payment_totals(payment) == (TOTAL, Decimal("0"))


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_identical_callbacks_capture_once(fake):
    order = make_order()
    payment = started(order)
    fake.pay(payment.transaction_id)
    barrier = threading.Barrier(50)
    outcomes: list[str] = []
    lock = threading.Lock()

    def one() -> None:
        try:
            barrier.wait()
            outcome = settle(payment).status
        except Exception as error:
            outcome = repr(error)
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=one) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes == ["captured"] * 50
    assert len(events(payment, "captured")) == 1
    assert paid_events(order) == 1
    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("paid", "paid")


def test_an_amount_mismatch_is_refused_logged_and_leaves_the_order(fake):
    order = make_order()
    payment = started(order)
    fake.pay(payment.transaction_id, reported=Decimal("1.00"))

    with pytest.raises(ApiError) as refused:
        settle(payment)

    assert (refused.value.status_code, refused.value.code) == (409, "payment_amount_mismatch")
    (failed,) = events(payment, "failed")
    assert failed.payload["reason"] == "amount_mismatch"
    assert events(payment, "captured") == []
    order.refresh_from_db()
    assert order.status == "awaiting_payment" and paid_events(order) == 0
    payment.refresh_from_db()
    assert payment.status == "failed"


def test_unknown_or_unsigned_callbacks_are_refused(fake):
    order = make_order()
    payment = started(order)

    with pytest.raises(ApiError) as unknown:
        payment_settle(provider="bkash", callback_data={"paymentID": "NOPE"})
    with pytest.raises(ApiError) as unsigned:
        settle(payment, signature="bad")

    assert (unknown.value.status_code, unknown.value.code) == (404, "payment_unknown")
    assert unsigned.value.code == "payment_unknown"
    assert fake.calls["confirm"] == 0


def test_a_failed_payment_is_recorded_and_the_order_keeps_waiting(fake):
    order = make_order()
    payment = started(order)
    fake.pay(payment.transaction_id, state="failed")

    assert settle(payment).status == "failed"
    settle(payment)

    assert len(events(payment, "failed")) == 1
    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("awaiting_payment", "failed")
    # The payer tries again with a new key and succeeds.
    retry = started(order, key="start-key-0002")
    fake.pay(retry.transaction_id)
    assert settle(retry).status == "captured"
    order.refresh_from_db()
    assert order.status == "paid"


# --- reconcile ---------------------------------------------------------------------------


def test_reconcile_settles_an_old_pending_payment(fake, kv):
    order = make_order()
    payment = started(order)
    fresh = started(make_order(), key="start-key-0003")
    fake.pay(payment.transaction_id)
    fake.pay(fresh.transaction_id)
    Payment.objects.filter(pk=payment.pk).update(created_at=timezone.now() - timedelta(hours=1))

    counts = payment_reconcile()
    cron = call(api.cron_payments.app, "GET", "/api/cron/payments-reconcile")

    assert counts == {
        "checked": 1,
        "captured": 1,
        "failed": 0,
        "pending": 0,
        "errors": 0,
        "refunds_checked": 0,
        "refunds_confirmed": 0,
        "refunds_failed": 0,
    }
    order.refresh_from_db()
    assert order.status == "paid"
    fresh.refresh_from_db()
    assert fresh.status == "pending"
    assert cron.status == 401


# --- refunds -----------------------------------------------------------------------------


def test_refunds_are_bounded_by_captured_minus_refunded(fake, staff):
    _, headers = staff
    order = make_order()
    payment = started(order)
    fake.pay(payment.transaction_id)
    settle(payment)
    url = f"/api/v1/admin/payments/{payment.pk}/refund"

    def refund(amount: str):
        body = {"amount": amount, "reason": "damaged"}
        key = {"Idempotency-Key": f"refund-{next(_numbers):06d}"}
        return call(api.payments.app, "POST", url, json_body=body, headers={**headers, **key})

    first, second = refund("100.00"), refund("200.00")
    too_much = refund("260.01")
    last = refund("260.00")
    none_left = refund("0.01")

    assert first.status == 200, first.body
    assert first.json()["status"] == "partially_refunded"
    assert second.json()["refunded"]["amount"] == "300.00"
    assert (too_much.status, too_much.json()["error"]["code"]) == (409, "refund_exceeds_captured")
    assert last.json()["status"] == "refunded"
    assert last.json()["captured"]["amount"] == last.json()["refunded"]["amount"] == "560.00"
    assert none_left.status == 409
    assert fake.calls["refund"] == 3
    order.refresh_from_db()
    assert order.payment_status == "refunded"
    assert [e.provider_reference for e in events(payment, "refunded")] == ["R1", "R2", "R3"]


def test_refunds_need_staff(fake, server_key):
    payment = started(make_order())
    response = call(
        api.payments.app,
        "POST",
        f"/api/v1/admin/payments/{payment.pk}/refund",
        json_body={"amount": "1.00"},
        headers=server_key,
    )
    assert response.status == 401


# --- cash on delivery --------------------------------------------------------------------


def test_staff_mark_a_cod_order_paid_once(staff):
    _, headers = staff
    order = make_order(status="placed", method="cod")
    url = f"/api/v1/admin/payments/cod/{order.number}"

    first = call(api.payments.app, "POST", url, headers=headers)
    again = call(api.payments.app, "POST", url, headers=headers)

    assert first.status == 200, first.body
    assert again.json()["id"] == first.json()["id"]
    assert first.json()["captured"] == {"amount": "560.00", "currency": "BDT", "display": "৳560.00"}
    payment = Payment.objects.get(order=order)
    assert (payment.provider, payment.status) == ("cod", "captured")
    assert len(events(payment, "captured")) == 1
    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("placed", "paid")


def test_a_delivered_cod_order_gets_its_money_record_without_double_counting():
    order = make_order(status="delivered", method="cod", payment_status="paid")

    payment = cod_mark_paid(order=order, actor_id=None)
    cod_mark_paid(order=order, actor_id=None)

    assert payment_totals(payment) == (TOTAL, Decimal("0"))
    assert Payment.objects.filter(order=order).count() == 1
    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("delivered", "paid")
    with pytest.raises(ApiError) as wallet:
        cod_mark_paid(order=make_order(), actor_id=None)
    assert wallet.value.code == "cod_not_applicable"


def test_an_awaiting_payment_cod_order_moves_to_paid():
    order = make_order(method="cod", payment_status="unpaid")
    cod_mark_paid(order=order, actor_id=None)
    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("paid", "paid")
    assert paid_events(order) == 1


# --- status, registry, redaction ---------------------------------------------------------


def test_the_payment_status_of_an_order(fake, server_key):
    order = make_order()
    payment = started(order)
    url = f"/api/v1/payments/{order.number}"

    guest = call(api.payments.app, "GET", f"{url}?phone=01712345678", headers=server_key)
    stranger = call(api.payments.app, "GET", url, headers=server_key)

    assert guest.status == 200, guest.body
    data = guest.json()
    assert (data["order_status"], data["payment_status"]) == ("awaiting_payment", "pending")
    assert [p["id"] for p in data["payments"]] == [str(payment.pk)]
    assert stranger.status == 404


def test_cod_has_no_gateway_and_unknown_methods_are_refused():
    for method in ("cod", "paypal"):
        with pytest.raises(ApiError) as refused:
            gateway_for(method)
        assert refused.value.code == "payment_provider_unknown"


def test_redaction_drops_secrets_at_any_depth():
    raw = {
        "store_passwd": "p",
        "Authorization": "Bearer x",
        "nested": [{"app_secret": "s", "id_token": "t", "amount": Decimal("1.50")}],
        "X-Signature": "sig",
        "password": "pw",
        "status": "ok",
    }
    clean = redact(raw)
    assert clean == {
        "store_passwd": REDACTED,
        "Authorization": REDACTED,
        "nested": [{"app_secret": REDACTED, "id_token": REDACTED, "amount": "1.50"}],
        "X-Signature": REDACTED,
        "password": REDACTED,
        "status": "ok",
    }
