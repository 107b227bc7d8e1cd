"""The user-activity log (MongoDB `user_activity`): sign-ins, failed sign-ins, sign-outs,
password and role changes, order placements, and what staff do in the Django admin.

Recording costs the request one insert into the outbox (in its transaction); the document
is written after the response by the outbox handler. Each record carries its own id as the
document `_id`, so a redelivered message never writes a second document.
"""

from __future__ import annotations

import uuid
from contextlib import suppress
from datetime import datetime
from enum import StrEnum
from typing import Any

from django.utils import timezone

from lib.outbox import outbox_enqueue

ACTIVITY_TOPIC = "activity.record"
ACTIVITY_COLLECTION = "user_activity"


class ActivityType(StrEnum):
    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"
    SIGN_OUT = "sign_out"
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 - an event name
    ROLE_CHANGED = "role_changed"
    ORDER_PLACED = "order_placed"  # lib.activity.hooks, from checkout
    ADMIN_ACTION = "admin_action"  # an addition, change, deletion or action in the admin


def activity_record(
    *,
    user_id: Any,
    activity_type: str,
    details: dict[str, Any] | None = None,
    ip: str = "",
) -> None:
    """Queue one activity document (`user_id` is None for a failed sign-in by an unknown
    email)."""
    outbox_enqueue(
        ACTIVITY_TOPIC,
        {
            "id": uuid.uuid4().hex,
            "user_id": str(user_id) if user_id is not None else None,
            "activity_type": str(ActivityType(activity_type)),
            "details": details or {},
            "ip": ip,
            "timestamp": timezone.now().isoformat(),
        },
    )


def activity_store(payload: dict[str, Any]) -> None:
    """Outbox handler of "activity.record": insert the document once."""
    from pymongo.errors import DuplicateKeyError

    from lib.documents import get_documents_db

    document = {
        "_id": payload["id"],
        "user_id": payload["user_id"],
        "activity_type": payload["activity_type"],
        "details": payload["details"],
        "ip": payload["ip"],
        "timestamp": datetime.fromisoformat(payload["timestamp"]),
    }
    with suppress(DuplicateKeyError):  # delivered before: the outbox is at-least-once
        get_documents_db()[ACTIVITY_COLLECTION].insert_one(document)
