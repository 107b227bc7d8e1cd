"""Sending a queued SMS: the outbox handler of `sms.send` (see `lib.sms.services`).

Each attempt goes through the configured gateway (`SMS_BACKEND`). What the outbox records
follows the gateway's answer: sent; a retryable `SmsError` (timeout, 5xx, rate limit) leaves
the message pending for the outbox's backoff; a permanent one (`retryable=False`: a refused
number, bad credentials, the per-number cap) marks it failed at once, with the reason in
`last_error`, listed for staff (`GET /api/v1/admin/sms?status=failed`, the Django admin's
outbox filtered by topic and status).

Resend storms are capped per number: at most `SMS_MAX_PER_NUMBER_PER_HOUR` messages to one
number per clock hour, counted in KV when they are first attempted (a retried attempt of the
same message keeps its place), whatever asked for them.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from lib import conf
from lib.kv import get_kv
from lib.sms.base import SmsError, SmsReceipt
from lib.sms.registry import sms_gateway

logger = logging.getLogger("zest.sms")

CAP_KEY = "sms:cap:{number}:{hour}"
COUNTED_KEY = "sms:cap:counted:{reference}"
CAP_TTL = 7200  # seconds: outlives the hour it counts
# KEYS: the number's counter for this hour, the message's "already counted" marker.
# Returns the count including this message, or 0 when the message was counted before.
COUNT_SCRIPT = """
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then
  local count = redis.call('INCR', KEYS[1])
  if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
  return count
end
return 0
"""


def sms_cap_take(*, number: str, reference: str, now: float | None = None) -> None:
    """Count this message against its number's hourly cap (once per message); a permanent
    SmsError (`sms_capped`) when the number already had its share this hour."""
    limit = conf.sms_config.max_per_number_per_hour
    if limit <= 0:
        return
    hour = int((time.time() if now is None else now) // 3600)
    count = int(
        get_kv().eval(
            COUNT_SCRIPT,
            keys=[
                CAP_KEY.format(number=number, hour=hour),
                COUNTED_KEY.format(reference=reference),
            ],
            args=[str(CAP_TTL)],
        )
    )
    if count > limit:
        raise SmsError(
            f"{number} already had {limit} SMS this hour (SMS_MAX_PER_NUMBER_PER_HOUR)",
            code="sms_capped",
        )


def sms_send_now(*, to: str, text: str, reference: str) -> SmsReceipt:
    """One attempt at sending through the configured gateway, within the cap."""
    sms_cap_take(number=to, reference=reference)
    return sms_gateway().send(to=to, text=text, reference=reference)


def sms_deliver(payload: dict[str, Any]) -> None:
    """Outbox handler of "sms.send": `{"to": "8801...", "text", "kind", "reference"}`."""
    receipt = sms_send_now(to=payload["to"], text=payload["text"], reference=payload["reference"])
    logger.info(
        "SMS %s (%s) to %s sent: %s, %d part(s)",
        payload["reference"],
        payload.get("kind", ""),
        payload["to"],
        receipt.provider_message_id,
        receipt.segments,
    )
