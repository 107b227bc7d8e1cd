"""The notification endpoints: feed, unread count, read marks, preferences, push subscriptions,
failed deliveries for staff."""

from __future__ import annotations

import base64
import itertools
import os
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.db import transaction

import api.notifications
from db.models import (
    DeliveryStatus,
    Notification,
    NotificationDelivery,
    NotificationPreference,
    PushSubscription,
    User,
)
from lib.access.sessions import session_start
from lib.notifications.deliveries import delivery_failed
from lib.notifications.push import PushError, vapid_public_key
from lib.notifications.services import notify
from tests.support import call

pytestmark = pytest.mark.django_db

_people = itertools.count(1)


@pytest.fixture
def person(server_key):
    def person(role: str = "customer"):
        user = User.objects.create_user(
            email=f"reader-{next(_people)}@shop.test", password=None, role=role
        )
        tokens = session_start(user=user, ip="127.0.0.1", user_agent="test")
        return user, {**server_key, "Authorization": f"Bearer {tokens.access_token}"}

    return person


def send(method: str, url: str, **kwargs):
    return call(api.notifications.app, method, url, **kwargs)


def news(user: User, n: int) -> None:
    with transaction.atomic():
        for i in range(n):
            notify(
                user_id=user.pk,
                kind="rewards.earned",
                title=(f"Points {i}", f"পয়েন্ট {i}"),
                body=("", ""),
                dedupe_key=f"test:{user.pk}:{i}",
            )


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def browser_keys() -> dict[str, str]:
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return {"p256dh": b64url(point), "auth": b64url(os.urandom(16))}


# --- feed --------------------------------------------------------------------------------


def test_the_feed_pages_by_cursor_newest_first(person, django_assert_num_queries):
    user, headers = person()
    other, _ = person()
    news(user, 5)
    news(other, 2)

    with django_assert_num_queries(2):  # count, page
        first = send("GET", "/api/v1/me/notifications?page_size=2", headers=headers)
    assert first.status == 200, first.body
    body = first.json()
    assert body["count"] == 5 and [n["title_en"] for n in body["items"]] == ["Points 4", "Points 3"]
    cursor = body["next_cursor"]
    second = send(
        "GET", f"/api/v1/me/notifications?page_size=2&cursor={quote(cursor)}", headers=headers
    ).json()
    assert [n["title_en"] for n in second["items"]] == ["Points 2", "Points 1"]
    assert second["page"] is None


def test_unread_count_read_one_read_all(person, django_assert_num_queries):
    user, headers = person()
    news(user, 3)
    newest = Notification.objects.filter(user=user).first()

    with django_assert_num_queries(1):
        count = send("GET", "/api/v1/me/notifications/unread-count", headers=headers)
    assert count.json() == {"unread": 3}
    assert count.headers["cache-control"] == "private, max-age=15"

    assert send("POST", f"/api/v1/me/notifications/{newest.pk}/read", headers=headers).status == 204
    assert send("POST", f"/api/v1/me/notifications/{newest.pk}/read", headers=headers).status == 204
    unread = send("GET", "/api/v1/me/notifications?unread_only=true", headers=headers).json()
    assert unread["count"] == 2 and newest.title_en not in [n["title_en"] for n in unread["items"]]

    assert send("POST", "/api/v1/me/notifications/read-all", headers=headers).json() == {
        "marked": 2
    }
    assert send("GET", "/api/v1/me/notifications/unread-count", headers=headers).json() == {
        "unread": 0
    }


def test_someone_elses_notification_cannot_be_marked(person):
    owner, _ = person()
    _, intruder = person()
    news(owner, 1)
    theirs = Notification.objects.get(user=owner)

    response = send("POST", f"/api/v1/me/notifications/{theirs.pk}/read", headers=intruder)

    assert response.status == 404 and response.json()["error"]["code"] == "not_found"
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_the_feed_needs_a_signed_in_user(server_key):
    response = send("GET", "/api/v1/me/notifications", headers=server_key)
    assert response.status == 401


def test_a_bad_cursor_is_a_422(person):
    _, headers = person()
    response = send("GET", "/api/v1/me/notifications?cursor=nonsense", headers=headers)
    assert response.status == 422


# --- preferences -------------------------------------------------------------------------


def test_preferences_default_then_change(person):
    user, headers = person()

    defaults = {
        (p["channel"], p["category"]): p
        for p in send("GET", "/api/v1/me/notifications/preferences", headers=headers).json()[
            "items"
        ]
    }
    assert defaults[("email", "order")]["enabled"] is True
    assert defaults[("sms", "chat")]["enabled"] is False
    assert defaults[("email", "marketing")]["enabled"] is False
    assert defaults[("email", "account")]["locked"] is True

    changed = send(
        "PUT",
        "/api/v1/me/notifications/preferences",
        json_body={"items": [{"channel": "sms", "category": "order", "enabled": False}]},
        headers=headers,
    )
    assert changed.status == 200, changed.body
    state = {(p["channel"], p["category"]): p["enabled"] for p in changed.json()["items"]}
    assert state[("sms", "order")] is False and state[("email", "order")] is True
    assert NotificationPreference.objects.filter(user=user).count() == 1


def test_turning_off_account_email_is_refused_in_the_callers_language(person):
    user, headers = person()

    response = send(
        "PUT",
        "/api/v1/me/notifications/preferences",
        json_body={
            "items": [
                {"channel": "push", "category": "order", "enabled": False},
                {"channel": "email", "category": "account", "enabled": False},
            ]
        },
        headers={**headers, "Accept-Language": "bn"},
    )

    assert response.status == 409
    assert response.json()["error"]["code"] == "notification_preference_locked"
    assert "ইমেইল" in response.json()["error"]["message"]
    assert not NotificationPreference.objects.filter(user=user).exists()


@pytest.mark.parametrize(
    "item",
    [
        {"channel": "pigeon", "category": "order", "enabled": False},
        {"channel": "email", "category": "weather", "enabled": False},
        {"channel": "email", "category": "order", "enabled": False, "extra": 1},
    ],
)
def test_unknown_preferences_are_a_422(person, item):
    _, headers = person()
    response = send(
        "PUT", "/api/v1/me/notifications/preferences", json_body={"items": [item]}, headers=headers
    )
    assert response.status == 422


# --- push subscriptions ------------------------------------------------------------------


def test_subscribe_is_idempotent_on_the_endpoint_and_unsubscribe_removes_it(person):
    user, headers = person()
    body = {"endpoint": "https://push.example.test/push/abc", "keys": browser_keys()}

    key = send("GET", "/api/v1/me/push/vapid-key", headers=headers).json()["public_key"]
    assert key == vapid_public_key() and len(base64.urlsafe_b64decode(key + "=")) == 65
    first = send("POST", "/api/v1/me/push/subscriptions", json_body=body, headers=headers)
    again = send("POST", "/api/v1/me/push/subscriptions", json_body=body, headers=headers)

    assert (first.status, again.status) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert PushSubscription.objects.filter(user=user).count() == 1
    url = f"/api/v1/me/push/subscriptions?endpoint={quote(body['endpoint'], safe='')}"
    assert send("DELETE", url, headers=headers).status == 204
    assert send("DELETE", url, headers=headers).status == 404
    assert not PushSubscription.objects.exists()


@pytest.mark.parametrize(
    "keys",
    [
        {"p256dh": "A" * 87, "auth": b64url(os.urandom(16))},  # not a curve point
        {**browser_keys(), "auth": b64url(os.urandom(12))},  # short auth secret
    ],
)
def test_bad_push_keys_are_a_422(person, keys):
    _, headers = person()
    response = send(
        "POST",
        "/api/v1/me/push/subscriptions",
        json_body={"endpoint": "https://push.example.test/push/x", "keys": keys},
        headers=headers,
    )
    assert response.status == 422
    assert response.json()["error"]["code"] == "push_subscription_invalid"
    assert not PushSubscription.objects.exists()


# --- staff -------------------------------------------------------------------------------


def test_staff_see_failed_deliveries_and_customers_do_not(person, django_assert_num_queries):
    customer, customer_headers = person()
    _, staff_headers = person("staff")
    news(customer, 2)
    failing = NotificationDelivery.objects.filter(user=customer).first()
    delivery_failed(str(failing.pk), PushError("refused", retryable=False))

    with django_assert_num_queries(2):
        response = send(
            "GET", "/api/v1/admin/notifications/deliveries/failed", headers=staff_headers
        )
    assert response.status == 200
    (item,) = response.json()["items"]
    assert item["id"] == str(failing.pk) and item["status"] == DeliveryStatus.FAILED
    assert "refused" in item["last_error"]
    assert (
        send(
            "GET", "/api/v1/admin/notifications/deliveries/failed", headers=customer_headers
        ).status
        == 403
    )
