"""Reading the SMS outbox for staff: what was sent, what is waiting, what failed and why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from db.models import OutboxMessage
from lib.sms.services import SMS_TOPIC

# Kinds whose text is a secret (a one-time code): never shown back.
SECRET_KINDS = frozenset({"otp"})


@dataclass(frozen=True, slots=True)
class SmsFilters:
    status: str | None = None  # pending | sent | failed
    kind: str | None = None
    to: str | None = None  # 8801XXXXXXXXX


def sms_list(*, filters: SmsFilters) -> QuerySet[OutboxMessage]:
    """Queued SMS, newest first (uses the topic/created_at index)."""
    rows = OutboxMessage.objects.filter(topic=SMS_TOPIC)
    if filters.status:
        rows = rows.filter(status=filters.status)
    if filters.kind:
        rows = rows.filter(payload__kind=filters.kind)
    if filters.to:
        rows = rows.filter(payload__to=filters.to)
    return rows.order_by("-created_at", "-pk")


def sms_view(message: OutboxMessage) -> dict[str, Any]:
    """One queued SMS as staff see it; one-time codes are never shown."""
    payload = message.payload or {}
    kind = str(payload.get("kind", ""))
    return {
        "id": message.pk,
        "to": str(payload.get("to", "")),
        "kind": kind,
        "text": "" if kind in SECRET_KINDS else str(payload.get("text", "")),
        "reference": str(payload.get("reference", "")),
        "status": message.status,
        "attempts": message.attempts,
        "last_error": message.last_error,
        "created_at": message.created_at,
        "next_attempt_at": message.available_at if message.status == "pending" else None,
        "sent_at": message.sent_at,
    }
