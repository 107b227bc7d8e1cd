"""Order SMS: placed, shipped (with the courier's tracking code), out for delivery, in the
customer's language, once each, through the outbox to the SMS simulator over HTTP."""

from __future__ import annotations

import dataclasses
import itertools
import time
from decimal import Decimal

import httpx
import pytest

import api.checkout
import api.cron_outbox
import api.orders
from db.models import Consignment, Order, OrderStatusEvent, OutboxMessage, User
from lib import conf
from lib.money import BANGLA_DIGITS
from lib.orders.notifications import order_notify
from lib.orders.state import order_transition
from lib.sms.base import sms_segments
from lib.sms.orders import text_for
from tests import courier_shop
from tests.courier_shop import (
    cod_order_processing,
    order_move,
    parcel_advance,
    redx_book,
    redx_running,
    sms_backend_use,
    sms_running,
    sms_sim,
)
from tests.payment_shop import order_place, shop_product, signed_in
from tests.support import call

__all__ = ["redx_running", "sms_running", "sms_sim"]  # the simulators' fixtures used here

redx = courier_shop.redx  # fixture

pytestmark = pytest.mark.django_db

_keys = itertools.count(1)
PHONE = "01812345678"
NUMBER = "8801812345678"
CRON = {"Authorization": "Bearer test-cron-secret"}


@pytest.fixture
def sms(sms_sim, monkeypatch):
    """The SMS simulator, with the SSL Wireless adapter pointed at it."""
    sms_backend_use(monkeypatch, sms_sim, "sslwireless", http_timeout=2.0)
    return sms_sim


@pytest.fixture
def staff(server_key):
    return signed_in(server_key, "staff", full_name="Karim Ahmed", preferred_language="en")[1]


def place_cod(headers: dict[str, str]) -> Order:
    """A COD order placed at checkout, to `PHONE`."""
    return order_place(shop_product("445.00"), headers, "cod", status="placed")


def order_made(status: str, *, method: str = "cod", total: str = "500.00", **fields) -> Order:
    """An order written straight to the database in `status`, numbered apart from checkout's."""
    return Order.objects.create(
        number=f"ZS-S-{next(_keys):06d}",
        status=status,
        payment_method=method,
        total_amount=Decimal(total),
        **fields,
    )


def sweep() -> None:
    reply = call(api.cron_outbox.app, "GET", "/api/cron/outbox", headers=CRON)
    assert reply.status == 200, reply.body


def sweep_until_delivered(order: Order, *, attempts: int = 100) -> None:
    """Sweep until none of the order's SMS is still pending. A webhook function delivers its
    own messages right after answering, on the server's thread: while it holds one (leased),
    a sweep passes it by, so the test waits for that delivery to finish."""
    for _ in range(attempts):
        sweep()
        if all(message.status != "pending" for message in order_sms(order)):
            return
        time.sleep(0.05)
    raise AssertionError(f"SMS of {order.number} still pending: {order_sms(order)}")


def inbox(sms, to: str = NUMBER) -> list[dict]:
    reply = httpx.get(f"{sms.url}/__sim/messages", params={"to": to}, timeout=5)
    return reply.json()["messages"]


def order_sms(order: Order) -> list[OutboxMessage]:
    return list(
        OutboxMessage.objects.filter(
            topic="sms.send", dedupe_key__startswith=f"order:{order.pk}:"
        ).order_by("created_at")
    )


def test_a_cod_order_sends_three_sms_in_bangla_to_a_bangla_customer(sms, server_key, staff):
    _, customer = signed_in(
        server_key, "customer", full_name="Karim Ahmed", preferred_language="bn"
    )
    order = place_cod(customer)

    order_move(order, staff, "processing", "shipped", "out_for_delivery", "delivered")
    sweep()
    sweep()

    texts = [message["text"] for message in inbox(sms)]
    number = order.number.translate(BANGLA_DIGITS)
    total = f"৳{order.total_amount:,.2f}".translate(BANGLA_DIGITS)
    assert len(texts) == 3, texts
    placed, shipped, out = texts
    assert number in placed and total in placed and "ডেলিভারিতে দেবেন" in placed
    assert number in shipped and "পাঠানো হয়েছে" in shipped
    assert number in out and "আজ আসছে" in out and total in out
    assert all(sms_segments(text).encoding == "UCS-2" for text in texts)
    assert all(sms_segments(text).segments == 1 for text in texts)
    assert [m.payload["kind"] for m in order_sms(order)] == [
        "order_placed",
        "order_shipped",
        "order_out_for_delivery",
    ]
    assert all(m.status == "sent" for m in order_sms(order))


def test_a_guest_gets_english_sms_that_fit_one_part_each(sms, server_key, staff):
    order = place_cod(server_key)

    order_move(order, staff, "processing", "shipped", "out_for_delivery")
    sweep()

    texts = [message["text"] for message in inbox(sms)]
    total = f"Tk {order.total_amount:,.2f}"
    assert texts == [
        f"Zest Store: order {order.number} is placed. Total {total}, cash on delivery."
        " We will SMS you when it ships.",
        f"Zest Store: order {order.number} has shipped. We will SMS you when it is out for"
        " delivery.",
        f"Zest Store: order {order.number} is out for delivery today. Please keep {total} ready.",
    ]
    assert all(sms_segments(text).encoding == "GSM-7" for text in texts)
    assert all(sms_segments(text).segments == 1 for text in texts)


def test_a_repeated_hook_or_a_refused_transition_sends_nothing_more(sms, server_key, staff):
    order = place_cod(server_key)
    order_move(order, staff, "processing", "shipped")
    shipped = OrderStatusEvent.objects.get(order=order, to_status="shipped")

    order_notify(order, shipped)  # the hook run again
    refused = call(
        api.orders.app,
        "POST",
        f"/api/v1/admin/orders/{order.number}/transition",
        json_body={"to_status": "shipped"},
        headers=staff,
    )
    sweep()
    sweep()

    assert refused.status == 409
    assert len(order_sms(order)) == 2
    assert len(inbox(sms)) == 2


def test_statuses_without_news_send_no_sms(sms, server_key, staff):
    order = place_cod(server_key)

    order_move(order, staff, "processing", "cancelled")
    sweep()

    assert [m.payload["kind"] for m in order_sms(order)] == ["order_placed"]


def test_sms_order_notifications_off_sends_no_order_sms_but_still_emails(
    sms, server_key, staff, monkeypatch, mailoutbox
):
    monkeypatch.setattr(
        conf, "sms_config", dataclasses.replace(conf.sms_config, order_notifications=False)
    )
    order = place_cod(server_key)

    order_move(order, staff, "processing", "shipped", "out_for_delivery")
    sweep()

    assert order_sms(order) == []
    assert inbox(sms) == []
    assert len(mailoutbox) == 4  # placed, then one per transition


def test_a_wallet_order_is_confirmed_by_sms_when_paid_and_once_after_a_review(sms):
    order = order_made("on_hold", method="bkash", total="1250.00", guest_phone="+8801912345678")

    order_transition(order=order, to_status="awaiting_payment")
    order_transition(order=order, to_status="paid")
    order_transition(order=order, to_status="processing")
    order_transition(order=order, to_status="shipped")
    order_transition(order=order, to_status="out_for_delivery")
    sweep()

    texts = [message["text"] for message in inbox(sms, "8801912345678")]
    assert texts == [
        f"Zest Store: we received Tk 1,250.00 for order {order.number}. We will SMS you when"
        " it ships.",
        f"Zest Store: order {order.number} has shipped. We will SMS you when it is out for"
        " delivery.",
        f"Zest Store: order {order.number} is out for delivery today.",
    ]


def test_one_placed_sms_however_the_order_reaches_placed(sms):
    order = order_made("on_hold", guest_phone="+8801912345678")
    order_transition(order=order, to_status="placed")
    order_transition(order=order, to_status="on_hold")
    order_transition(order=order, to_status="placed")
    sweep()

    assert len(inbox(sms, "8801912345678")) == 1


def test_an_order_without_a_mobile_number_sends_no_sms(sms):
    order = order_made(
        "on_hold",
        guest_email="guest@shop.test",
        shipping_snapshot={"phone": "029123456"},  # a Dhaka landline
    )

    order_transition(order=order, to_status="placed")

    assert order_sms(order) == []


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "en",
            "Zest Store: order {number} is on its way with RedX, tracking code {code}."
            " Track: https://redx.com.bd/track-parcel/?trackingId={code}",
        ),
        (
            "bn",
            "জেস্ট স্টোর: অর্ডার {number} রেডএক্স-এ পাঠানো হয়েছে। ট্র্যাকিং কোড {code}"
            " https://redx.com.bd/track-parcel/?trackingId={code}",
        ),
    ],
)
def test_the_shipped_sms_names_the_courier_and_its_tracking_code(redx, language, expected):
    user = User.objects.create_user(
        email=f"t-{next(_keys)}@shop.test", password=None, preferred_language=language
    )
    order = order_made("processing", user=user)
    Consignment.objects.create(
        order=order,
        courier="redx",
        consignment_id="24A1B2C3",
        tracking_code="24A1B2C3",
        state="booked",
    )

    text = text_for(order, "order_shipped", language)

    number = order.number.translate(BANGLA_DIGITS) if language == "bn" else order.number
    assert text == expected.format(number=number, code="24A1B2C3")
    assert sms_segments(text).segments == (1 if language == "en" else 2)


def test_the_tracking_link_is_left_out_when_it_would_cost_another_part(redx):
    order = order_made("processing")
    code = "X" * 60  # a long code: with the link the English text needs two parts
    Consignment.objects.create(
        order=order, courier="redx", consignment_id=code, tracking_code=code, state="booked"
    )

    text = text_for(order, "order_shipped", "en")

    assert (
        text == f"Zest Store: order {order.number} is on its way with RedX, tracking code {code}."
    )
    assert sms_segments(text).segments == 1


@pytest.mark.django_db(transaction=True)
def test_a_parcel_moved_by_the_courier_sends_the_tracking_code_once(sms, redx, server_key):
    """RedX's webhooks (to our real webhook function over HTTP) ship the order and take it
    out for delivery: two SMS, the first with RedX's tracking code; a replayed webhook sends
    nothing more."""
    staff = signed_in(server_key, "staff", full_name="Karim Ahmed", preferred_language="en")[1]
    order = cod_order_processing(server_key, staff)
    code = redx_book(order, staff).tracking_code

    parcel_advance(redx, code, "ready-for-delivery")
    shipped = parcel_advance(redx, code, "ready-for-delivery")  # the same news again
    parcel_advance(redx, code, "delivery-in-progress")
    sweep()
    sweep_until_delivered(order)

    texts = [message["text"] for message in inbox(sms)]
    assert shipped["reply_status"] == 200
    assert texts[1:] == [
        f"Zest Store: order {order.number} is on its way with RedX, tracking code {code}."
        f" Track: https://redx.com.bd/track-parcel/?trackingId={code}",
        f"Zest Store: order {order.number} is out for delivery today. Please keep"
        f" Tk {order.total_amount:,.2f} ready.",
    ]
    assert "is placed" in texts[0]


@pytest.mark.parametrize("method", ["cod", "bkash"])
@pytest.mark.parametrize("kind", ["order_placed", "order_shipped", "order_out_for_delivery"])
def test_order_sms_fit_one_part_in_both_languages_up_to_99999_taka(method, kind):
    order = Order(number="ZS-2612-999999", payment_method=method, total_amount=Decimal("99999.99"))

    for language in ("en", "bn"):
        assert sms_segments(text_for(order, kind, language)).segments == 1
