"""The `console` SMS backend: prints each message on the server's standard output (and logs
it) and delivers nothing. The local default, so one-time codes are readable in the terminal
of `zest dev` without any account."""

from __future__ import annotations

import logging
import sys

from lib.sms.base import SmsReceipt, sms_segments

logger = logging.getLogger("zest.sms")


class ConsoleGateway:
    name = "console"

    def send(self, *, to: str, text: str, reference: str) -> SmsReceipt:
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
