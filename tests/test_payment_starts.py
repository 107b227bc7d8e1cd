"""Starting a payment through the HTTP API against the bKash and Upay simulators: one open
payment per order (also under concurrent starts on PostgreSQL), a failed start does not hold
its Idempotency-Key, and money captured beyond the order's total is shown to staff."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from django.db import connection
from django.utils import timezone

import api.cron_payments
import api.payments
import api.webhooks.upay
from db.models import Payment
from lib.payments.upay import UpayGateway
from tests import payment_shop
from tests.payment_shop import (
    order_place,
    order_seen,
    payment_start_http,
    press_pay,
    refund_http,
    shop_product,
    webhook_follow,
)
from tests.support import call

pytestmark = pytest.mark.django_db(transaction=True)
upay, bkash, people = payment_shop.upay, payment_shop.bkash, payment_shop.people  # fixtures
CRON = "/api/cron/payments-reconcile"
CRON_AUTH = {"Authorization": "Bearer test-cron-secret"}


def money(value) -> Decimal:
    return Decimal(value["amount"] if isinstance(value, dict) else value)


# --- one open payment per order ------------------------------------------------------------


def test_a_second_start_with_another_key_gets_the_open_payment(bkash, people):
    customer, _ = people
    order = order_place(shop_product(), customer, "bkash")

    first = payment_start_http(order, customer, "start-first-0001")
    second = payment_start_http(order, customer, "start-second-001")

    assert first.status == second.status == 200, second.body
    assert second.json()["payment_id"] == first.json()["payment_id"]
    assert second.json()["redirect_url"] == first.json()["redirect_url"]
    assert bkash.hits("create") == 1
    assert Payment.objects.filter(order=order).count() == 1


def test_concurrent_starts_with_different_keys_start_one_payment(bkash, people):
    customer, _ = people
    order = order_place(shop_product(), customer, "bkash")
    barrier = threading.Barrier(8)
    replies: list = []
    lock = threading.Lock()

    def start(n: int) -> None:
        try:
            barrier.wait()
            reply = call(
                api.payments.app,
                "POST",
                f"/api/v1/payments/{order.number}/start",
                json_body={"phone": "01812345678"},
                headers={**customer, "Idempotency-Key": f"start-race-{n:04d}"},
                isolated=True,
            )
        finally:
            connection.close()
        with lock:
            replies.append(reply)

    threads = [threading.Thread(target=start, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert bkash.hits("create") == 1
    assert Payment.objects.filter(order=order).count() == 1
    payment = Payment.objects.get(order=order)
    for reply in replies:
        if reply.status == 200:
            assert reply.json()["payment_id"] == str(payment.pk)
        else:
            assert (reply.status, reply.json()["error"]["code"]) == (
                409,
                "payment_start_in_progress",
            )
    assert any(reply.status == 200 for reply in replies)


def test_a_payment_cancelled_at_the_provider_lets_the_payer_start_again(bkash, people):
    customer, _ = people
    order = order_place(shop_product(), customer, "bkash")
    first = payment_start_http(order, customer, "start-cancel-001")
    page = httpx.post(first.json()["redirect_url"], data={"action": "cancel"}, timeout=5)
    assert page.status_code == 302  # the payer cancelled; the callback never reached us

    second = payment_start_http(order, customer, "start-cancel-002")

    assert second.status == 200, second.body
    assert second.json()["payment_id"] != first.json()["payment_id"]
    assert Payment.objects.get(pk=first.json()["payment_id"]).status == "cancelled"
    assert bkash.hits("create") == 2


# --- a failed start does not poison its key ------------------------------------------------


def test_a_provider_500_at_start_lets_the_same_key_try_again(upay, people):
    customer, _ = people
    order = order_place(shop_product(), customer, "upay")
    hook = {"fail": "init", "status": 500}
    assert httpx.post(f"{upay.url}/__sim__/hooks", json=hook, timeout=5).status_code == 200

    failed = payment_start_http(order, customer, "start-retry-0001")
    again = payment_start_http(order, customer, "start-retry-0001")
    replay = payment_start_http(order, customer, "start-retry-0001")

    assert (failed.status, failed.json()["error"]["code"]) == (504, "payment_provider_error")
    assert again.status == 200, again.body
    assert replay.json() == again.json()
    assert upay.sim.counts["init"] == 2
    assert again.json()["redirect_url"].startswith(f"{upay.url}/pay/")


# --- money captured beyond the order's total -----------------------------------------------


def test_a_capture_beyond_the_order_total_is_shown_to_staff_until_refunded(upay, people):
    """Two payments of one order both paid at Upay (recorded before one open payment per
    order was enforced): reconciliation captures the second; staff see it and refund it."""
    customer, staff = people
    order = order_place(shop_product(), customer, "upay")
    first = payment_start_http(order, customer, "start-first-paid")
    webhook_follow(api.webhooks.upay.app, press_pay(first.json()["redirect_url"]))
    second = UpayGateway().start(
        payment_id="legacy",
        invoice=f"{order.number}-2",
        amount=order.total_amount,
        callback_url="https://shop.test/api/webhooks/upay",
        customer={},
    )
    press_pay(second.redirect_url)
    legacy = Payment.objects.create(
        order=order,
        provider="upay",
        amount=order.total_amount,
        status="pending",
        transaction_id=second.provider_payment_id,
    )
    Payment.objects.filter(pk=legacy.pk).update(created_at=timezone.now() - timedelta(hours=1))

    run = call(api.cron_payments.app, "GET", CRON, headers=CRON_AUTH)
    details = call(api.payments.app, "GET", f"/api/v1/admin/payments/{legacy.pk}", headers=staff)
    listed = call(api.payments.app, "GET", "/api/v1/admin/payments/overpaid", headers=staff)

    assert run.status == 200 and run.json()["captured"] == 1, run.body
    assert details.json()["status"] == "captured"
    assert money(details.json()["needs_refund"]) == order.total_amount
    (row,) = listed.json()
    assert row["order_number"] == order.number
    assert money(row["needs_refund"]) == order.total_amount
    assert money(row["kept"]) == 2 * order.total_amount

    refund = refund_http(str(legacy.pk), staff, str(order.total_amount), key="refund-extra-001")
    listed = call(api.payments.app, "GET", "/api/v1/admin/payments/overpaid", headers=staff)
    mine, _ = order_seen(order, customer, staff)

    assert refund.status == 200, refund.body
    assert money(refund.json()["needs_refund"]) == Decimal("0")
    assert listed.json() == []
    assert (mine["status"], mine["payment_status"]) == ("paid", "paid")
