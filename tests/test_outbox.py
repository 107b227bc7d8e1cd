"""The outbox: written with the change, delivered once, retried with backoff, swept by cron."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

import api.cron_outbox
from db.models import OutboxMessage, OutboxStatus, User
from lib.access.activity import ACTIVITY_COLLECTION, activity_record, activity_store
from lib.documents import get_documents_db
from lib.email import email_enqueue
from lib.outbox import (
    MAX_ATTEMPTS,
    backoff,
    outbox_dispatch,
    outbox_dispatch_after_response,
    outbox_enqueue,
    register_handler,
)
from tests.support import call

pytestmark = pytest.mark.django_db

# Test topics and their handlers, registered once through the public decorator.
failures_left: dict[str, int] = {}
delivered: list[str] = []
delivered_lock = threading.Lock()


@register_handler("test.flaky")
def flaky(payload: dict) -> None:
    key = payload["key"]
    if failures_left.get(key, 0) > 0:
        failures_left[key] -= 1
        raise ConnectionError("provider unavailable")
    with delivered_lock:
        delivered.append(key)


@register_handler("test.count")
def count(payload: dict) -> None:
    with delivered_lock:
        delivered.append(payload["key"])


def make_due(message: OutboxMessage) -> None:
    """As if the retry time had come."""
    OutboxMessage.objects.filter(pk=message.pk).update(
        available_at=timezone.now() - timedelta(seconds=1)
    )


def test_message_of_a_rolled_back_change_never_exists():
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox_enqueue("test.count", {"key": "lost"})
        raise RuntimeError("the change failed")

    assert not OutboxMessage.objects.filter(topic="test.count").exists()


def test_email_is_delivered_once_however_often_dispatch_runs(django_assert_num_queries):
    mail.outbox.clear()
    message = email_enqueue(to="rahim@example.com", subject="Hello | হ্যালো", body="Hi")

    # the claim's transaction (a savepoint pair here), its select and lease, then mark sent
    with django_assert_num_queries(5):
        assert outbox_dispatch() == 1
    assert outbox_dispatch() == 0

    assert [(m.to, m.subject) for m in mail.outbox] == [(["rahim@example.com"], "Hello | হ্যালো")]
    message.refresh_from_db()
    assert message.status == OutboxStatus.SENT and message.sent_at is not None
    assert message.attempts == 1


def test_dispatch_query_count_does_not_grow_per_message_beyond_its_own_update(
    django_assert_num_queries,
):
    for n in range(5):
        outbox_enqueue("test.count", {"key": f"batch-{n}"})

    with django_assert_num_queries(2 + 2 + 5):  # savepoint pair, claim, one update each
        assert outbox_dispatch(limit=10) == 5


def test_dedupe_key_drops_the_second_message_without_breaking_the_transaction():
    with transaction.atomic():
        first = outbox_enqueue("test.count", {"key": "one"}, dedupe_key="order-1:confirmed")
        outbox_enqueue("test.count", {"key": "two"}, dedupe_key="order-1:confirmed")
        User.objects.create_user("still-works@example.com", None)

    assert list(OutboxMessage.objects.filter(topic="test.count").values_list("pk", flat=True)) == [
        first.pk
    ]


def test_failure_is_retried_with_backoff_then_delivered():
    key = uuid.uuid4().hex
    failures_left[key] = 1
    message = outbox_enqueue("test.flaky", {"key": key})

    assert outbox_dispatch() == 0
    message.refresh_from_db()
    assert message.status == OutboxStatus.PENDING and message.attempts == 1
    assert "ConnectionError: provider unavailable" in message.last_error
    wait = message.available_at - timezone.now()
    assert timedelta(seconds=25) < wait <= timedelta(seconds=30)

    assert outbox_dispatch() == 0  # not due yet
    make_due(message)
    assert outbox_dispatch() == 1

    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == (OutboxStatus.SENT, 2, "")
    assert delivered.count(key) == 1


def test_backoff_doubles_up_to_an_hour():
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff(50) == timedelta(hours=1)


def test_message_is_given_up_after_max_attempts():
    key = uuid.uuid4().hex
    failures_left[key] = MAX_ATTEMPTS + 5
    message = outbox_enqueue("test.flaky", {"key": key})

    for _ in range(MAX_ATTEMPTS):
        make_due(message)
        outbox_dispatch()

    message.refresh_from_db()
    assert (message.status, message.attempts) == (OutboxStatus.FAILED, MAX_ATTEMPTS)
    make_due(message)
    assert outbox_dispatch() == 0
    assert failures_left[key] == 5  # not tried again


def test_unknown_topic_stays_pending_for_a_later_deploy():
    message = outbox_enqueue("test.nobody-handles-this", {})

    assert outbox_dispatch() == 0

    message.refresh_from_db()
    assert message.status == OutboxStatus.PENDING
    assert "no outbox handler" in message.last_error


def test_a_topic_cannot_get_a_second_handler():
    with pytest.raises(ValueError, match="already has a handler"):
        register_handler("test.count")(lambda payload: None)


@pytest.mark.django_db(transaction=True)
def test_concurrent_dispatchers_deliver_each_message_exactly_once():
    keys = [f"race-{uuid.uuid4().hex}" for _ in range(30)]
    for key in keys:
        outbox_enqueue("test.count", {"key": key})

    def dispatcher() -> None:
        try:
            while outbox_dispatch(limit=4):
                pass
        finally:
            connection.close()

    threads = [threading.Thread(target=dispatcher) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(key for key in delivered if key in keys) == sorted(keys)
    assert OutboxMessage.objects.filter(status=OutboxStatus.SENT).count() == 30


@pytest.mark.django_db(transaction=True)
def test_after_response_dispatch_delivers_what_the_request_committed(
    django_assert_num_queries,
):
    outbox_dispatch_after_response(None)  # drain anything an earlier test left noted
    with django_assert_num_queries(0):
        assert outbox_dispatch_after_response(None) == 0

    key = f"after-{uuid.uuid4().hex}"
    with transaction.atomic():
        outbox_enqueue("test.count", {"key": key})

    assert outbox_dispatch_after_response(None) == 1
    assert key in delivered
    assert outbox_dispatch_after_response(None) == 0


def test_activity_documents_are_written_once(kv):
    user_id = uuid.uuid4().hex
    activity_record(user_id=user_id, activity_type="sign_in", details={"via": "test"}, ip="1.2.3.4")
    payload = OutboxMessage.objects.get(topic="activity.record").payload

    assert outbox_dispatch() == 1
    activity_store(payload)  # a redelivery

    documents = list(get_documents_db()[ACTIVITY_COLLECTION].find({"user_id": user_id}))
    assert len(documents) == 1
    document = documents[0]
    assert (document["activity_type"], document["ip"], document["details"]) == (
        "sign_in",
        "1.2.3.4",
        {"via": "test"},
    )
    assert document["timestamp"].utcoffset() == timedelta(0)


def test_cron_sweep_delivers_due_messages_and_needs_the_cron_secret(kv):
    for n in range(3):
        outbox_enqueue("test.count", {"key": f"cron-{n}"})

    refused = call(api.cron_outbox.app, "GET", "/api/cron/outbox")
    response = call(
        api.cron_outbox.app,
        "GET",
        "/api/cron/outbox",
        headers={"Authorization": "Bearer test-cron-secret"},
    )

    assert refused.status == 401
    assert response.status == 200
    assert response.json() == {
        "job": "outbox",
        "ran": True,
        "reason": None,
        "claimed": 3,
        "delivered": 3,
    }
    assert not OutboxMessage.objects.filter(status=OutboxStatus.PENDING).exists()
