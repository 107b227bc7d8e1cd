"""bKash tokenized checkout: the adapter against the local simulator over HTTP, and the payer's
return through the webhook to a paid order."""

from __future__ import annotations

import dataclasses
import itertools
import json
import threading
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from devtools.payment_sims import bkash as sim_module
from devtools.payment_sims.bkash import start_bkash_simulator
from lib import conf
from lib.payments.base import ProviderError
from lib.payments.bkash import TOKEN_KEY, BkashGateway
from tests.payment_shop import GUEST_EMAIL, bkash_config_set, order_place, shop_product

_invoices = itertools.count(1)


@pytest.fixture(scope="module")
def running():
    with start_bkash_simulator() as server:
        yield server


@pytest.fixture
def sim(running, kv):
    running.reset()
    return running


def make_gateway(sim, **overrides) -> BkashGateway:
    settings = {
        "base_url": sim.url,
        "app_key": sim_module.APP_KEY,
        "app_secret": sim_module.APP_SECRET,
        "username": sim_module.USERNAME,
        "password": sim_module.PASSWORD,
        "timeout": 5.0,
        **overrides,
    }
    return BkashGateway(**settings)


def start(gateway, amount="1250.00"):
    return gateway.start(
        payment_id="p1",
        invoice=f"ZS-TEST-{next(_invoices):05d}",
        amount=Decimal(amount),
        callback_url="http://shop.test/api/webhooks/bkash",
        customer={"phone": "01712345678"},
    )


def payer(url: str, action: str) -> dict:
    """The payer opens the bKash page and presses a button; returns the callback query."""
    page = httpx.get(url)
    assert page.status_code == 200 and "Pay" in page.text
    reply = httpx.post(url, data={"action": action}, follow_redirects=False)
    assert reply.status_code == 302
    location = urlsplit(reply.headers["Location"])
    assert location.path == "/api/webhooks/bkash"
    return {key: values[0] for key, values in parse_qs(location.query).items()}


def test_the_token_is_granted_once_and_shared_through_redis(sim, kv):
    gateway = make_gateway(sim)
    start(gateway)
    start(gateway)
    make_gateway(sim).query(provider_payment_id=start(make_gateway(sim)).provider_payment_id)
    assert sim.hits("token/grant") == 1
    assert sim.hits("create") == 3
    assert 3200 < kv.ttl(TOKEN_KEY) <= 3300  # expires_in - 300
    assert json.loads(kv.get(TOKEN_KEY))["id_token"] in sim.sim.tokens


def test_concurrent_instances_grant_only_once(sim):
    errors = []

    def work():
        try:
            start(make_gateway(sim))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert (sim.hits("token/grant"), sim.hits("create")) == (1, 8)


def test_the_token_is_refreshed_before_it_expires(sim, kv):
    gateway = make_gateway(sim)
    sim.sim.expires_in = 800  # 800 s left: inside the refresh window
    start(gateway)
    first = json.loads(kv.get(TOKEN_KEY))["id_token"]
    sim.sim.expires_in = 3600
    start(gateway)
    start(gateway)
    assert (sim.hits("token/grant"), sim.hits("token/refresh")) == (1, 1)
    assert json.loads(kv.get(TOKEN_KEY))["id_token"] != first


def test_a_paid_payment_is_executed_and_captured(sim):
    gateway = make_gateway(sim)
    result = start(gateway)
    assert result.redirect_url == f"{sim.url}/pay/{result.provider_payment_id}"
    payment = sim.payments[result.provider_payment_id]
    assert (payment["amount"], payment["transactionStatus"]) == ("1250.00", "Initiated")
    callback = payer(result.redirect_url, "pay")
    assert callback["status"] == "success"
    assert gateway.callback_payment_id(request_data=callback) == result.provider_payment_id
    status = gateway.confirm(provider_payment_id=result.provider_payment_id, callback=callback)
    assert (status.state, status.amount) == ("captured", Decimal("1250.00"))
    assert status.transaction_id == payment["trxID"] != ""
    assert gateway.query(provider_payment_id=result.provider_payment_id).state == "captured"


@pytest.mark.parametrize(("action", "state"), [("fail", "failed"), ("cancel", "cancelled")])
def test_a_failed_or_cancelled_payment_is_never_executed(sim, action, state):
    gateway = make_gateway(sim)
    result = start(gateway)
    callback = payer(result.redirect_url, action)
    status = gateway.confirm(provider_payment_id=result.provider_payment_id, callback=callback)
    assert status.state == state
    assert sim.hits("execute") == 0


def test_a_forged_success_return_without_payment_is_not_captured(sim):
    gateway = make_gateway(sim)
    result = start(gateway)  # the payer never approved
    callback = {"paymentID": result.provider_payment_id, "status": "success"}
    status = gateway.confirm(provider_payment_id=result.provider_payment_id, callback=callback)
    assert status.state == "failed"


def test_an_execute_timeout_is_settled_by_a_status_query_exactly_once(sim):
    gateway = make_gateway(sim, timeout=0.5)
    result = start(gateway)
    callback = payer(result.redirect_url, "pay")
    sim.hang_next_execute(1.5)
    status = gateway.confirm(provider_payment_id=result.provider_payment_id, callback=callback)
    assert (status.state, status.amount) == ("captured", Decimal("1250.00"))
    assert sim.payments[result.provider_payment_id]["executions"] == 1
    assert (sim.hits("execute"), sim.hits("payment/status")) == (1, 1)


def test_already_completed_2062_is_answered_by_a_query(sim):
    gateway = make_gateway(sim)
    result = start(gateway)
    callback = payer(result.redirect_url, "pay")
    gateway.confirm(provider_payment_id=result.provider_payment_id, callback=callback)
    again = gateway.confirm(provider_payment_id=result.provider_payment_id, callback=callback)
    assert again.state == "captured"
    assert sim.payments[result.provider_payment_id]["executions"] == 1
    assert sim.hits("payment/status") == 1


def test_refunds(sim):
    gateway = make_gateway(sim)
    result = start(gateway)
    captured = gateway.confirm(
        provider_payment_id=result.provider_payment_id,
        callback=payer(result.redirect_url, "pay"),
    )
    refund = gateway.refund(
        provider_payment_id=result.provider_payment_id,
        transaction_id=captured.transaction_id,
        amount=Decimal("250"),
        reason="damaged cup",
    )
    assert refund.amount == Decimal("250.00") and refund.refund_id
    with pytest.raises(ProviderError) as raised:
        gateway.refund(
            provider_payment_id=result.provider_payment_id,
            transaction_id=captured.transaction_id,
            amount=Decimal("1001.00"),
            reason="too much",
        )
    assert (raised.value.code, raised.value.status_code) == ("bkash_rejected", "2071")


def test_errors_are_mapped_to_provider_errors(sim):
    gateway = make_gateway(sim)
    sim.fail_next("create", "2029", "Duplicate for all transactions")
    with pytest.raises(ProviderError) as raised:
        start(gateway)
    assert (raised.value.code, raised.value.status_code) == ("bkash_rejected", "2029")
    assert not raised.value.retryable

    result = start(gateway)
    callback = payer(result.redirect_url, "pay")
    sim.fail_next("execute", "2023", "Insufficient Balance")
    status = gateway.confirm(provider_payment_id=result.provider_payment_id, callback=callback)
    assert (status.state, status.raw["execute_error"]) == ("failed", "2023")

    with pytest.raises(ProviderError) as raised:
        gateway.callback_payment_id(request_data={"status": "success"})
    assert raised.value.code == "bkash_bad_callback"


def test_an_unreachable_bkash_is_retryable(sim):
    gateway = make_gateway(sim, base_url="http://127.0.0.1:9")
    with pytest.raises(ProviderError) as raised:
        start(gateway)
    assert (raised.value.code, raised.value.retryable) == ("bkash_unavailable", True)


@pytest.mark.parametrize("wrong", ["password", "app_secret", "app_key"])
def test_wrong_credentials_or_headers_are_refused(sim, wrong):
    gateway = make_gateway(sim, **{wrong: "nope"})
    with pytest.raises(ProviderError) as raised:
        start(gateway)
    assert raised.value.code == "bkash_auth_failed"


def test_a_bad_cached_token_is_replaced_once(sim, kv):
    gateway = make_gateway(sim)
    start(gateway)
    sim.sim.tokens.clear()  # bKash forgot every token
    start(gateway)
    assert sim.hits("token/grant") + sim.hits("token/refresh") == 2


def test_no_base_url_is_not_configured():
    with pytest.raises(ProviderError) as raised:
        BkashGateway(base_url="", app_key="k", app_secret="s", username="u", password="p")
    assert raised.value.code == "bkash_not_configured"


# --- end to end: order -> start -> pay page -> webhook -> paid ---------------------------


@pytest.fixture
def shop(sim, monkeypatch):
    bkash_config_set(monkeypatch, sim.url)
    return shop_product("500.00")


def pay_through_webhook(sim, order, action="pay"):
    import api.webhooks.bkash
    from lib.payments.services import payment_start
    from tests.support import call

    outcome = payment_start(
        order=order, idempotency_key=f"pay-{order.number}", callback_base="http://shop.test"
    )
    callback = payer(outcome.redirect_url, action)
    query = "&".join(f"{k}={v}" for k, v in callback.items())
    reply = call(api.webhooks.bkash.app, "GET", f"/api/webhooks/bkash?{query}")
    assert reply.status == 302
    return outcome, parse_qs(urlsplit(reply.headers["location"]).query)


@pytest.mark.django_db(transaction=True)
def test_end_to_end_a_bkash_order_is_paid_once(sim, shop, server_key):
    import api.webhooks.bkash
    from tests.support import call

    order = order_place(shop, server_key, "bkash", email=GUEST_EMAIL)
    outcome, result = pay_through_webhook(sim, order)
    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("paid", "paid")
    assert result["order"] == [order.number]
    payment = outcome.payment
    payment.refresh_from_db()
    assert payment.status == "captured"
    assert payment.events.filter(event_type="captured").count() == 1
    # the same return again: no second execute, no second capture
    again = call(
        api.webhooks.bkash.app,
        "GET",
        f"/api/webhooks/bkash?paymentID={payment.transaction_id}&status=success",
    )
    assert again.status == 302
    assert sim.payments[payment.transaction_id]["executions"] == 1
    assert payment.events.filter(event_type="captured").count() == 1


@pytest.mark.django_db(transaction=True)
def test_end_to_end_a_tampered_amount_is_refused(sim, shop, server_key):
    order = order_place(shop, server_key, "bkash", email=GUEST_EMAIL)
    sim.tamper_next_amount("1.00")
    outcome, result = pay_through_webhook(sim, order)
    order.refresh_from_db()
    assert order.status == "awaiting_payment"
    outcome.payment.refresh_from_db()
    assert outcome.payment.status == "failed"
    assert not outcome.payment.events.filter(event_type="captured").exists()
    assert result["status"] == ["failed"]


# --- execute once per payment, whatever the returns say ---------------------------------


def sim_report(sim, payment_id: str) -> dict:
    """What the simulator saw of one payment, read over HTTP."""
    reply = httpx.get(f"{sim.url}/__sim/payments/{payment_id}", timeout=5)
    assert reply.status_code == 200
    return reply.json()


def bkash_return(query: str, *, isolated: bool = False):
    import api.webhooks.bkash
    from tests.support import call

    return call(api.webhooks.bkash.app, "GET", f"/api/webhooks/bkash?{query}", isolated=isolated)


def started_payment(sim, order):
    from lib.payments.services import payment_start

    return payment_start(
        order=order, idempotency_key=f"pay-{order.number}", callback_base="http://shop.test"
    )


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_returns_execute_the_payment_once(sim, shop, server_key):
    order = order_place(shop, server_key, "bkash", email=GUEST_EMAIL)
    outcome = started_payment(sim, order)
    callback = payer(outcome.redirect_url, "pay")
    query = "&".join(f"{k}={v}" for k, v in callback.items())
    sim.slow_executes(1.0)  # every return is in flight while the first execute runs
    barrier = threading.Barrier(10)
    landings: list[dict] = []

    def load_return_url() -> None:
        barrier.wait()
        reply = bkash_return(query, isolated=True)
        landings.append(parse_qs(urlsplit(reply.headers["location"]).query))

    threads = [threading.Thread(target=load_return_url) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    report = sim_report(sim, outcome.payment.transaction_id)
    assert (report["executeCalls"], report["executions"]) == (1, 1)
    assert len(landings) == 10
    assert all(landing == {"order": [order.number], "status": ["paid"]} for landing in landings)
    order.refresh_from_db()
    assert order.status == "paid"
    assert outcome.payment.events.filter(event_type="captured").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_later_success_return_queries_instead_of_executing_again(
    sim, shop, server_key, monkeypatch
):
    """The first return's execute completes at bKash but answers too late, and the status
    query after it fails: our record stays open. The payer reloads the return URL later."""
    monkeypatch.setattr(
        conf, "payment_config", dataclasses.replace(conf.payment_config, http_timeout=0.5)
    )
    order = order_place(shop, server_key, "bkash", email=GUEST_EMAIL)
    outcome = started_payment(sim, order)
    query = "&".join(f"{k}={v}" for k, v in payer(outcome.redirect_url, "pay").items())
    sim.hang_next_execute(1.5)
    sim.fail_next("payment/status", "9999", "System error")
    bkash_return(query)
    outcome.payment.refresh_from_db()
    assert outcome.payment.status == "pending"

    reply = bkash_return(query)
    report = sim_report(sim, outcome.payment.transaction_id)
    assert (report["executeCalls"], report["executions"]) == (1, 1)
    assert parse_qs(urlsplit(reply.headers["location"]).query)["status"] == ["paid"]
    outcome.payment.refresh_from_db()
    assert outcome.payment.status == "captured"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("status", "landing"),
    [("failure", "failed"), ("cancel", "cancelled"), ("FAILURE", "failed"), ("", "pending")],
)
def test_an_edited_failure_return_of_an_approved_payment_is_never_executed(
    sim, shop, server_key, status, landing
):
    """The payer approved at bKash, but the return says failure/cancel (or nothing): bKash
    is asked, not told; what it says (still initiated) is what is recorded."""
    order = order_place(shop, server_key, "bkash", email=GUEST_EMAIL)
    outcome = started_payment(sim, order)
    callback = payer(outcome.redirect_url, "pay") | {"status": status}
    query = "&".join(f"{k}={v}" for k, v in callback.items() if v)
    reply = bkash_return(query)
    report = sim_report(sim, outcome.payment.transaction_id)
    assert (report["executeCalls"], report["statusQueries"]) == (0, 1)
    outcome.payment.refresh_from_db()
    order.refresh_from_db()
    assert (outcome.payment.status, order.status) == ("pending", "awaiting_payment")
    result = parse_qs(urlsplit(reply.headers["location"]).query)
    assert result == {"order": [order.number], "status": [landing]}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("action", "landing", "executes"),
    [("pay", "paid", 1), ("fail", "failed", 0), ("cancel", "cancelled", 0)],
)
def test_the_payer_lands_on_one_vocabulary_with_the_order_number(
    sim, shop, server_key, action, landing, executes
):
    order = order_place(shop, server_key, "bkash", email=GUEST_EMAIL)
    outcome, result = pay_through_webhook(sim, order, action)
    assert result == {"order": [order.number], "status": [landing]}
    assert sim_report(sim, outcome.payment.transaction_id)["executeCalls"] == executes
    outcome.payment.refresh_from_db()
    assert outcome.payment.status == {"paid": "captured"}.get(landing, landing)
