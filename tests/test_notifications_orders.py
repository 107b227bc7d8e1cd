"""Order news end to end: feed entries, templated emails once per event however often the
sweep runs, the guest's placement language, SMS preferences, a dispatcher dying mid-way."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from db.models import (
    DeliveryStatus,
    Notification,
    NotificationDelivery,
    Order,
    OrderItem,
    OrderStatusEvent,
    OutboxMessage,
    OutboxStatus,
    Product,
    User,
)
from lib.notifications.preferences import preferences_update
from lib.orders.notifications import order_notify, order_placed_notify
from lib.orders.state import order_transition
from lib.outbox import CLAIM_LEASE, outbox_claim, outbox_dispatch, outbox_sweep
from tests import factories

pytestmark = pytest.mark.django_db

_numbers = itertools.count(1)
PHONE = "+8801712345678"
LIFECYCLE = ("processing", "shipped", "out_for_delivery", "delivered")


def an_order(user: User | None = None, **fields) -> Order:
    order = Order.objects.create(
        number=f"ZS-N-{next(_numbers):06d}",
        user=user,
        status=fields.pop("status", "placed"),
        payment_method=fields.pop("payment_method", "cod"),
        subtotal=Decimal("123400.00"),
        shipping_total=Decimal("60.00"),
        total_amount=Decimal("123460.00"),
        **fields,
    )
    product = factories.product(
        category=factories.category(), name_en="Tea <b>cup</b>", name_bn="চায়ের কাপ"
    )
    Product.objects.filter(pk=product.pk).update(allocated=2)  # as placement leaves it
    OrderItem.objects.create(
        order=order,
        product=product,
        product_name=product.name_en,
        product_name_bn=product.name_bn,
        sku=product.sku,
        quantity=2,
        unit_price=Decimal("61700.00"),
        total_price=Decimal("123400.00"),
    )
    return order


def customer(language: str = "en") -> User:
    return User.objects.create_user(
        email=f"buyer-{next(_numbers)}@shop.test", password=None, preferred_language=language
    )


def placed(order: Order, language: str = "en") -> None:
    with transaction.atomic():
        order_placed_notify(order, language=language)


def test_a_lifecycle_emails_each_step_once_however_often_the_sweep_runs():
    mail.outbox.clear()
    user = customer("bn")
    order = an_order(user)
    placed(order)
    for status in LIFECYCLE:
        order_transition(order=order, to_status=status)
    last = OrderStatusEvent.objects.filter(order=order).last()
    order_notify(order, last)  # a re-run hook

    outbox_sweep()
    outbox_sweep()

    subjects = [m.subject for m in mail.outbox if m.subject.startswith("অর্ডার")]  # not rewards
    assert len(subjects) == 5 and len(set(subjects)) == 5
    assert (
        subjects[0]
        == f"অর্ডার {order.number.translate(str.maketrans('0123456789', '০১২৩৪৫৬৭৮৯'))} গ্রহণ করা হয়েছে"
    )
    assert "৳১,২৩,৪৬০.০০" in mail.outbox[0].body  # lakh grouping, Bangla digits
    feed = list(
        Notification.objects.filter(user=user, category="order").values_list("kind", flat=True)
    )
    assert sorted(feed) == sorted(["order.placed", *(f"order.{s}" for s in LIFECYCLE)])
    sent = NotificationDelivery.objects.filter(
        user=user, status=DeliveryStatus.SENT, kind__startswith="order."
    )
    assert sent.count() == 5


def test_payment_and_refund_have_their_own_emails():
    mail.outbox.clear()
    user = customer()
    order = an_order(user, status="awaiting_payment", payment_method="bkash")

    order_transition(order=order, to_status="paid")
    order_transition(order=order, to_status="refunded", note="Out of stock")
    outbox_dispatch()

    paid, refund = mail.outbox
    assert paid.subject == f"Order {order.number}: payment of ৳1,23,460.00 received"
    assert refund.subject == f"Order {order.number}: ৳1,23,460.00 refunded"
    assert "Out of stock" in refund.body


def test_a_guest_hears_in_the_language_of_the_checkout():
    mail.outbox.clear()
    order = an_order(guest_email="guest@shop.test", guest_phone=PHONE)

    placed(order, "bn")
    order_transition(order=order, to_status="processing")
    outbox_dispatch()

    assert [m.to for m in mail.outbox] == [["guest@shop.test"], ["guest@shop.test"]]
    assert all(m.subject.startswith("অর্ডার") for m in mail.outbox)
    assert not Notification.objects.exists()  # no account, no feed


def test_order_email_turned_off_is_skipped_but_the_feed_keeps_it():
    mail.outbox.clear()
    user = customer()
    preferences_update(user_id=user.pk, changes={("email", "order"): False})
    order = an_order(user)

    order_transition(order=order, to_status="processing")
    outbox_dispatch()

    assert mail.outbox == []
    assert Notification.objects.get(user=user).kind == "order.processing"
    delivery = NotificationDelivery.objects.get(user=user)
    assert delivery.status == DeliveryStatus.SKIPPED_BY_PREFERENCE


def test_order_sms_follows_the_customers_preference():
    quiet, loud = customer(), customer()
    preferences_update(user_id=quiet.pk, changes={("sms", "order"): False})
    quiet_order = an_order(quiet, status="processing", guest_phone=PHONE)
    loud_order = an_order(loud, status="processing", guest_phone=PHONE)

    order_transition(order=quiet_order, to_status="shipped")
    order_transition(order=loud_order, to_status="shipped")

    sms = OutboxMessage.objects.filter(topic="sms.send")
    assert list(sms.values_list("dedupe_key", flat=True)) == [
        f"order:{loud_order.pk}:sms:order_shipped"
    ]


def test_a_dispatcher_dying_after_its_claim_is_retried_after_the_lease():
    mail.outbox.clear()
    user = customer()
    order = an_order(user)
    order_transition(order=order, to_status="processing")

    (claimed,) = outbox_claim(limit=10)  # the instance dies here, before sending
    assert outbox_dispatch() == 0  # leased: nobody else takes it
    leased_until = OutboxMessage.objects.get(pk=claimed.pk).available_at
    assert timezone.now() < leased_until <= timezone.now() + CLAIM_LEASE
    OutboxMessage.objects.filter(pk=claimed.pk).update(
        available_at=timezone.now() - timedelta(seconds=1)
    )  # CLAIM_LEASE has passed
    assert outbox_dispatch() == 1

    assert len(mail.outbox) == 1
    claimed.refresh_from_db()
    assert claimed.status == OutboxStatus.SENT and claimed.attempts == 2
    delivery = NotificationDelivery.objects.get(user=user)
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 1


def test_a_sent_delivery_is_not_sent_again_when_its_outbox_row_was_not_marked():
    mail.outbox.clear()
    user = customer()
    order_transition(order=an_order(user), to_status="processing")
    outbox_dispatch()
    message = OutboxMessage.objects.get(topic="email.send")
    # the instance sent the email, then died before recording the outbox row as sent
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=OutboxStatus.PENDING, sent_at=None, available_at=timezone.now()
    )

    assert outbox_dispatch() == 1

    assert len(mail.outbox) == 1
