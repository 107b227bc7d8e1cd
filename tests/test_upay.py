"""Upay: the adapter against the local simulator, and the payer return end to end."""

from __future__ import annotations

import itertools
import threading
from dataclasses import replace
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

import api.webhooks.upay
from devtools.payment_sims.upay import start_upay_simulator
from lib.conf import UpayConfig
from lib.payments.base import ProviderError, RefundQuery
from lib.payments.upay import UpayGateway
from tests.payment_shop import GUEST_EMAIL, PAYER_RETURNS, order_place, shop_product, webhook_follow

_invoices = itertools.count(1)


@pytest.fixture
def sim():
    server = start_upay_simulator()
    yield server
    server.stop()


def make_gateway(sim, kv, **overrides) -> UpayGateway:
    settings = UpayConfig(**{"base_url": sim.url + "/", "http_timeout": 2.0, **overrides})
    return UpayGateway(settings, kv=kv)


def invoice() -> str:
    return f"ZS-UP-{next(_invoices):05d}"


def start(gateway, amount="1250.00", callback="https://shop.test/api/webhooks/upay"):
    txn = invoice()
    result = gateway.start(
        payment_id="p-1",
        invoice=txn,
        amount=Decimal(amount),
        callback_url=callback,
        customer={"name": "Karim", "phone": "01812345678", "email": "k@shop.test"},
    )
    return txn, result


def press(result, action: str) -> str:
    """The payer opens the gateway page and presses Pay / Fail / Cancel; the browser's next URL."""
    page = httpx.get(result.redirect_url, timeout=5)
    assert page.status_code == 200 and f'value="{action}"' in page.text
    reply = httpx.post(result.redirect_url, data={"action": action}, timeout=5)
    assert reply.status_code == 302
    return reply.headers["location"]


def test_the_token_is_cached_across_calls_and_gateways(sim, kv):
    gateway = make_gateway(sim, kv)
    txn, _ = start(gateway)
    gateway.query(provider_payment_id=txn)
    make_gateway(sim, kv).query(provider_payment_id=txn)  # another function instance

    assert sim.sim.counts["auth"] == 1
    assert (sim.sim.counts["init"], sim.sim.counts["status"]) == (1, 2)
    assert kv.get(gateway.token_key)


def test_the_token_is_fetched_once_under_concurrency(sim, kv):
    gateway = make_gateway(sim, kv)
    txn, _ = start(gateway)
    kv.delete(gateway.token_key)
    sim.sim.hang("auth", 0.3)  # a slow auth: others wait on the lock instead of fetching too
    errors = []

    def query():
        try:
            make_gateway(sim, kv).query(provider_payment_id=txn)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=query) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sim.sim.counts["auth"] == 2  # the first start, then one refresh for all eight


def test_a_token_near_expiry_is_refreshed_and_a_refused_one_replaced(sim, kv):
    gateway = make_gateway(sim, kv, token_ttl=100, token_refresh_margin=300)
    txn, _ = start(gateway)
    gateway.query(provider_payment_id=txn)
    assert sim.sim.counts["auth"] == 2  # the cached token is always inside the margin

    gateway = make_gateway(sim, kv)
    gateway.query(provider_payment_id=txn)
    sim.sim.expire_tokens()  # Upay forgot the token before our TTL: 401, fetch a new one, retry
    status = gateway.query(provider_payment_id=txn)
    assert status.state == "pending"
    assert sim.sim.counts["auth"] == 4


def test_init_pay_status_is_captured(sim, kv):
    gateway = make_gateway(sim, kv)
    txn, result = start(gateway, callback="https://shop.test/api/webhooks/upay?x=1")

    assert result.provider_payment_id == txn
    assert result.redirect_url == f"{sim.url}/pay/{txn}"
    sent = sim.sim.payments[txn]["request"]
    assert (sent["amount"], sent["txn_id"], sent["redirect_url"]) == (
        "1250.00",
        txn,
        "https://shop.test/api/webhooks/upay?x=1",
    )
    assert gateway.query(provider_payment_id=txn).state == "pending"

    location = press(result, "pay")
    assert location.startswith("https://shop.test/api/webhooks/upay?x=1&")
    callback = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert callback["status"] == "successful"
    assert gateway.callback_payment_id(request_data=callback) == txn

    status = gateway.confirm(provider_payment_id=txn, callback=callback)
    assert (status.state, status.amount, status.provider_payment_id) == (
        "captured",
        Decimal("1250.00"),
        txn,
    )
    assert status.transaction_id.startswith("UP")


@pytest.mark.parametrize(("action", "state"), [("fail", "failed"), ("cancel", "cancelled")])
def test_a_failed_or_cancelled_payment(sim, kv, action, state):
    gateway = make_gateway(sim, kv)
    txn, result = start(gateway)
    location = press(result, action)
    assert parse_qs(urlsplit(location).query)["status"] == [state]
    status = gateway.confirm(provider_payment_id=txn, callback={"invoice_id": txn})
    assert (status.state, status.transaction_id) == (state, "")


def test_a_tampered_amount_is_reported_as_upay_reports_it(sim, kv):
    gateway = make_gateway(sim, kv)
    txn, result = start(gateway, amount="1250.00")
    press(result, "pay")
    sim.sim.tamper_amount(txn, "1.00")
    status = gateway.confirm(provider_payment_id=txn, callback={"invoice_id": txn})
    assert status.state == "captured"
    assert status.amount == Decimal("1.00") != Decimal("1250.00")


def test_a_timeout_is_a_retryable_provider_error(sim, kv):
    gateway = make_gateway(sim, kv, http_timeout=0.3)
    txn, _ = start(gateway)
    sim.sim.hang("status", 5)
    with pytest.raises(ProviderError) as caught:
        gateway.query(provider_payment_id=txn)
    assert (caught.value.code, caught.value.retryable) == ("upay_unavailable", True)


def test_errors_map_to_provider_errors(sim, kv):
    gateway = make_gateway(sim, kv)
    txn, _ = start(gateway)
    with pytest.raises(ProviderError) as duplicate:
        gateway.start(
            payment_id="p-2",
            invoice=txn,
            amount=Decimal("5"),
            callback_url="https://x",
            customer={},
        )
    assert (duplicate.value.code, duplicate.value.retryable) == ("upay_duplicate_txn", False)

    sim.sim.fail_next("status", status=502)
    with pytest.raises(ProviderError) as unavailable:
        gateway.query(provider_payment_id=txn)
    assert unavailable.value.retryable

    with pytest.raises(ProviderError) as unknown:
        gateway.query(provider_payment_id="ZS-NOPE")
    assert (unknown.value.code, unknown.value.retryable) == ("upay_rejected", False)

    kv.flushdb()
    wrong = make_gateway(sim, kv, merchant_key="wrong")
    with pytest.raises(ProviderError) as auth:
        wrong.query(provider_payment_id=txn)
    assert auth.value.code == "upay_auth_failed"

    with pytest.raises(ProviderError) as bad:
        gateway.callback_payment_id(request_data={"status": "successful"})
    assert bad.value.code == "upay_bad_callback"


def test_refund_part_then_the_rest_and_no_more(sim, kv):
    gateway = make_gateway(sim, kv)
    txn, result = start(gateway, amount="1000.00")
    press(result, "pay")
    status = gateway.query(provider_payment_id=txn)

    first = gateway.refund(
        provider_payment_id=txn,
        transaction_id=status.transaction_id,
        amount=Decimal("400"),
        reason="x",
    )
    second = gateway.refund(
        provider_payment_id=txn,
        transaction_id=status.transaction_id,
        amount=Decimal("600"),
        reason="x",
    )
    assert (first.amount, second.amount) == (Decimal("400.00"), Decimal("600.00"))
    assert first.refund_id != second.refund_id
    with pytest.raises(ProviderError) as refused:
        gateway.refund(
            provider_payment_id=txn,
            transaction_id=status.transaction_id,
            amount=Decimal("1"),
            reason="x",
        )
    assert (refused.value.code, refused.value.retryable) == ("upay_refund_refused", False)


def test_a_refund_in_the_failed_list_is_refused_and_the_status_tells_what_was_refunded(sim, kv):
    gateway = make_gateway(sim, kv)
    txn, result = start(gateway, amount="1000.00")
    press(result, "pay")
    trx = gateway.query(provider_payment_id=txn).transaction_id
    sim.sim.refuse_next_refund("Merchant balance insufficient")

    with pytest.raises(ProviderError) as refused:
        gateway.refund(provider_payment_id=txn, transaction_id=trx, amount=Decimal("5"), reason="")
    gateway.refund(provider_payment_id=txn, transaction_id=trx, amount=Decimal("300"), reason="")
    query = RefundQuery(provider_payment_id=txn, transaction_id=trx, amount=Decimal("300"))
    done = gateway.refund_status(query=query)
    missing = gateway.refund_status(query=replace(query, refunded_before=Decimal("300")))

    assert refused.value.code == "upay_refund_refused"
    assert "insufficient" in str(refused.value)
    assert sim.sim.payments[txn]["refunded"] == Decimal("300")
    assert (done.state, missing.state) == ("refunded", "not_found")


# --- end to end: checkout -> payment_start -> pay page -> webhook -> order paid ----------------


@pytest.fixture
def upay_env(sim, kv, monkeypatch):
    monkeypatch.setenv("UPAY_BASE_URL", sim.url)
    monkeypatch.setenv("UPAY_HTTP_TIMEOUT", "2")
    return sim


@pytest.mark.django_db
@pytest.mark.parametrize(*PAYER_RETURNS)
def test_the_payer_return_settles_the_order(upay_env, server_key, action, tamper, paid, landing):
    from db.models import PaymentEvent
    from lib.conf import config
    from lib.payments.services import payment_start

    order = order_place(shop_product("500.00"), server_key, "upay", quantity=2, email=GUEST_EMAIL)
    outcome = payment_start(
        order=order, idempotency_key=f"pay-{order.pk}", callback_base="https://api.shop.test"
    )
    assert outcome.redirect_url == f"{upay_env.url}/pay/{order.number}"
    reply = httpx.post(outcome.redirect_url, data={"action": action}, timeout=5)
    location = reply.headers["location"]
    assert location.startswith("https://api.shop.test/api/webhooks/upay?invoice_id=")
    if tamper:
        upay_env.sim.tamper_amount(order.number, tamper)

    response = webhook_follow(api.webhooks.upay.app, location)
    assert response.status == 302
    target = response.headers["location"]
    assert target.startswith(f"{config.storefront_url}/checkout/result?")
    assert parse_qs(urlsplit(target).query) == {"order": [order.number], "status": [landing]}
    order.refresh_from_db()
    events = set(
        PaymentEvent.objects.filter(payment=outcome.payment).values_list("event_type", flat=True)
    )
    if paid:
        assert order.status == "paid"
        assert "captured" in events
        again = webhook_follow(api.webhooks.upay.app, location)
        assert again.status == 302  # a repeated return changes nothing
        assert (
            PaymentEvent.objects.filter(payment=outcome.payment, event_type="captured").count() == 1
        )
    else:
        assert order.status == "awaiting_payment"
        assert "captured" not in events
        assert {"pay": "failed", "fail": "failed", "cancel": "cancelled"}[action] in events
