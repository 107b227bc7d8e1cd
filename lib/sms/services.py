"""Queueing SMS: `sms_enqueue()` writes one message in the durable outbox, in the caller's
transaction; it is sent right after the response (or by the outbox sweep) through the
configured gateway (`lib.sms.delivery.sms_deliver`, the handler of `SMS_TOPIC`).

A `dedupe_key` makes a retried request or a re-run hook queue the message once: the second
enqueue with the same key is dropped, so it is never sent twice.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone

from db.models import OutboxMessage, OutboxStatus
from lib.errors import Conflict, NotFound
from lib.outbox import noted_ids, outbox_enqueue
from lib.sms.base import SmsSize, sms_segments

SMS_TOPIC = "sms.send"
# Longest text accepted (SSL Wireless takes about 1000 characters).
MAX_TEXT_LENGTH = 1000

__all__ = ["SMS_TOPIC", "SmsSize", "sms_enqueue", "sms_number", "sms_retry", "sms_segments"]


def sms_number(raw: str) -> str:
    """A Bangladeshi mobile number in any form (`01712345678`, `+880 1712-345678`, Bangla
    digits) as the gateways want it: `8801712345678`. ValueError for anything else."""
    from lib.access.services import phone_normalize

    return phone_normalize(raw).removeprefix("+")


def sms_reference() -> str:
    """Our id for one message at the gateway: 20 alphanumeric characters (SSL Wireless's
    `csms_id` must be unique per day and at most 20 long). Kept in the payload, so a retried
    attempt sends the same reference."""
    return uuid.uuid4().hex[:20]


def sms_enqueue(*, to: str, text: str, kind: str, dedupe_key: str | None = None) -> None:
    """Queue one SMS to `to` (inside the caller's transaction). `kind` names what it is
    (`otp`, `order_placed`, `order_shipped`, `order_out_for_delivery`) for staff and logs.
    ValueError for a number that is not a Bangladeshi mobile or an empty/too long text."""
    number = sms_number(to)
    if not text.strip():
        raise ValueError("an SMS needs a text")
    if len(text) > MAX_TEXT_LENGTH:
        raise ValueError(f"an SMS text is at most {MAX_TEXT_LENGTH} characters")
    outbox_enqueue(
        SMS_TOPIC,
        {"to": number, "text": text, "kind": kind, "reference": sms_reference()},
        dedupe_key=dedupe_key,
    )


def sms_retry(*, message_id: Any) -> OutboxMessage:
    """Staff send a failed (or still pending) SMS again now, e.g. after topping up the
    gateway account or fixing its settings: it goes out right after the response, with the
    same reference (SSL Wireless still refuses a second copy the same day). 404 for an id that
    is not an SMS; 409 `sms_already_sent` for one that went out. A message the per-number cap
    refused is not counted against the cap a second time."""
    with transaction.atomic():
        message = (
            OutboxMessage.objects.select_for_update().filter(pk=message_id, topic=SMS_TOPIC).first()
        )
        if message is None:
            raise NotFound()
        if message.status == OutboxStatus.SENT:
            raise Conflict("sms_already_sent")
        message.status = OutboxStatus.PENDING
        message.available_at = timezone.now()
        message.save(update_fields=["status", "available_at"])
        transaction.on_commit(lambda: noted_ids().append(message.pk))
    return message
