"""The durable outbox: work after the response (emails, activity records, notifications).

`outbox_enqueue()` writes a row in the caller's transaction, so the side effect exists if and
only if the change causing it was committed. Delivery runs a handler per topic:

- right after the response, for the messages the request itself committed
  (`outbox_dispatch_after_response`, wired by the runtime), and
- from the `/api/cron/outbox` sweep, for anything left behind (an instance frozen or killed
  after answering, a failed attempt whose retry time has come).

Rows are claimed with `SELECT ... FOR UPDATE SKIP LOCKED` (on PostgreSQL) and leased for
`CLAIM_LEASE` before the handler runs outside any transaction, so concurrent dispatchers
never deliver the same message and one that dies mid-way is retried after the lease.
Delivery is at least once: handlers are idempotent (an id in the payload, an upsert). A
failure is retried with exponential backoff through `available_at`, and the message is
given up on (`failed`) after `MAX_ATTEMPTS`, or at once when the handler raises an error
whose `retryable` attribute is False (a permanent refusal).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from django.utils.module_loading import import_string

from db.models import OutboxMessage, OutboxStatus

logger = logging.getLogger("zest.outbox")

Handler = Callable[[dict[str, Any]], None]

# Topics handled by the kernel, imported on first delivery only (a function that merely
# enqueues does not load the mail or document-store code).
BUILTIN_HANDLERS: dict[str, str] = {
    "email.send": "lib.email.email_send",
    "activity.record": "lib.access.activity.activity_store",
    "auth.password_reset": "lib.access.recovery.password_reset_deliver",
    "sms.send": "lib.sms.delivery.sms_deliver",
    "push.send": "lib.notifications.push.push_deliver",
}
CLAIM_LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 30
BACKOFF_MAX_SECONDS = 3600
DEFAULT_BATCH = 50
# Messages committed by the current request that are still to deliver (one request at a
# time per thread); bounded in case nothing drains it (scripts, cron): the sweep catches up.
MAX_NOTED = 100

_handlers: dict[str, Handler] = {}
_handlers_lock = threading.Lock()
_noted = threading.local()


def register_handler(topic: str) -> Callable[[Handler], Handler]:
    """Decorator: deliver messages of `topic` with the decorated function (one per topic)."""

    def register(handler: Handler) -> Handler:
        with _handlers_lock:
            existing = _handlers.get(topic)
            if existing is not None and existing is not handler:
                raise ValueError(f"outbox topic {topic!r} already has a handler: {existing!r}")
            _handlers[topic] = handler
        return handler

    return register


def handler_for(topic: str) -> Handler | None:
    handler = _handlers.get(topic)
    if handler is None and topic in BUILTIN_HANDLERS:
        handler = register_handler(topic)(import_string(BUILTIN_HANDLERS[topic]))
    return handler


def noted_ids() -> deque:
    ids = getattr(_noted, "ids", None)
    if ids is None:
        ids = _noted.ids = deque(maxlen=MAX_NOTED)
    return ids


def json_safe(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload as JSON stores it (UUIDs, datetimes, Decimals become strings)."""
    return json.loads(json.dumps(payload, cls=DjangoJSONEncoder))


def outbox_enqueue(
    topic: str, payload: dict[str, Any], *, dedupe_key: str | None = None
) -> OutboxMessage:
    """Write a message in the caller's transaction. With `dedupe_key`, a second message
    with the same key is silently dropped (no error, the caller's transaction goes on)."""
    message = OutboxMessage(topic=topic, payload=json_safe(payload), dedupe_key=dedupe_key)
    if dedupe_key is None:
        message.save(force_insert=True)
    else:
        OutboxMessage.objects.bulk_create([message], ignore_conflicts=True)
    transaction.on_commit(lambda: noted_ids().append(message.pk))
    return message


def backoff(attempts: int) -> timedelta:
    """Wait before the next attempt: 30 s, 1 min, 2 min, ... up to an hour."""
    exponent = min(max(attempts - 1, 0), 16)
    return timedelta(seconds=min(BACKOFF_BASE_SECONDS * 2**exponent, BACKOFF_MAX_SECONDS))


def outbox_claim(*, limit: int, ids: Iterable[Any] | None = None) -> list[OutboxMessage]:
    """Lease up to `limit` due messages to this dispatcher (one transaction, two queries)."""
    now = timezone.now()
    with transaction.atomic():
        due = OutboxMessage.objects.filter(status=OutboxStatus.PENDING, available_at__lte=now)
        if ids is not None:
            due = due.filter(pk__in=list(ids))
        batch = list(due.order_by("available_at").select_for_update(skip_locked=True)[:limit])
        if batch:
            OutboxMessage.objects.filter(pk__in=[message.pk for message in batch]).update(
                attempts=F("attempts") + 1, available_at=now + CLAIM_LEASE
            )
    for message in batch:
        message.attempts += 1
    return batch


def outbox_deliver(message: OutboxMessage) -> bool:
    """Run the handler of one claimed message and record the outcome."""
    handler = handler_for(message.topic)
    try:
        if handler is None:
            raise LookupError(f"no outbox handler for topic {message.topic!r}")
        handler(message.payload)  # outside any transaction: handlers may talk to the network
    except Exception as exc:
        # An error saying it is not worth retrying (`retryable = False`, e.g. a gateway
        # refusing a number) gives up at once.
        gave_up = message.attempts >= MAX_ATTEMPTS or getattr(exc, "retryable", True) is False
        logger.warning(
            "outbox %s %s attempt %d failed%s: %s: %s",
            message.topic,
            message.pk,
            message.attempts,
            ", giving up" if gave_up else "",
            type(exc).__name__,
            exc,
        )
        OutboxMessage.objects.filter(pk=message.pk).update(
            status=OutboxStatus.FAILED if gave_up else OutboxStatus.PENDING,
            available_at=timezone.now() + backoff(message.attempts),
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
        )
        return False
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=OutboxStatus.SENT, sent_at=timezone.now(), last_error=""
    )
    return True


def dispatch_batch(*, limit: int, ids: Iterable[Any] | None = None) -> tuple[int, int]:
    """(claimed, delivered) for one batch."""
    batch = outbox_claim(limit=limit, ids=ids)
    return len(batch), sum(outbox_deliver(message) for message in batch)


def outbox_dispatch(*, limit: int = DEFAULT_BATCH) -> int:
    """Deliver up to `limit` due messages; returns how many were delivered. Safe to run
    concurrently and repeatedly: a delivered message is never delivered again."""
    return dispatch_batch(limit=limit)[1]


def outbox_sweep(*, batch: int = DEFAULT_BATCH, budget_seconds: float = 60.0) -> dict[str, int]:
    """The cron job: dispatch batches until none is full or the time budget is spent."""
    started = time.monotonic()
    claimed_total = delivered_total = 0
    while True:
        claimed, delivered = dispatch_batch(limit=batch)
        claimed_total += claimed
        delivered_total += delivered
        if claimed < batch or time.monotonic() - started > budget_seconds:
            break
    return {"claimed": claimed_total, "delivered": delivered_total}


def outbox_dispatch_after_response(request: HttpRequest | None = None) -> int:
    """Deliver what the request just committed (no query when it committed nothing).

    Called by the runtime once the response is complete; never raises: whatever is not
    delivered here is left to the sweep.
    """
    ids = noted_ids()
    if not ids:
        return 0
    pending = list(ids)
    ids.clear()
    try:
        return dispatch_batch(limit=len(pending), ids=pending)[1]
    except Exception:
        logger.exception("outbox dispatch after the response failed; the sweep will retry")
        return 0
