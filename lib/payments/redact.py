"""Secrets out of what we store: provider requests and responses are kept on payment events
with passwords, keys, tokens and signatures replaced."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

REDACTED = "[redacted]"
MAX_DEPTH = 20
# Compared with the key lower-cased and stripped of everything but letters and digits.
SECRET_KEYS = frozenset(
    {
        "password",
        "passwd",
        "storepasswd",
        "appsecret",
        "appkey",
        "secret",
        "secretkey",
        "clientsecret",
        "merchantkey",
        "apikey",
        "privatekey",
        "token",
        "idtoken",
        "accesstoken",
        "refreshtoken",
        "authorization",
        "signature",
        "sign",
        "verifysign",
        "verifysign2",
        "sensitivedata",
        "cardnumber",
        "cvv",
        "pin",
        "otp",
    }
)
SECRET_SUFFIXES = ("password", "passwd", "secret", "token", "signature", "privatekey")
_NOT_ALNUM = re.compile(r"[^a-z0-9]")


def secret_key(key: object) -> bool:
    name = _NOT_ALNUM.sub("", str(key).lower())
    return name in SECRET_KEYS or name.endswith(SECRET_SUFFIXES)


def redact(value: Any, _depth: int = 0) -> Any:
    """A JSON-safe copy of `value` with every secret-looking key's value replaced."""
    if _depth > MAX_DEPTH:
        return REDACTED
    if isinstance(value, Mapping):
        return {
            str(k): REDACTED if secret_key(k) else redact(v, _depth + 1) for k, v in value.items()
        }
    if isinstance(value, (list, tuple, set, frozenset)):
        return [redact(item, _depth + 1) for item in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (Decimal, UUID)):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
