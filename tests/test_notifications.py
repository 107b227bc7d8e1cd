"""notify(): the feed entry, the email and push per preference, once per dedupe key."""

from __future__ import annotations

import uuid

import pytest
from django.core import mail
from django.db import transaction

from db.models import (
    DeliveryStatus,
    Notification,
    NotificationDelivery,
    OutboxMessage,
    User,
)
from lib.notifications.preferences import PreferenceLocked, preferences_for, preferences_update
from lib.notifications.services import notify
from lib.outbox import outbox_dispatch

pytestmark = pytest.mark.django_db(transaction=True)


def a_user(language: str = "en", **fields) -> User:
    return User.objects.create_user(
        f"{uuid.uuid4().hex[:10]}@example.com", None, preferred_language=language, **fields
    )


def tell(user: User, *, key: str = "rewards:1", kind: str = "rewards.earned") -> None:
    with transaction.atomic():
        notify(
            user_id=user.pk,
            kind=kind,
            title=("You earned 50 points", "আপনি ৫০ পয়েন্ট পেয়েছেন"),
            body=("For order <b>ZS-1</b> & more", "অর্ডার <b>ZS-1</b>-এর জন্য"),
            dedupe_key=key,
            url="/account/rewards",
            data={"points": 50},
        )


def test_notify_writes_the_feed_entry_and_emails_in_the_users_language():
    mail.outbox.clear()
    user = a_user("bn")

    tell(user)
    outbox_dispatch()

    entry = Notification.objects.get(user=user)
    assert (entry.kind, entry.category, entry.in_feed, entry.read_at) == (
        "rewards.earned",
        "rewards",
        True,
        None,
    )
    (message,) = mail.outbox
    assert message.to == [user.email]
    assert message.subject == "আপনি ৫০ পয়েন্ট পেয়েছেন"
    assert "অর্ডার <b>ZS-1</b>-এর জন্য" in message.body  # plain text is not escaped
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert "&lt;b&gt;ZS-1&lt;/b&gt;" in html and "<b>ZS-1</b>" not in html
    delivery = NotificationDelivery.objects.get(notification=entry, channel="email")
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 1
    assert delivery.provider_message_id == message.extra_headers["Message-ID"]


def test_notify_twice_with_one_key_writes_and_sends_once():
    mail.outbox.clear()
    user = a_user()

    tell(user)
    tell(user)
    outbox_dispatch()
    outbox_dispatch()

    assert Notification.objects.filter(user=user).count() == 1
    assert NotificationDelivery.objects.filter(user=user).count() == 1
    assert len(mail.outbox) == 1


def test_a_channel_turned_off_is_recorded_as_skipped_and_sends_nothing():
    mail.outbox.clear()
    user = a_user()
    preferences_update(user_id=user.pk, changes={("email", "rewards"): False})

    tell(user)
    outbox_dispatch()

    assert mail.outbox == []
    delivery = NotificationDelivery.objects.get(user=user)
    assert delivery.status == DeliveryStatus.SKIPPED_BY_PREFERENCE
    assert not OutboxMessage.objects.filter(dedupe_key=delivery.dedupe_key).exists()


def test_in_app_turned_off_keeps_the_record_out_of_the_feed():
    user = a_user()
    preferences_update(user_id=user.pk, changes={("in_app", "rewards"): False})

    tell(user)

    assert Notification.objects.get(user=user).in_feed is False


def test_account_email_cannot_be_turned_off():
    user = a_user()

    with pytest.raises(PreferenceLocked):
        preferences_update(
            user_id=user.pk, changes={("push", "order"): False, ("email", "account"): False}
        )

    assert preferences_for(user.pk)[("email", "account")] is True
    assert preferences_for(user.pk)[("push", "order")] is True  # nothing stored


def test_unknown_category_is_refused():
    user = a_user()

    with pytest.raises(ValueError, match="unknown notification category"):
        tell(user, kind="weather.rain")


def test_an_account_without_email_gets_the_feed_entry_only():
    mail.outbox.clear()
    user = User.objects.create(email=None, phone="+8801712345699")  # a phone sign-up

    tell(user)
    outbox_dispatch()

    assert Notification.objects.filter(user=user).count() == 1
    assert not NotificationDelivery.objects.filter(user=user).exists()
    assert mail.outbox == []


def test_an_unreachable_mail_server_is_retried_then_given_up_and_shown_as_failed(settings):
    from datetime import timedelta

    from django.utils import timezone

    from db.models import OutboxStatus
    from lib.outbox import MAX_ATTEMPTS

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", 1, False
    user = a_user()
    tell(user)

    assert outbox_dispatch() == 0
    delivery = NotificationDelivery.objects.get(user=user)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert "Connection" in delivery.last_error or "refused" in delivery.last_error.lower()

    message = OutboxMessage.objects.get(dedupe_key=delivery.dedupe_key)
    OutboxMessage.objects.filter(pk=message.pk).update(
        attempts=MAX_ATTEMPTS - 1, available_at=timezone.now() - timedelta(seconds=1)
    )
    NotificationDelivery.objects.filter(pk=delivery.pk).update(attempts=MAX_ATTEMPTS - 1)
    assert outbox_dispatch() == 0

    delivery.refresh_from_db()
    message.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and message.status == OutboxStatus.FAILED
