"""Refunds through the admin API against the Upay and bKash simulators over HTTP: a refusal
is not a refund, a refund whose answer timed out is asked about before anything else is sent,
staff requests are idempotent, and the order's payment status follows the refunds."""

from __future__ import annotations

import dataclasses
import threading
import time
from decimal import Decimal

import httpx
import pytest
from django.db import connection

import api.cron_payments
import api.payments
import api.webhooks.bkash
import api.webhooks.upay
from db.models import Order, Payment
from lib import conf
from tests import payment_shop
from tests.payment_shop import (
    TIMEOUT,
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
CRON = "/api/cron/payments-reconcile"
CRON_AUTH = {"Authorization": "Bearer test-cron-secret"}
upay, bkash, people = payment_shop.upay, payment_shop.bkash, payment_shop.people  # fixtures


def paid_order(method: str, customer: dict[str, str]) -> tuple[Order, Payment]:
    """A customer's order (445.00 and shipping) paid on the simulator's page, settled by the
    webhook."""
    order = order_place(shop_product("445.00"), customer, method)
    started = payment_start_http(order, customer, f"pay-{order.number}")
    assert started.status == 200, started.body
    webhook = {"upay": api.webhooks.upay.app, "bkash": api.webhooks.bkash.app}[method]
    returned = webhook_follow(webhook, press_pay(started.json()["redirect_url"]))
    assert returned.status == 302, returned.body
    order.refresh_from_db()
    assert order.status == "paid", order.status
    return order, Payment.objects.get(pk=started.json()["payment_id"])


def upay_refunded(upay, payment: Payment) -> Decimal:
    return upay.sim.payments[payment.transaction_id]["refunded"]


def bkash_refunded(bkash, payment: Payment) -> Decimal:
    refunds = bkash.sim.payments[payment.transaction_id]["refunds"]
    return sum((Decimal(r["amount"]) for r in refunds), Decimal("0"))


def money(value) -> Decimal:
    """An amount from a response: a money object or a plain string."""
    return Decimal(value["amount"] if isinstance(value, dict) else value)


def upay_hook(upay, **hook) -> None:
    """The simulator's control endpoint, over HTTP."""
    assert httpx.post(f"{upay.url}/__sim__/hooks", json=hook, timeout=5).status_code == 200


def wait_until(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


# --- the order follows its refunds (customer and staff views) ----------------------------


@pytest.mark.parametrize("method", ["upay", "bkash"])
def test_the_order_follows_partial_then_full_refunds(request, method, people):
    provider = request.getfixturevalue(method)
    customer, staff = people
    order, payment = paid_order(method, customer)
    product = order.items.get().product

    part = refund_http(str(payment.pk), staff, "100.00", key="refund-part-0001")
    mine, console = order_seen(order, customer, staff)
    assert part.status == 200, part.body
    assert (mine["status"], mine["payment_status"]) == ("paid", "partially_refunded")
    assert console["payment_status"] == "partially_refunded"

    rest = str(payment.amount - Decimal("100.00"))
    full = refund_http(str(payment.pk), staff, rest, key="refund-rest-0001")
    mine, console = order_seen(order, customer, staff)
    assert full.status == 200, full.body
    assert full.json()["status"] == "refunded"
    for seen in (mine, console):
        assert (seen["status"], seen["payment_status"]) == ("refunded", "refunded")
        assert seen["timeline"][-1]["status"] == "refunded"
    product.refresh_from_db()
    assert product.allocated == 0  # the unshipped unit is back on sale
    refunded = {"upay": upay_refunded, "bkash": bkash_refunded}[method]
    assert refunded(provider, payment) == payment.amount


# --- a refusal is not a refund -------------------------------------------------------------


def test_a_refund_upay_lists_as_failed_is_refused_and_not_recorded(upay, people):
    customer, staff = people
    order, payment = paid_order("upay", customer)
    upay_hook(upay, refuse="refund", reason="Merchant balance insufficient")

    refused = refund_http(str(payment.pk), staff, "100.00", key="refund-refused-01")
    replay = refund_http(str(payment.pk), staff, "100.00", key="refund-refused-01")
    details = call(api.payments.app, "GET", f"/api/v1/admin/payments/{payment.pk}", headers=staff)
    mine, _ = order_seen(order, customer, staff)

    assert (refused.status, refused.json()["error"]["code"]) == (409, "refund_refused")
    assert (replay.status, replay.json()["error"]["code"]) == (409, "refund_failed")
    assert money(details.json()["refunded"]) == Decimal("0")
    assert details.json()["status"] == "captured"
    assert [r["status"] for r in details.json()["refunds"]] == ["failed"]
    assert "refund_failed" in [e["event_type"] for e in details.json()["events"]]
    assert mine["payment_status"] == "paid"
    again = refund_http(str(payment.pk), staff, "100.00", key="refund-again-0001")
    assert again.status == 200, again.body
    assert upay_refunded(upay, payment) == Decimal("100.00")
    assert upay.sim.counts["refund"] == 2


# --- concurrency (PostgreSQL, threads) -----------------------------------------------------


def concurrent_refunds(payment: Payment, staff: dict[str, str], keys: list[str]) -> list:
    """One refund of 100.00 per key, all sent at once from their own threads."""
    barrier = threading.Barrier(len(keys))
    replies: list = []
    lock = threading.Lock()

    def send(key: str) -> None:
        try:
            barrier.wait()
            reply = call(
                api.payments.app,
                "POST",
                f"/api/v1/admin/payments/{payment.pk}/refund",
                json_body={"amount": "100.00", "reason": "damaged"},
                headers={**staff, "Idempotency-Key": key},
                isolated=True,
            )
        finally:
            connection.close()
        with lock:
            replies.append(reply)

    threads = [threading.Thread(target=send, args=(key,)) for key in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return replies


def test_concurrent_retries_of_one_refund_send_it_once(upay, people):
    customer, staff = people
    _, payment = paid_order("upay", customer)
    upay_hook(upay, slow="refund", seconds=TIMEOUT * 2)

    replies = concurrent_refunds(payment, staff, ["refund-same-key-01"] * 6)

    assert upay.sim.counts["refund"] == 1
    assert upay_refunded(upay, payment) == Decimal("100.00")
    for reply in replies:
        assert reply.status in (200, 202) or reply.json()["error"]["code"] in (
            "refund_in_progress",
            "refund_pending",
        ), reply.body


def test_concurrent_refunds_with_different_keys_never_exceed_what_staff_got_back(upay, people):
    customer, staff = people
    _, payment = paid_order("upay", customer)

    replies = concurrent_refunds(payment, staff, [f"refund-many-{n:04d}" for n in range(6)])

    accepted = [r for r in replies if r.status in (200, 202)]
    assert accepted, [r.body for r in replies]
    assert upay.sim.counts["refund"] == len(accepted)
    assert upay_refunded(upay, payment) == Decimal("100.00") * len(accepted)
    for reply in replies:
        if reply not in accepted:
            assert reply.status == 409, reply.body


# --- timeouts: ask before anything else is sent --------------------------------------------


def slow_refund(method: str, provider, seconds: float) -> None:
    """The next refund is made at the provider at once but answered after our timeout."""
    if method == "upay":
        upay_hook(provider, slow="refund", seconds=seconds)
    else:
        provider.slow_next_refund(seconds)


@pytest.mark.parametrize("method", ["upay", "bkash"])
def test_a_refund_that_timed_out_but_happened_is_found_and_never_sent_twice(
    request, method, people
):
    provider = request.getfixturevalue(method)
    customer, staff = people
    order, payment = paid_order(method, customer)
    slow_refund(method, provider, TIMEOUT * 4)

    first = refund_http(str(payment.pk), staff, "100.00", key="refund-slow-00001")
    retry = refund_http(str(payment.pk), staff, "100.00", key="refund-slow-00001")

    assert first.status == 200, first.body
    assert retry.status == 200, retry.body
    assert money(retry.json()["refunded"]) == Decimal("100.00")
    refunded = {"upay": upay_refunded, "bkash": bkash_refunded}[method]
    assert refunded(provider, payment) == Decimal("100.00")
    event_types = [e["event_type"] for e in retry.json()["events"]]
    assert event_types.count("refunded") == 1 and "refund_pending" in event_types
    mine, _ = order_seen(order, customer, staff)
    assert mine["payment_status"] == "partially_refunded"


def test_a_refund_upay_makes_after_our_query_stays_pending_and_blocks_another(upay, people):
    customer, staff = people
    _, payment = paid_order("upay", customer)
    upay_hook(upay, hang="refund", seconds=TIMEOUT * 4)  # Upay refunds after we gave up

    first = refund_http(str(payment.pk), staff, "100.00", key="refund-late-00001")
    other = refund_http(str(payment.pk), staff, "50.00", key="refund-other-0001")
    upay_hook(upay, reset=True)
    wait_until(lambda: upay_refunded(upay, payment) == Decimal("100.00"))
    settled = refund_http(str(payment.pk), staff, "100.00", key="refund-late-00001")

    assert first.status == 202, first.body
    assert [r["status"] for r in first.json()["refunds"]] == ["pending"]
    assert money(first.json()["refunded"]) == Decimal("0")
    assert (other.status, other.json()["error"]["code"]) == (409, "refund_pending")
    assert settled.status == 200, settled.body
    assert [r["status"] for r in settled.json()["refunds"]] == ["refunded"]
    assert upay.sim.counts["refund"] == 1  # one refund sent, whatever staff did
    assert upay_refunded(upay, payment) == Decimal("100.00")


def test_the_reconciliation_cron_confirms_a_pending_refund(upay, people):
    customer, staff = people
    order, payment = paid_order("upay", customer)
    upay_hook(upay, hang="refund", seconds=TIMEOUT * 4)
    pending = refund_http(str(payment.pk), staff, str(payment.amount), key="refund-cron-00001")
    upay_hook(upay, reset=True)
    wait_until(lambda: upay_refunded(upay, payment) == payment.amount)

    run = call(api.cron_payments.app, "GET", CRON, headers=CRON_AUTH)
    mine, console = order_seen(order, customer, staff)

    assert pending.status == 202, pending.body
    assert run.status == 200, run.body
    assert (run.json()["refunds_checked"], run.json()["refunds_confirmed"]) == (1, 1)
    assert (mine["status"], mine["payment_status"]) == ("refunded", "refunded")
    assert console["payment_status"] == "refunded"


def test_a_refund_the_provider_never_received_fails_after_the_window(upay, people, monkeypatch):
    customer, staff = people
    _, payment = paid_order("upay", customer)
    monkeypatch.setattr(
        conf,
        "payment_config",
        dataclasses.replace(conf.payment_config, refund_confirm_seconds=0),
    )
    upay_hook(upay, fail="refund", status=502)  # refused at Upay's edge: never processed

    lost = refund_http(str(payment.pk), staff, "100.00", key="refund-lost-00001")
    again = refund_http(str(payment.pk), staff, "100.00", key="refund-new-000001")

    assert (lost.status, lost.json()["error"]["code"]) == (409, "refund_failed")
    assert again.status == 200, again.body
    assert upay_refunded(upay, payment) == Decimal("100.00")


def test_staff_settle_a_refund_the_provider_cannot_tell_about(upay, people):
    customer, staff = people
    order, payment = paid_order("upay", customer)
    upay_hook(upay, hang="refund", seconds=TIMEOUT * 2)
    upay_hook(upay, hang="status", seconds=30)  # Upay's status API is down for now

    pending = refund_http(str(payment.pk), staff, "100.00", key="refund-panel-0001")
    wait_until(lambda: upay_refunded(upay, payment) == Decimal("100.00"))
    (refund,) = pending.json()["refunds"]
    url = f"/api/v1/admin/payments/{payment.pk}/refunds/{refund['id']}/resolve"
    body = {"outcome": "refunded", "note": "seen in the Upay merchant panel"}
    resolved = call(api.payments.app, "POST", url, json_body=body, headers=staff)
    again = call(api.payments.app, "POST", url, json_body=body, headers=staff)
    mine, _ = order_seen(order, customer, staff)

    assert pending.status == 202, pending.body
    assert resolved.status == 200, resolved.body
    assert [r["status"] for r in resolved.json()["refunds"]] == ["refunded"]
    assert money(resolved.json()["refunded"]) == Decimal("100.00")
    assert (again.status, again.json()["error"]["code"]) == (409, "refund_not_pending")
    assert mine["payment_status"] == "partially_refunded"


def test_refunds_under_injected_timeouts_equal_what_staff_asked(upay, people):
    """Figure: five refunds, each answered after our timeout (made at once, or only after
    our status query), each retried by staff with its key and followed by an impatient
    request with a new key (refused while the first is pending, made once it is confirmed).
    The provider must have refunded exactly what staff's accepted requests asked."""
    customer, staff = people
    _, payment = paid_order("upay", customer)
    asked: list[Decimal] = []
    for n, amount in enumerate(Decimal(a) for a in ("40.00", "25.50", "60.00", "10.00", "99.99")):
        hook = {"slow": "refund"} if n % 2 else {"hang": "refund"}
        upay_hook(upay, reset=True)
        upay_hook(upay, **hook, seconds=TIMEOUT * 3)
        key = f"refund-figure-{n:04d}"
        for _ in range(2):
            assert refund_http(str(payment.pk), staff, str(amount), key=key).status in (200, 202)
        asked.append(amount)
        impatient = refund_http(str(payment.pk), staff, "1.00", key=f"refund-impatient-{n:04d}")
        if impatient.status in (200, 202):
            asked.append(Decimal("1.00"))
        else:
            assert impatient.json()["error"]["code"] == "refund_pending"
        upay_hook(upay, reset=True)
        wait_until(lambda: upay_refunded(upay, payment) == sum(asked))
        done = refund_http(str(payment.pk), staff, str(amount), key=key)
        assert done.status == 200, done.body

    provider_total = upay_refunded(upay, payment)
    print(
        f"\nrefunds under injected timeouts: staff's accepted requests asked {sum(asked)} "
        f"({len(asked)} refunds); Upay refunded {provider_total} in "
        f"{upay.sim.counts['refund']} refund calls"
    )
    assert provider_total == sum(asked)
    assert upay.sim.counts["refund"] == len(asked)
    details = call(api.payments.app, "GET", f"/api/v1/admin/payments/{payment.pk}", headers=staff)
    assert money(details.json()["refunded"]) == sum(asked)
