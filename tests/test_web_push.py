"""Web push against the local push service: VAPID-signed, aes128gcm-encrypted, RFC 8030 answers."""

from __future__ import annotations

import base64
import json
import os
import uuid
from datetime import timedelta

import http_ece
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.db import transaction
from django.utils import timezone

from db.models import (
    DeliveryStatus,
    NotificationDelivery,
    OutboxMessage,
    OutboxStatus,
    PushSubscription,
    User,
)
from devtools.push_sim import start_push_simulator, vapid_check
from lib.notifications.push import push_subscription_save, vapid_authorization, vapid_public_key
from lib.notifications.services import notify
from lib.outbox import outbox_dispatch

pytestmark = pytest.mark.django_db(transaction=True)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def push_service():
    running = start_push_simulator()
    yield running
    running.stop()


class Browser:
    """A subscriber: its own P-256 key and auth secret, as `pushManager.subscribe()` makes."""

    def __init__(self, endpoint: str) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        self.endpoint = endpoint

    @property
    def p256dh(self) -> str:
        return b64url(
            self.key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )

    def read(self, message: dict) -> dict:
        body = base64.urlsafe_b64decode(message["body"] + "=" * (-len(message["body"]) % 4))
        plain = http_ece.decrypt(
            body, private_key=self.key, auth_secret=self.auth, version="aes128gcm"
        )
        return json.loads(plain)


def subscribed(push_service, language: str = "en") -> tuple[User, Browser, PushSubscription]:
    user = User.objects.create_user(
        f"{uuid.uuid4().hex[:10]}@example.com", None, preferred_language=language
    )
    browser = Browser(push_service.subscribe())
    subscription, created = push_subscription_save(
        user_id=user.pk, endpoint=browser.endpoint, p256dh=browser.p256dh, auth=b64url(browser.auth)
    )
    assert created
    return user, browser, subscription


def tell(user: User, key: str = "chat:reply:1") -> None:
    with transaction.atomic():
        notify(
            user_id=user.pk,
            kind="chat.reply",
            title=("New reply", "নতুন উত্তর"),
            body=("Support answered you", "সাপোর্ট উত্তর দিয়েছে"),
            dedupe_key=key,
            url="/account/chat",
        )


def due_now() -> None:
    OutboxMessage.objects.filter(status=OutboxStatus.PENDING).update(
        available_at=timezone.now() - timedelta(seconds=1)
    )


def test_the_push_reaches_the_browser_encrypted_for_it_alone(push_service):
    user, browser, subscription = subscribed(push_service, "bn")

    tell(user)
    outbox_dispatch()

    (message,) = push_service.received(browser.endpoint)
    assert browser.read(message) == {
        "id": str(user.notifications.get().pk),
        "kind": "chat.reply",
        "title": "নতুন উত্তর",
        "body": "সাপোর্ট উত্তর দিয়েছে",
        "url": "/account/chat",
    }
    assert message["urgency"] == "high" and message["ttl"] == 86400
    stranger = Browser(browser.endpoint)
    with pytest.raises(Exception):  # noqa: B017 - any decryption failure
        stranger.read(message)
    delivery = NotificationDelivery.objects.get(channel="push", user=user)
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.provider_message_id.startswith(f"{push_service.url}/message/")
    subscription.refresh_from_db()
    assert subscription.last_success_at is not None and subscription.failures == 0


def test_a_gone_subscription_is_deleted_and_not_retried(push_service):
    user, browser, subscription = subscribed(push_service)
    push_service.expire(browser.endpoint)

    tell(user)
    outbox_dispatch()
    due_now()
    outbox_dispatch()

    assert not PushSubscription.objects.filter(pk=subscription.pk).exists()
    delivery = NotificationDelivery.objects.get(channel="push", user=user)
    assert delivery.status == DeliveryStatus.FAILED and "410" in delivery.last_error
    message = OutboxMessage.objects.get(dedupe_key=delivery.dedupe_key)
    assert message.status == OutboxStatus.FAILED and message.attempts == 1


@pytest.mark.parametrize("status", [429, 503])
def test_a_busy_push_service_is_retried_with_backoff(push_service, status):
    user, browser, subscription = subscribed(push_service)
    push_service.fail_next(status)

    tell(user)
    assert outbox_dispatch() == 1  # the email; the push waits
    delivery = NotificationDelivery.objects.get(channel="push", user=user)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert str(status) in delivery.last_error
    assert outbox_dispatch() == 0  # not due before its backoff
    due_now()
    assert outbox_dispatch() == 1

    assert len(push_service.received(browser.endpoint)) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SENT, 2)
    subscription.refresh_from_db()
    assert subscription.failures == 0


def test_a_push_turned_off_sends_nothing(push_service):
    from lib.notifications.preferences import preferences_update

    user, browser, _ = subscribed(push_service)
    preferences_update(user_id=user.pk, changes={("push", "chat"): False})

    tell(user)
    outbox_dispatch()

    assert push_service.received(browser.endpoint) == []
    delivery = NotificationDelivery.objects.get(channel="push", user=user)
    assert delivery.status == DeliveryStatus.SKIPPED_BY_PREFERENCE


def test_resubscribing_an_endpoint_updates_it_instead_of_adding_one(push_service):
    _, browser, subscription = subscribed(push_service)
    other = User.objects.create_user(f"{uuid.uuid4().hex[:10]}@example.com", None)
    fresh = Browser(browser.endpoint)

    again, created = push_subscription_save(
        user_id=other.pk, endpoint=browser.endpoint, p256dh=fresh.p256dh, auth=b64url(fresh.auth)
    )

    assert not created and again.pk == subscription.pk
    assert PushSubscription.objects.filter(endpoint=browser.endpoint).count() == 1
    assert again.user_id == other.pk and again.p256dh == fresh.p256dh


def test_the_vapid_header_is_what_the_push_service_checks(push_service):
    endpoint = push_service.subscribe()
    origin = push_service.url
    now = timezone.now().timestamp()

    assert vapid_check(vapid_authorization(endpoint), origin=origin, now=now) == ""
    assert vapid_authorization(endpoint).endswith(f",k={vapid_public_key()}")
    assert "aud" in vapid_check(
        vapid_authorization("https://elsewhere.example/push/1"), origin=origin, now=now
    )
    forged = vapid_authorization(endpoint).rsplit(",k=", 1)[0] + ",k=" + Browser(endpoint).p256dh
    assert vapid_check(forged, origin=origin, now=now) == "bad signature"
    assert "exp" in vapid_check(vapid_authorization(endpoint), origin=origin, now=now + 13 * 3600)
