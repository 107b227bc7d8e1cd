"""SMS: sizing, the gateways against the local simulator over HTTP, delivery through the
outbox (once, retried, given up), the per-number cap, the console backend, the staff list."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from django.db import transaction
from django.utils import timezone

import api.cron_outbox
import api.sms_admin
from db.models import OutboxMessage, OutboxStatus
from devtools.sms_sims.gateway import PERMANENT_FAILURE_NUMBER
from lib import conf
from lib.outbox import outbox_dispatch
from lib.sms.base import SmsError, sms_segments
from lib.sms.registry import sms_gateway
from lib.sms.services import SMS_TOPIC, sms_enqueue, sms_number
from tests import courier_shop
from tests.courier_shop import sms_backend_use, sms_running
from tests.payment_shop import signed_in
from tests.support import call

pytestmark = pytest.mark.django_db
__all__ = ["sms_running"]  # the SMS simulator's fixture used here

TIMEOUT = 0.5  # seconds our gateway calls wait in these tests
BACKENDS = ("sslwireless", "smsnetbd", "bulksmsbd")
NUMBER = "8801712345678"
CRON = {"Authorization": "Bearer test-cron-secret"}

sim = courier_shop.sms_sim  # fixture


def use_backend(monkeypatch, sim, backend: str, **overrides) -> None:
    """Point the settings at the simulator for `backend` (as `zest dev` does)."""
    sms_backend_use(monkeypatch, sim, backend, **{"http_timeout": TIMEOUT, **overrides})


def queue(to: str = NUMBER, text: str = "Your Zest Store code is 123456", **extra) -> OutboxMessage:
    with transaction.atomic():
        sms_enqueue(to=to, text=text, kind=extra.pop("kind", "otp"), **extra)
    return OutboxMessage.objects.filter(topic=SMS_TOPIC).latest("created_at")


def make_due(message: OutboxMessage) -> None:
    """As if the retry time had come."""
    OutboxMessage.objects.filter(pk=message.pk).update(
        available_at=timezone.now() - timedelta(seconds=1)
    )


def sweep() -> dict:
    reply = call(api.cron_outbox.app, "GET", "/api/cron/outbox", headers=CRON)
    assert reply.status == 200, reply.body
    return reply.json()


def inbox(sim, to: str = NUMBER) -> list[dict]:
    reply = httpx.get(f"{sim.url}/__sim/messages", params={"to": to}, timeout=5)
    assert reply.status_code == 200
    return reply.json()["messages"]


# --- sizing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 306, "GSM-7", 2),
        ("a" * 307, "GSM-7", 3),
        ("ক" * 70, "UCS-2", 1),
        ("ক" * 71, "UCS-2", 2),
        ("ক" * 134, "UCS-2", 2),
        ("ক" * 135, "UCS-2", 3),
        ("Total ৳445.00", "UCS-2", 1),
        ("a" * 69 + "৳", "UCS-2", 1),
        ("a" * 70 + "৳", "UCS-2", 2),  # one taka sign: the whole message is UCS-2
        ("{" * 80, "GSM-7", 1),  # extension characters take two septets
        ("{" * 81, "GSM-7", 2),
        ("a" * 152 + "€" + "a" * 152, "GSM-7", 3),  # 306 septets, but an escape pair is never split
        ("", "GSM-7", 1),
    ],
)
def test_segments_follow_gsm_7_and_ucs_2(text, encoding, segments):
    size = sms_segments(text)

    assert (size.encoding, size.segments) == (encoding, segments)


def test_characters_count_extension_characters_and_emoji_twice():
    assert sms_segments("a{b").characters == 4
    assert sms_segments("a€").characters == 3
    assert sms_segments("ok 👍").characters == 5  # UCS-2: a surrogate pair


def test_one_time_code_texts_fit_one_sms_in_english_and_bangla():
    from lib.access.phone_otp import otp_text
    from lib.conf import load_phone_otp_config

    settings = load_phone_otp_config()
    for language, encoding in (("en", "GSM-7"), ("bn", "UCS-2")):
        text = otp_text(code="987654", language=language, conf=settings)
        size = sms_segments(text)
        assert (size.encoding, size.segments) == (encoding, 1), text


# --- queueing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw", ["01712345678", "+880 1712-345678", "8801712345678", "০১৭১২৩৪৫৬৭৮", "+8801712345678"]
)
def test_any_bangladeshi_mobile_form_becomes_880(raw):
    assert sms_number(raw) == NUMBER


@pytest.mark.parametrize("raw", ["", "12345", "+14155552671", "029123456", "0171234567x"])
def test_numbers_that_are_not_bangladeshi_mobiles_are_refused(raw):
    with pytest.raises(ValueError):
        sms_enqueue(to=raw, text="hello", kind="otp")
    assert not OutboxMessage.objects.filter(topic=SMS_TOPIC).exists()


def test_empty_or_too_long_texts_are_refused():
    with pytest.raises(ValueError):
        sms_enqueue(to=NUMBER, text="  ", kind="otp")
    with pytest.raises(ValueError):
        sms_enqueue(to=NUMBER, text="a" * 1001, kind="otp")


def test_a_message_exists_only_if_the_change_causing_it_committed():
    with pytest.raises(RuntimeError), transaction.atomic():
        sms_enqueue(to=NUMBER, text="hello", kind="otp")
        raise RuntimeError("the change failed")

    assert not OutboxMessage.objects.filter(topic=SMS_TOPIC).exists()


def test_the_dedupe_key_queues_a_message_once(sim, monkeypatch):
    use_backend(monkeypatch, sim, "sslwireless")
    for _ in range(3):
        queue(text="Order ZS-2612-000001 shipped", kind="order_shipped", dedupe_key="o:1:shipped")

    sweep()

    assert OutboxMessage.objects.filter(topic=SMS_TOPIC).count() == 1
    assert [m["text"] for m in inbox(sim)] == ["Order ZS-2612-000001 shipped"]


# --- each gateway over HTTP ----------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_message_is_delivered_once_however_often_the_sweep_runs(sim, monkeypatch, backend):
    use_backend(monkeypatch, sim, backend)
    message = queue(to="01812345678", text="আপনার কোড ১২৩৪৫৬")

    first, second = sweep(), sweep()

    assert (first["delivered"], second["claimed"]) == (1, 0)
    received = inbox(sim, "8801812345678")
    assert [(m["provider"], m["text"], m["encoding"]) for m in received] == [
        (backend, "আপনার কোড ১২৩৪৫৬", "UCS-2")
    ]
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == (OutboxStatus.SENT, 1, "")


@pytest.mark.parametrize(
    ("backend", "code"),
    [
        ("sslwireless", "sslwireless_4025"),
        ("smsnetbd", "smsnetbd_416"),
        ("bulksmsbd", "bulksmsbd_1001"),
    ],
)
def test_a_permanent_refusal_fails_at_once_and_is_never_retried(sim, monkeypatch, backend, code):
    use_backend(monkeypatch, sim, backend)
    message = queue(to=PERMANENT_FAILURE_NUMBER)

    sweep()
    make_due(message)
    sweep()

    message.refresh_from_db()
    assert (message.status, message.attempts) == (OutboxStatus.FAILED, 1)
    assert code in message.last_error and "permanent" in message.last_error
    assert sim.state.sends == 1
    assert inbox(sim, PERMANENT_FAILURE_NUMBER) == []


@pytest.mark.parametrize(
    ("backend", "code"),
    [
        ("sslwireless", "sslwireless_4029"),
        ("smsnetbd", "smsnetbd_417"),
        ("bulksmsbd", "bulksmsbd_1007"),
    ],
)
def test_a_retryable_refusal_is_retried_on_the_next_sweep(sim, monkeypatch, backend, code):
    use_backend(monkeypatch, sim, backend)
    sim.hooks.refuse = 1
    message = queue()

    assert sweep()["delivered"] == 0
    message.refresh_from_db()
    assert (message.status, message.attempts) == (OutboxStatus.PENDING, 1)
    assert code in message.last_error and "retryable" in message.last_error
    assert message.available_at > timezone.now() + timedelta(seconds=20)
    assert sweep()["claimed"] == 0  # not due yet

    make_due(message)
    assert sweep()["delivered"] == 1

    message.refresh_from_db()
    assert (message.status, message.attempts) == (OutboxStatus.SENT, 2)
    assert len(inbox(sim)) == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_gateway_5xx_is_retried(sim, monkeypatch, backend):
    use_backend(monkeypatch, sim, backend)
    sim.hooks.server_error = 1
    message = queue()

    sweep()
    message.refresh_from_db()
    assert message.status == OutboxStatus.PENDING
    assert "sms_unavailable" in message.last_error and "HTTP 503" in message.last_error

    make_due(message)
    sweep()
    message.refresh_from_db()
    assert message.status == OutboxStatus.SENT
    assert len(inbox(sim)) == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_timeout_is_a_clear_retryable_error(sim, monkeypatch, backend):
    use_backend(monkeypatch, sim, backend)
    sim.hooks.delay = TIMEOUT * 4

    with pytest.raises(SmsError) as raised:
        sms_gateway().send(to=NUMBER, text="hello", reference="timeout1")

    assert raised.value.retryable and raised.value.code == "sms_unavailable"
    assert "timed out" in str(raised.value)


def test_ssl_wireless_retry_after_a_lost_answer_does_not_send_twice(sim, monkeypatch):
    """SSL took the message but answered too late: the retry carries the same csms_id, SSL
    calls it a duplicate, and that counts as sent."""
    use_backend(monkeypatch, sim, "sslwireless")
    sim.hooks.delay = TIMEOUT * 4
    message = queue()

    sweep()
    message.refresh_from_db()
    assert message.status == OutboxStatus.PENDING and "timed out" in message.last_error

    sim.hooks.delay = 0
    make_due(message)
    sweep()

    message.refresh_from_db()
    assert message.status == OutboxStatus.SENT
    assert len(inbox(sim)) == 1
    assert sim.state.sends == 2


@pytest.mark.parametrize(
    ("backend", "setting", "code"),
    [
        ("sslwireless", {"sslwireless_api_token": "wrong"}, "sslwireless_4001"),
        ("sslwireless", {"sslwireless_sid": "OTHER"}, "sslwireless_4002"),
        ("smsnetbd", {"smsnetbd_api_key": "wrong"}, "smsnetbd_405"),
        ("bulksmsbd", {"bulksmsbd_sender_id": "8809617999999"}, "bulksmsbd_1002"),
        ("sslwireless", {"sslwireless_api_token": ""}, "sms_not_configured"),
    ],
)
def test_bad_credentials_are_permanent_failures(sim, monkeypatch, backend, setting, code):
    use_backend(monkeypatch, sim, backend, **setting)
    message = queue()

    sweep()

    message.refresh_from_db()
    assert message.status == OutboxStatus.FAILED and code in message.last_error
    assert inbox(sim) == []


def test_an_unknown_backend_fails_clearly(monkeypatch):
    monkeypatch.setattr(conf, "sms_config", dataclasses.replace(conf.sms_config, backend="nope"))
    message = queue()

    assert outbox_dispatch() == 0

    message.refresh_from_db()
    assert message.status == OutboxStatus.FAILED
    assert "SMS_BACKEND='nope'" in message.last_error


def test_smsnetbd_report_and_balance(sim, monkeypatch):
    use_backend(monkeypatch, sim, "smsnetbd")
    smsnetbd = sms_gateway()
    before = smsnetbd.balance()

    receipt = smsnetbd.send(to=NUMBER, text="ক" * 71, reference="r1")  # two UCS-2 parts
    report = smsnetbd.report(receipt.provider_message_id)

    assert receipt.segments == 2
    assert report["request_status"] == "Complete"
    assert report["recipients"] == [{"number": NUMBER, "charge": "0.50", "status": "Sent"}]
    assert smsnetbd.balance() == before - Decimal("0.50")
    with pytest.raises(SmsError) as raised:
        smsnetbd.report("999999")
    assert raised.value.code == "smsnetbd_404" and not raised.value.retryable


# --- console backend -----------------------------------------------------------------------------


def test_the_console_backend_prints_and_delivers_nothing(sim, monkeypatch, capsys):
    monkeypatch.setattr(conf, "sms_config", dataclasses.replace(conf.sms_config, backend="console"))
    message = queue(text="Your Zest Store code is 424242")

    assert outbox_dispatch() == 1

    printed = capsys.readouterr().out
    assert "+8801712345678" in printed and "Your Zest Store code is 424242" in printed
    message.refresh_from_db()
    assert message.status == OutboxStatus.SENT
    assert sim.state.sends == 0


def test_the_console_backend_refuses_on_a_deployment_and_prints_no_code(monkeypatch, capsys):
    monkeypatch.setattr(conf, "sms_config", dataclasses.replace(conf.sms_config, backend="console"))
    monkeypatch.setattr(conf, "config", dataclasses.replace(conf.config, on_vercel=True))
    message = queue(text="Your Zest Store code is 424242")

    assert outbox_dispatch() == 0

    assert "424242" not in capsys.readouterr().out
    message.refresh_from_db()
    assert message.status == OutboxStatus.FAILED
    assert "sms_not_configured" in message.last_error


# --- the per-number cap -------------------------------------------------------------------------


def test_the_per_number_cap_stops_a_resend_storm(sim, monkeypatch):
    use_backend(monkeypatch, sim, "sslwireless", max_per_number_per_hour=3)
    storm = [queue(text=f"code {n}") for n in range(5)]
    other = queue(to="01812345678", text="someone else")

    sweep()

    statuses = [OutboxMessage.objects.get(pk=m.pk).status for m in storm]
    assert sorted(statuses) == [OutboxStatus.FAILED] * 2 + [OutboxStatus.SENT] * 3
    failed = OutboxMessage.objects.filter(pk__in=[m.pk for m in storm], status="failed")
    assert all("sms_capped" in m.last_error for m in failed)
    assert len(inbox(sim)) == 3
    assert OutboxMessage.objects.get(pk=other.pk).status == OutboxStatus.SENT


def test_a_retried_message_keeps_its_place_under_the_cap(sim, monkeypatch):
    use_backend(monkeypatch, sim, "sslwireless", max_per_number_per_hour=2)
    sim.hooks.server_error = 1
    first = queue(text="first")

    sweep()  # 503: counted once, pending
    make_due(first)
    second = queue(text="second")
    sweep()

    assert OutboxMessage.objects.get(pk=first.pk).status == OutboxStatus.SENT
    assert OutboxMessage.objects.get(pk=second.pk).status == OutboxStatus.SENT
    third = queue(text="third")
    sweep()
    assert OutboxMessage.objects.get(pk=third.pk).status == OutboxStatus.FAILED


# --- staff see what failed ---------------------------------------------------------------------


def test_staff_list_failed_sms_with_the_reason_and_never_see_codes(sim, monkeypatch, server_key):
    use_backend(monkeypatch, sim, "sslwireless")
    queue(to=PERMANENT_FAILURE_NUMBER, text="Your code is 111111", kind="otp")
    queue(to=PERMANENT_FAILURE_NUMBER, text="Order ZS-2612-000009 shipped", kind="order_shipped")
    queue(text="delivered fine", kind="order_placed")
    sweep()
    _, staff = signed_in(server_key, "staff")
    _, customer = signed_in(server_key, "customer")

    reply = call(api.sms_admin.app, "GET", "/api/v1/admin/sms?status=failed", headers=staff)
    refused = call(api.sms_admin.app, "GET", "/api/v1/admin/sms", headers=customer)

    assert reply.status == 200, reply.body
    page = reply.json()
    assert page["count"] == 2
    assert {(item["kind"], item["text"]) for item in page["items"]} == {
        ("otp", ""),
        ("order_shipped", "Order ZS-2612-000009 shipped"),
    }
    assert all("sslwireless_4025" in item["last_error"] for item in page["items"])
    assert all(item["to"] == PERMANENT_FAILURE_NUMBER for item in page["items"])
    assert refused.status == 403
    by_kind = call(
        api.sms_admin.app, "GET", "/api/v1/admin/sms?kind=order_placed&status=sent", headers=staff
    )
    assert [item["text"] for item in by_kind.json()["items"]] == ["delivered fine"]


def test_staff_send_a_failed_sms_again_once_the_gateway_is_fixed(sim, monkeypatch, server_key):
    use_backend(monkeypatch, sim, "smsnetbd", smsnetbd_api_key="expired-key")
    message = queue(text="Order ZS-2612-000010 is out for delivery", kind="order_out_for_delivery")
    sweep()
    message.refresh_from_db()
    assert message.status == OutboxStatus.FAILED
    _, staff = signed_in(server_key, "staff")
    _, customer = signed_in(server_key, "customer")
    use_backend(monkeypatch, sim, "smsnetbd")  # the key is fixed

    url = f"/api/v1/admin/sms/{message.pk}/retry"
    refused = call(api.sms_admin.app, "POST", url, headers=customer)
    retried = call(api.sms_admin.app, "POST", url, headers=staff)
    sweep()
    again = call(api.sms_admin.app, "POST", url, headers={**staff, "Accept-Language": "bn"})
    unknown = call(
        api.sms_admin.app, "POST", f"/api/v1/admin/sms/{uuid.uuid4()}/retry", headers=staff
    )

    assert refused.status == 403
    assert retried.status == 200, retried.body
    assert retried.json()["status"] == "pending"
    assert [m["text"] for m in inbox(sim)] == ["Order ZS-2612-000010 is out for delivery"]
    assert again.status == 409
    assert again.json()["error"]["code"] == "sms_already_sent"
    assert "আগেই পাঠানো" in again.json()["error"]["message"]
    assert unknown.status == 404
    message.refresh_from_db()
    assert (message.status, message.attempts) == (OutboxStatus.SENT, 2)


def test_the_simulators_pages_list_numbers_and_show_bangla_inboxes(sim, monkeypatch):
    use_backend(monkeypatch, sim, "sslwireless")
    queue(text="৪২৪২৪২ আপনার জেস্ট স্টোর কোড। কাউকে জানাবেন না।")
    sweep()

    index = httpx.get(f"{sim.url}/", timeout=5)
    page = httpx.get(f"{sim.url}/inbox/{NUMBER}", timeout=5)

    assert f'href="/inbox/{NUMBER}"' in index.text
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert '<p lang="bn">৪২৪২৪২ আপনার জেস্ট স্টোর কোড। কাউকে জানাবেন না।</p>' in page.text
    assert "UCS-2, 1 part(s)" in page.text


def test_the_staff_list_costs_the_same_queries_for_any_page(sim, monkeypatch, server_key):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    monkeypatch.setattr(conf, "sms_config", dataclasses.replace(conf.sms_config, backend="console"))
    _, staff = signed_in(server_key, "staff")
    counts = []
    for size in (2, 12):
        while OutboxMessage.objects.filter(topic=SMS_TOPIC).count() < size:
            queue(text=f"message {OutboxMessage.objects.count()}", kind="order_placed")
        with CaptureQueriesContext(connection) as queries:
            reply = call(api.sms_admin.app, "GET", "/api/v1/admin/sms?page_size=50", headers=staff)
        assert reply.status == 200 and reply.json()["count"] == size
        counts.append(len(queries))

    assert counts == [2, 2]  # the count and the page
