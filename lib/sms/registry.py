"""Which adapter sends SMS: `SMS_BACKEND` = `console` (the default: prints, delivers nothing),
`sslwireless`, `smsnetbd` or `bulksmsbd`.

Each adapter module `lib.sms.<backend>` exposes `gateway() -> SmsGateway`, built from the
lazily read `lib.conf.sms_config` and imported only when first needed.
"""

from __future__ import annotations

import importlib

from lib import conf
from lib.sms.base import SmsError, SmsGateway

BACKENDS: tuple[str, ...] = ("console", "sslwireless", "smsnetbd", "bulksmsbd")


def sms_gateway(backend: str | None = None) -> SmsGateway:
    """The adapter of `backend` (default: `SMS_BACKEND`). A permanent SmsError
    (`sms_not_configured`) for a backend we do not have."""
    name = (backend or conf.sms_config.backend).lower()
    if name not in BACKENDS:
        raise SmsError(
            f"SMS_BACKEND={name!r} is not one of {', '.join(BACKENDS)}", code="sms_not_configured"
        )
    return importlib.import_module(f"lib.sms.{name}").gateway()
