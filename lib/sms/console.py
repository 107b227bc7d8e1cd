"""The `console` SMS backend: prints each message on the server's standard output (and logs
it) and delivers nothing. The local default, so one-time codes are readable in the terminal
of `zest dev` without any account.

On a deployment (Vercel) it refuses every message instead (a permanent `sms_not_configured`,
listed for staff): printing would put one-time codes into the platform's logs and tell the
customer nothing. A deployment sets SMS_BACKEND to a gateway."""

from __future__ import annotations

import logging
import sys

from lib import conf
from lib.sms.base import SmsError, SmsReceipt, sms_segments

logger = logging.getLogger("zest.sms")


class ConsoleGateway:
    name = "console"

    def send(self, *, to: str, text: str, reference: str) -> SmsReceipt:
        if conf.config.on_vercel:
            raise SmsError(
                "SMS_BACKEND is console on a deployment: set a gateway (sslwireless, smsnetbd,"
                " bulksmsbd)",
                code="sms_not_configured",
            )
        size = sms_segments(text)
        # Like Django's console email backend: straight to standard output.
        sys.stdout.write(
            f"[SMS to +{to}, {size.segments} {size.encoding} part(s), ref {reference}]\n{text}\n"
        )
        sys.stdout.flush()
        logger.info("console SMS to %s (%s): %s", to, reference, text)
        return SmsReceipt(f"console-{reference}", size.segments, {"backend": "console"})


def gateway() -> ConsoleGateway:
    return ConsoleGateway()
