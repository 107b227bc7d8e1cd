"""SSLCommerz (and Rocket through it): the adapter against the local simulator, and the
webhook end to end (order placed → session → pay page → browser return + IPN → paid once)."""

from __future__ import annotations

import re
import time
from dataclasses import replace
from decimal import Decimal
from html import unescape
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

import api.webhooks.sslcommerz
from db.models import OrderStatusEvent, PaymentEvent
from devtools.payment_sims.sslcommerz import start_sslcommerz_simulator
from lib.conf import config, load_sslcommerz_config
from lib.payments.base import ProviderError, RefundQuery
from lib.payments.sslcommerz import gateway, sign, signature_valid
from tests.payment_shop import GUEST_EMAIL, order_place, shop_product
from tests.support import call

CALLBACK = "https://shop.example/api/webhooks/sslcommerz"
WEBHOOK = "/api/webhooks/sslcommerz"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def sim(monkeypatch):
    server = start_sslcommerz_simulator()
    server.hooks.deliver_ipn = False  # tests deliver the recorded IPN themselves
    monkeypatch.setenv("SSLCOMMERZ_BASE_URL", server.url)
    monkeypatch.setenv("PAYMENT_HTTP_TIMEOUT", "5")
    yield server
    server.stop()


def start(gw, *, invoice="ZS-1001", amount=Decimal("1250")):
    return gw.start(
        payment_id="pay-1",
        invoice=invoice,
        amount=amount,
        callback_url=CALLBACK,
        customer={"name": "Rahim", "email": "r@shop.test", "phone": "01712345678"},
    )


def press(redirect_url: str, action: str) -> tuple[str, dict[str, str]]:
    """The payer opens the pay page and presses a button: the auto-submitting form's target
    and fields (what the browser then POSTs to us)."""
    page = httpx.get(redirect_url, timeout=5)
    assert page.status_code == 200 and f"/{action}" in page.text
    answer = httpx.post(f"{redirect_url}/{action}", timeout=5)
    assert answer.status_code == 200
    target = unescape(re.search(r'action="([^"]+)"', answer.text).group(1))
    fields = {
        unescape(name): unescape(value)
        for name, value in re.findall(r'name="([^"]*)" value="([^"]*)"', answer.text)
    }
    return target, fields


def test_session_pay_validate_is_captured_with_exact_fields(sim):
    gw = gateway()
    result = start(gw)
    assert result.provider_payment_id == "ZS-1001"
    assert result.redirect_url == f"{sim.url}/pay/{result.raw['sessionkey']}"
    session = sim.state.sessions[result.raw["sessionkey"]]
    assert (session["total_amount"], session["currency"], session["tran_id"]) == (
        "1250.00",
        "BDT",
        "ZS-1001",
    )
    assert session["ipn_url"] == f"{CALLBACK}?event=ipn"
    assert session["success_url"] == f"{CALLBACK}?event=success"
    assert "multi_card_name" not in session
    assert gw.query(provider_payment_id="ZS-1001").state == "pending"

    target, fields = press(result.redirect_url, "pay")
    assert target == f"{CALLBACK}?event=success"
    assert fields["status"] == "VALID" and signature_valid(fields, gw.settings.store_password)
    ipn_url, ipn = sim.state.ipns[-1]
    assert ipn_url == f"{CALLBACK}?event=ipn" and ipn["val_id"] == fields["val_id"]

    assert gw.callback_payment_id(request_data=fields) == "ZS-1001"
    first = gw.confirm(provider_payment_id="ZS-1001", callback=fields)
    again = gw.confirm(provider_payment_id="ZS-1001", callback=ipn)  # VALIDATED the 2nd time
    for status in (first, again):
        assert (status.state, status.amount) == ("captured", Decimal("1250.00"))
        assert status.transaction_id == fields["bank_tran_id"] != ""
    assert (first.raw["status"], again.raw["status"]) == ("VALID", "VALIDATED")
    assert "store_passwd" not in first.raw
    queried = gw.query(provider_payment_id="ZS-1001")
    assert (queried.state, queried.amount) == ("captured", Decimal("1250.00"))


def test_rocket_is_preselected_in_the_session(sim, monkeypatch):
    result = start(gateway(preselect="rocket"))
    assert sim.state.sessions[result.raw["sessionkey"]]["multi_card_name"] == "dbblmobilebanking"
    monkeypatch.setenv("SSLCOMMERZ_ROCKET_MULTI_CARD_NAME", "rocket_gw")
    result = start(gateway(preselect="rocket"), invoice="ZS-1002")
    assert sim.state.sessions[result.raw["sessionkey"]]["multi_card_name"] == "rocket_gw"
    assert "rocket_gw" in httpx.get(result.redirect_url, timeout=5).text


def test_a_forged_or_missing_signature_is_refused(sim):
    gw = gateway()
    _, fields = press(start(gw).redirect_url, "pay")
    forged = {**fields, "amount": "10.00"}  # changed in the browser, signature kept
    unsigned = {k: v for k, v in fields.items() if k != "verify_sign"}
    wrong_key = {**fields, "verify_sign": sign(fields, "not-the-store-password")}
    for data in (forged, unsigned, wrong_key, {"tran_id": "ZS-1001"}):
        with pytest.raises(ProviderError) as caught:
            gw.callback_payment_id(request_data=data)
        assert caught.value.code == "sslcommerz_signature_invalid"
    sim.hooks.break_signature = True
    _, broken = press(start(gw, invoice="ZS-1003").redirect_url, "pay")
    with pytest.raises(ProviderError):
        gw.callback_payment_id(request_data=broken)


def test_a_tampered_amount_is_refused_at_validation(sim):
    gw = gateway()
    sim.hooks.tamper_amount = "12.00"  # the payer paid less than the session asked
    _, fields = press(start(gw).redirect_url, "pay")
    assert gw.callback_payment_id(request_data=fields) == "ZS-1001"  # genuinely signed
    with pytest.raises(ProviderError) as caught:
        gw.confirm(provider_payment_id="ZS-1001", callback=fields)
    assert (caught.value.code, caught.value.retryable) == ("sslcommerz_mismatch", False)
    # ... and a validation answering for another tran_id
    with pytest.raises(ProviderError):
        gw.confirm(provider_payment_id="ZS-9999", callback=fields)


@pytest.mark.parametrize(("action", "state"), [("fail", "failed"), ("cancel", "cancelled")])
def test_fail_and_cancel(sim, action, state):
    gw = gateway()
    target, fields = press(start(gw).redirect_url, action)
    assert target == f"{CALLBACK}?event={action}"
    assert gw.callback_payment_id(request_data=fields) == "ZS-1001"
    status = gw.confirm(provider_payment_id="ZS-1001", callback=fields)
    assert status.state == state


def test_a_hanging_validation_is_a_retryable_provider_error(sim, monkeypatch):
    monkeypatch.setenv("PAYMENT_HTTP_TIMEOUT", "0.3")
    gw = gateway()
    _, fields = press(start(gw).redirect_url, "pay")
    sim.hooks.hang_validation = 5
    began = time.monotonic()
    with pytest.raises(ProviderError) as caught:
        gw.confirm(provider_payment_id="ZS-1001", callback=fields)
    assert time.monotonic() - began < 3
    assert (caught.value.code, caught.value.retryable) == ("sslcommerz_unavailable", True)


def test_refund_within_the_paid_amount(sim):
    gw = gateway()
    _, fields = press(start(gw).redirect_url, "pay")
    status = gw.confirm(provider_payment_id="ZS-1001", callback=fields)
    refund = gw.refund(
        provider_payment_id="ZS-1001",
        transaction_id=status.transaction_id,
        amount=Decimal("250"),
        reason="one cup broken",
    )
    assert refund.amount == Decimal("250.00") and refund.refund_id.startswith("RF")
    assert refund.state == "pending"  # taken by SSLCommerz; its refund query confirms it
    query = RefundQuery(
        provider_payment_id="ZS-1001",
        transaction_id=status.transaction_id,
        amount=Decimal("250.00"),
        refund_id=refund.refund_id,
    )
    sim.hooks.refunds_processing = True  # the bank has not paid it back yet
    assert gw.refund_status(query=query).state == "pending"
    sim.hooks.refunds_processing = False
    assert gw.refund_status(query=query).state == "refunded"
    assert gw.refund_status(query=replace(query, refund_id="")).state == "unknown"
    with pytest.raises(ProviderError) as caught:
        gw.refund(
            provider_payment_id="ZS-1001",
            transaction_id=status.transaction_id,
            amount=Decimal("1000.01"),
            reason="too much",
        )
    assert caught.value.code == "sslcommerz_refund_refused"


def test_wrong_store_credentials_refuse_the_session(sim, monkeypatch):
    monkeypatch.setenv("SSLCOMMERZ_STORE_PASSWORD", "wrong")
    with pytest.raises(ProviderError) as caught:
        start(gateway())
    assert caught.value.code == "sslcommerz_refused"
    assert load_sslcommerz_config().base_url == sim.url


# --- end to end through the webhook function ------------------------------------------------


def post_webhook(target: str, fields: dict[str, str]):
    query = urlsplit(target).query
    return call(
        api.webhooks.sslcommerz.app,
        "POST",
        f"{WEBHOOK}?{query}",
        body=urlencode(fields),
        headers=FORM,
    )


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["sslcommerz", "rocket"])
def test_browser_return_and_ipn_in_any_order_pay_the_order_once(sim, server_key, method):
    from lib.payments.services import payment_start

    order = order_place(shop_product("1250.00"), server_key, method, email=GUEST_EMAIL)
    outcome = payment_start(
        order=order, idempotency_key=f"ssl-pay-{order.pk}", callback_base="https://shop.test"
    )
    session = sim.state.sessions[urlsplit(outcome.redirect_url).path.rsplit("/", 1)[-1]]
    assert session["total_amount"] == f"{order.total_amount:.2f}"
    assert session["tran_id"] == order.number
    assert (session.get("multi_card_name") == "dbblmobilebanking") is (method == "rocket")

    target, fields = press(outcome.redirect_url, "pay")
    ipn_url, ipn = sim.state.ipns[-1]
    assert ipn_url == "https://shop.test/api/webhooks/sslcommerz?event=ipn"
    # the IPN first, then the browser, then both again
    for url, data in ((ipn_url, ipn), (target, fields), (target, fields), (ipn_url, ipn)):
        response = post_webhook(url, data)
        if "event=ipn" in url:
            assert (response.status, response.body) == (200, b"OK")
        else:
            assert response.status == 302
            location = response.headers["location"]
            assert location.endswith(f"/checkout/result?order={order.number}&status=paid")

    order.refresh_from_db()
    assert order.status == "paid"
    captured = PaymentEvent.objects.filter(payment=outcome.payment, event_type="captured")
    assert captured.count() == 1
    assert captured.get().provider_reference == fields["bank_tran_id"]
    assert OrderStatusEvent.objects.filter(order=order, to_status="paid").count() == 1


@pytest.mark.django_db
def test_forged_and_tampered_posts_do_not_pay_the_order(sim, server_key):
    from lib.payments.services import payment_start

    order = order_place(shop_product("1250.00"), server_key, "sslcommerz", email=GUEST_EMAIL)
    outcome = payment_start(
        order=order, idempotency_key=f"ssl-pay-{order.pk}", callback_base="https://shop.test"
    )
    sim.hooks.tamper_amount = "10.00"
    target, fields = press(outcome.redirect_url, "pay")
    forged = {**fields, "verify_sign": "0" * 32}
    assert post_webhook(f"{target.split('?')[0]}?event=ipn", forged).status == 400
    browser = post_webhook(target, fields)
    assert browser.status == 302 and browser.headers["location"].endswith("status=failed")
    ipn = post_webhook(f"{target.split('?')[0]}?event=ipn", fields)
    assert ipn.status >= 400
    order.refresh_from_db()
    assert order.status == "awaiting_payment"
    assert not PaymentEvent.objects.filter(payment=outcome.payment, event_type="captured").exists()


@pytest.mark.django_db
def test_a_cancelled_payment_sends_the_payer_back_cancelled(sim, server_key):
    from lib.payments.services import payment_start

    order = order_place(shop_product("1250.00"), server_key, "sslcommerz", email=GUEST_EMAIL)
    outcome = payment_start(
        order=order, idempotency_key=f"ssl-pay-{order.pk}", callback_base="https://shop.test"
    )
    target, fields = press(outcome.redirect_url, "cancel")
    response = post_webhook(target, fields)
    assert response.status == 302
    assert parse_qs(urlsplit(response.headers["location"]).query)["status"] == ["cancelled"]
    order.refresh_from_db()
    assert order.status == "awaiting_payment"


def test_the_webhook_only_takes_posts():
    assert call(api.webhooks.sslcommerz.app, "GET", WEBHOOK).status == 405


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["sslcommerz", "rocket"])
@pytest.mark.parametrize(
    ("action", "tamper", "landing"),
    [
        ("pay", None, "paid"),
        ("fail", None, "failed"),
        ("cancel", None, "cancelled"),
        ("pay", "10.00", "failed"),
    ],
)
def test_the_payer_lands_on_one_vocabulary_with_the_order_number(
    sim, server_key, method, action, tamper, landing
):
    """The storefront's result page reads the same words from every provider; the order
    number is there on failure, cancel and refusal too, also for a second attempt (whose
    tran_id is ZS-...-2, not the order number)."""
    from lib.payments.services import payment_start

    order = order_place(shop_product("1250.00"), server_key, method, email=GUEST_EMAIL)
    first = payment_start(
        order=order, idempotency_key=f"ssl-pay-{order.pk}", callback_base="https://shop.test"
    )
    post_webhook(*press(first.redirect_url, "cancel"))
    second = payment_start(
        order=order, idempotency_key=f"ssl-pay2-{order.pk}", callback_base="https://shop.test"
    )
    assert second.payment.transaction_id == f"{order.number}-2"
    sim.hooks.tamper_amount = tamper
    response = post_webhook(*press(second.redirect_url, action))
    assert response.status == 302
    location = response.headers["location"]
    assert location.startswith(f"{config.storefront_url}/checkout/result?")
    assert parse_qs(urlsplit(location).query) == {"order": [order.number], "status": [landing]}
