"""Nagad adapter (lib/payments/nagad.py) against the local simulator (devtools/payment_sims)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from urllib.parse import parse_qs, parse_qsl, quote, urlsplit

import httpx
import pytest

import api.webhooks.nagad
from devtools.payment_sims.nagad import (
    new_private_key,
    private_pem,
    public_pem,
    start_nagad_simulator,
)
from lib.conf import REPO_ROOT, NagadConfig
from lib.payments.base import ProviderError
from lib.payments.nagad import NagadKeyError, gateway, load_private_key, load_public_key
from tests.payment_shop import GUEST_EMAIL, PAYER_RETURNS, order_place, shop_product, webhook_follow

MERCHANT_ID = "683002007104225"
CALLBACK = "https://shop.example/api/webhooks/nagad"


@pytest.fixture(scope="module")
def merchant_key():
    return new_private_key()


@pytest.fixture
def sim(merchant_key):
    server = start_nagad_simulator(
        merchant_id=MERCHANT_ID, merchant_public_key_pem=public_pem(merchant_key)
    )
    yield server
    server.stop()


def settings_for(sim, merchant_key, **overrides) -> NagadConfig:
    values = {
        "base_url": sim.api_url,
        "merchant_id": MERCHANT_ID,
        "merchant_private_key": private_pem(merchant_key),
        "public_key": sim.public_key_pem,
        "http_timeout": 5.0,
        **overrides,
    }
    return NagadConfig(**values)


def start(gw, payment_id="pay0001", amount=Decimal("1250")):
    return gw.start(
        payment_id=payment_id,
        invoice="ZS-1001",
        amount=amount,
        callback_url=CALLBACK,
        customer={"ip": "103.4.5.6"},
    )


def payer_returns(result, action: str) -> dict:
    """The payer opens the pay page, presses a button and is sent back to the callback."""
    assert httpx.get(result.redirect_url, timeout=5).status_code == 200
    answer = httpx.post(result.redirect_url, data={"action": action}, timeout=5)
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(CALLBACK + "?")
    return dict(parse_qsl(urlsplit(location).query))


def test_initialize_complete_pay_verify_is_captured(sim, merchant_key):
    gw = gateway(config=settings_for(sim, merchant_key))
    result = start(gw)
    assert result.redirect_url == f"{sim.url}/pay/{quote(result.provider_payment_id, safe='')}"
    stored = sim.sim.payments[result.provider_payment_id]
    assert (stored.order_id, stored.amount, stored.callback_url) == ("pay0001", "1250.00", CALLBACK)
    assert gw.query(provider_payment_id=result.provider_payment_id).state == "pending"

    callback = payer_returns(result, "pay")
    assert callback["status"] == "Success" and callback["order_id"] == "pay0001"
    assert gw.callback_payment_id(request_data=callback) == result.provider_payment_id
    status = gw.confirm(provider_payment_id=result.provider_payment_id, callback=callback)
    assert status.state == "captured"
    assert status.amount == Decimal("1250.00")
    assert status.transaction_id == stored.issuer_ref != ""
    assert status.raw["orderId"] == "pay0001"


def test_the_simulator_refuses_a_request_not_signed_by_the_merchant(sim, merchant_key):
    stranger = private_pem(new_private_key())
    gw = gateway(config=settings_for(sim, merchant_key, merchant_private_key=stranger))
    with pytest.raises(ProviderError) as caught:
        start(gw)
    assert caught.value.code == "rejected" and not caught.value.retryable


def test_a_forged_reply_signature_is_refused(sim, merchant_key):
    sim.sim.hooks.forge_signature = True
    gw = gateway(config=settings_for(sim, merchant_key))
    with pytest.raises(ProviderError) as caught:
        start(gw)
    assert caught.value.code == "bad_signature"


def test_a_reply_signed_with_another_nagad_key_is_refused(sim, merchant_key):
    other = public_pem(new_private_key())
    gw = gateway(config=settings_for(sim, merchant_key, public_key=other))
    with pytest.raises(ProviderError):
        start(gw)  # the simulator cannot decrypt either: refused before any reply is trusted


def test_a_tampered_amount_is_reported_as_nagad_says(sim, merchant_key):
    """Only the verify answer counts; the payment service compares it with its own record."""
    gw = gateway(config=settings_for(sim, merchant_key))
    result = start(gw)
    callback = payer_returns(result, "pay")
    sim.sim.hooks.tamper_amount = "12.50"
    status = gw.confirm(provider_payment_id=result.provider_payment_id, callback=callback)
    assert status.amount == Decimal("12.50") != Decimal("1250.00")


def test_a_callback_for_another_order_is_refused(sim, merchant_key):
    gw = gateway(config=settings_for(sim, merchant_key))
    result = start(gw)
    callback = payer_returns(result, "pay") | {"order_id": "someoneelse"}
    with pytest.raises(ProviderError) as caught:
        gw.confirm(provider_payment_id=result.provider_payment_id, callback=callback)
    assert caught.value.code == "mismatch"


@pytest.mark.parametrize(
    ("action", "hint", "state"), [("fail", "Failed", "failed"), ("cancel", "Aborted", "cancelled")]
)
def test_failed_and_aborted_payments(sim, merchant_key, action, hint, state):
    gw = gateway(config=settings_for(sim, merchant_key))
    result = start(gw, payment_id=f"pay-{action}")
    callback = payer_returns(result, action)
    assert callback["status"] == hint
    status = gw.confirm(provider_payment_id=result.provider_payment_id, callback=callback)
    assert (status.state, status.transaction_id) == (state, "")


def test_a_success_hint_does_not_capture_what_nagad_does_not_confirm(sim, merchant_key):
    gw = gateway(config=settings_for(sim, merchant_key))
    result = start(gw)
    forged = {
        "payment_ref_id": result.provider_payment_id,
        "order_id": "pay0001",
        "status": "Success",
    }
    assert (
        gw.confirm(provider_payment_id=result.provider_payment_id, callback=forged).state
        == "pending"
    )


def test_a_timeout_is_a_retryable_provider_error(sim, merchant_key):
    sim.sim.hooks.hang = 1.5
    gw = gateway(config=settings_for(sim, merchant_key, http_timeout=0.3))
    with pytest.raises(ProviderError) as caught:
        start(gw)
    assert caught.value.retryable and caught.value.code == "timeout"


def test_a_server_error_is_retryable_and_a_refusal_is_not(sim, merchant_key):
    gw = gateway(config=settings_for(sim, merchant_key))
    sim.sim.hooks.error = (503, "maintenance")
    with pytest.raises(ProviderError) as caught:
        start(gw)
    assert caught.value.retryable
    sim.sim.hooks.error = None
    start(gw, payment_id="dup1")
    with pytest.raises(ProviderError) as caught:
        start(gw, payment_id="dup1")  # Nagad order ids are single-use
    assert not caught.value.retryable


def test_refund_is_not_offered_by_the_public_api(sim, merchant_key):
    gw = gateway(config=settings_for(sim, merchant_key))
    with pytest.raises(ProviderError) as caught:
        gw.refund(provider_payment_id="x", transaction_id="y", amount=Decimal("1"), reason="r")
    assert caught.value.code == "unsupported"


def test_a_callback_without_a_reference_is_refused(sim, merchant_key):
    gw = gateway(config=settings_for(sim, merchant_key))
    for data in ({}, {"payment_ref_id": ""}, {"payment_ref_id": "../../etc"}):
        with pytest.raises(ProviderError):
            gw.callback_payment_id(request_data=data)


def test_malformed_keys_are_named_clearly(merchant_key):
    with pytest.raises(NagadKeyError, match="NAGAD_MERCHANT_PRIVATE_KEY is not set"):
        load_private_key("")
    with pytest.raises(NagadKeyError, match="NAGAD_MERCHANT_PRIVATE_KEY is not a valid"):
        load_private_key("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----")
    with pytest.raises(NagadKeyError, match="NAGAD_PUBLIC_KEY is not a valid"):
        load_public_key("garbage!!")
    with pytest.raises(NagadKeyError, match="NAGAD_PUBLIC_KEY is not a valid"):
        load_public_key(private_pem(merchant_key))  # a private key where the public one goes
    # the same keys as one line with \n escapes, or as a bare base64 body, are accepted
    assert load_private_key(private_pem(merchant_key).replace("\n", "\\n"))
    body = "".join(public_pem(merchant_key).strip().splitlines()[1:-1])
    assert load_public_key(body)


def test_settings_come_from_the_environment_in_a_fresh_process(sim, merchant_key):
    """Keys are written to the environment as one-line PEMs, the way a dashboard stores them."""
    env = os.environ | {
        "NAGAD_BASE_URL": sim.api_url,
        "NAGAD_MERCHANT_ID": MERCHANT_ID,
        "NAGAD_MERCHANT_PRIVATE_KEY": private_pem(merchant_key).replace("\n", "\\n"),
        "NAGAD_PUBLIC_KEY": sim.public_key_pem,
        "NAGAD_HTTP_TIMEOUT": "4",
    }
    script = (
        "import json; from decimal import Decimal; from lib.payments.nagad import gateway; "
        "gw = gateway(); r = gw.start(payment_id='envpay1', invoice='i', amount=Decimal('99.5'), "
        "callback_url='http://cb.example/x', customer={}); "
        "print(json.dumps([r.provider_payment_id, gw.settings.http_timeout]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    reference, timeout = json.loads(out.stdout.strip().splitlines()[-1])
    assert sim.sim.payments[reference].amount == "99.50" and timeout == 4.0

    bad = env | {"NAGAD_PUBLIC_KEY": "-----BEGIN PUBLIC KEY-----\nxx\n-----END PUBLIC KEY-----"}
    failed = subprocess.run(
        [sys.executable, "-c", "from lib.payments.nagad import gateway; gateway()"],
        env=bad,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (
        failed.returncode != 0
        and "NAGAD_PUBLIC_KEY is not a valid PEM RSA public key" in failed.stderr
    )


# --- end to end: checkout -> payment_start -> pay page -> webhook -> order paid ------------


@pytest.fixture
def nagad_env(sim, merchant_key, kv, monkeypatch):
    """The adapter as the registry builds it: from the environment, pointed at the simulator."""
    monkeypatch.setenv("NAGAD_BASE_URL", sim.api_url)
    monkeypatch.setenv("NAGAD_MERCHANT_ID", MERCHANT_ID)
    monkeypatch.setenv("NAGAD_MERCHANT_PRIVATE_KEY", private_pem(merchant_key))
    monkeypatch.setenv("NAGAD_PUBLIC_KEY", sim.public_key_pem)
    monkeypatch.setenv("NAGAD_CALLBACK_URL", "")
    monkeypatch.setenv("NAGAD_HTTP_TIMEOUT", "2")
    return sim


@pytest.mark.django_db
@pytest.mark.parametrize(*PAYER_RETURNS)
def test_the_payer_return_settles_the_order(nagad_env, server_key, action, tamper, paid, landing):
    from db.models import PaymentEvent
    from lib.conf import config
    from lib.payments.services import payment_start

    order = order_place(shop_product("625.00"), server_key, "nagad", quantity=2, email=GUEST_EMAIL)
    outcome = payment_start(
        order=order, idempotency_key=f"pay-{order.pk}", callback_base="https://api.shop.test"
    )
    reference = outcome.payment.transaction_id
    assert outcome.redirect_url == f"{nagad_env.url}/pay/{quote(reference, safe='')}"
    assert nagad_env.sim.payments[reference].amount == f"{outcome.payment.amount:.2f}"
    reply = httpx.post(outcome.redirect_url, data={"action": action}, timeout=5)
    location = reply.headers["location"]
    assert location.startswith("https://api.shop.test/api/webhooks/nagad?")
    if tamper:
        nagad_env.sim.hooks.tamper_amount = tamper

    response = webhook_follow(api.webhooks.nagad.app, location)
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
        again = webhook_follow(api.webhooks.nagad.app, location)
        assert again.status == 302  # a repeated return changes nothing
        captured = PaymentEvent.objects.filter(payment=outcome.payment, event_type="captured")
        assert captured.count() == 1
    else:
        assert order.status == "awaiting_payment"
        assert "captured" not in events
        assert {"pay": "failed", "fail": "failed", "cancel": "cancelled"}[action] in events


@pytest.mark.django_db
def test_a_forged_return_for_an_unknown_payment_lands_on_a_failed_result(nagad_env):
    response = webhook_follow(
        api.webhooks.nagad.app,
        "/api/webhooks/nagad?payment_ref_id=MDNOPE&order_id=x&status=Success",
    )
    assert response.status == 302 and "status=failed" in response.headers["location"]


# --- payment references shaped like Nagad's: long base64 with padding, `+` and `/` ---------


def test_the_simulator_issues_references_shaped_like_nagads(sim, merchant_key):
    reference = start(gateway(config=settings_for(sim, merchant_key))).provider_payment_id
    assert len(reference) > 100 and reference.endswith("=")
    assert "+" in reference and "/" in reference


def paid_return(nagad_env, server_key) -> tuple:
    """An order paid at Nagad; returns (order, payment, the callback's query string)."""
    from lib.payments.services import payment_start

    order = order_place(shop_product("625.00"), server_key, "nagad", quantity=2, email=GUEST_EMAIL)
    outcome = payment_start(
        order=order, idempotency_key=f"pay-{order.pk}", callback_base="https://api.shop.test"
    )
    reply = httpx.post(outcome.redirect_url, data={"action": "pay"}, timeout=5)
    return order, outcome.payment, urlsplit(reply.headers["location"]).query


@pytest.mark.django_db
def test_a_return_with_the_reference_sent_unencoded_is_verified(nagad_env, server_key):
    """`+`, `/` and `=` as they are in the query string (a `+` then reads as a space)."""
    order, payment, _ = paid_return(nagad_env, server_key)
    response = webhook_follow(
        api.webhooks.nagad.app,
        f"/api/webhooks/nagad?payment_ref_id={payment.transaction_id}&status=Success",
    )
    assert response.status == 302
    order.refresh_from_db()
    assert order.status == "paid"
    assert f"order={order.number}" in response.headers["location"]


@pytest.mark.django_db
def test_the_reconcile_cron_settles_a_nagad_payment_whose_payer_never_returned(
    nagad_env, server_key
):
    from datetime import timedelta

    from django.utils import timezone

    import api.cron_payments
    from db.models import Payment
    from tests.support import call

    order, payment, _ = paid_return(nagad_env, server_key)  # the browser never comes back
    Payment.objects.filter(pk=payment.pk).update(created_at=timezone.now() - timedelta(hours=1))
    response = call(
        api.cron_payments.app,
        "GET",
        "/api/cron/payments-reconcile",
        headers={"Authorization": "Bearer test-cron-secret"},
    )
    assert response.status == 200, response.body
    counts = response.json()
    assert (counts["checked"], counts["captured"], counts["errors"]) == (1, 1, 0)
    order.refresh_from_db()
    payment.refresh_from_db()
    assert (order.status, payment.status) == ("paid", "captured")
