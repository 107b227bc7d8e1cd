"""Delivery records: one `NotificationDelivery` per channel per piece of news.

A channel's outbox message carries the delivery's id; its handler marks the row sent (with the
provider's message id) or records the failed attempt. The outbox retries with backoff; once it
gives up (`MAX_ATTEMPTS`, or a permanent refusal) the row is `failed`, which staff see in the
admin and at `GET /api/v1/notifications/deliveries/failed`. A handler that finds its delivery
already sent does nothing, so an instance dying between sending and recording cannot send twice.
"""

from __future__ import annotations

from typing import Any

from django.db.models import F
from django.utils import timezone

from db.models import DeliveryStatus, Notification, NotificationDelivery
from lib.outbox import MAX_ATTEMPTS, outbox_enqueue


def delivery_queue(
    *,
    channel: str,
    topic: str,
    payload: dict[str, Any],
    dedupe_key: str,
    kind: str,
    user_id: object | None = None,
    notification: Notification | None = None,
    recipient: str = "",
    language: str = "",
    wanted: bool = True,
) -> NotificationDelivery | None:
    """Record the delivery and queue its outbox message in the caller's transaction; when
    `wanted` is False, record it as skipped by preference and queue nothing. Returns None when
    `dedupe_key` was already queued (a retried transition, a re-run hook)."""
    delivery, created = NotificationDelivery.objects.get_or_create(
        dedupe_key=dedupe_key,
        defaults={
            "channel": channel,
            "kind": kind,
            "user_id": user_id,
            "notification": notification,
            "recipient": recipient[:255],
            "language": language,
            "status": DeliveryStatus.PENDING if wanted else DeliveryStatus.SKIPPED_BY_PREFERENCE,
        },
    )
    if not created:
        return None
    if wanted:
        outbox_enqueue(topic, {**payload, "delivery": str(delivery.pk)}, dedupe_key=dedupe_key)
    return delivery


def delivery_is_sent(delivery_id: str | None) -> bool:
    if not delivery_id:
        return False
    return NotificationDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.SENT).exists()


def delivery_sent(delivery_id: str | None, *, provider_message_id: str = "") -> None:
    if not delivery_id:
        return
    NotificationDelivery.objects.filter(pk=delivery_id).update(
        status=DeliveryStatus.SENT,
        attempts=F("attempts") + 1,
        sent_at=timezone.now(),
        last_error="",
        provider_message_id=provider_message_id[:255],
        updated_at=timezone.now(),
    )


def delivery_failed(delivery_id: str | None, error: BaseException) -> None:
    """Record a failed attempt; `failed` when the outbox will not retry it."""
    if not delivery_id:
        return
    delivery = NotificationDelivery.objects.filter(pk=delivery_id).only("attempts").first()
    if delivery is None:
        return
    attempts = delivery.attempts + 1
    final = attempts >= MAX_ATTEMPTS or getattr(error, "retryable", True) is False
    NotificationDelivery.objects.filter(pk=delivery_id).update(
        status=DeliveryStatus.FAILED if final else DeliveryStatus.PENDING,
        attempts=attempts,
        last_error=f"{type(error).__name__}: {error}"[:2000],
        updated_at=timezone.now(),
    )
