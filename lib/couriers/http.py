"""The one HTTP call every courier adapter makes: JSON over httpx with a bounded timeout.

`courier_request` answers `(status, body)` for any reply the courier gave on purpose (2xx and
4xx, body decoded from JSON or `{}`); a timeout, an unreachable host, a 5xx or a 429 raises a
retryable `CourierError` (`courier_unavailable`), so a caller can tell "try again later"
from "the courier said no". The error's `outcome_unknown` tells whether the courier may have
acted on the request: True after it was sent and no answer came (read/write timeout, dropped
connection) or a 5xx came; False when it never got there (refused connection, DNS, connect
timeout) or was turned away unprocessed (429).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from lib.couriers.base import CourierError

DEFAULT_HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}


def courier_request(
    method: str,
    url: str,
    *,
    courier: str,
    timeout: float,
    json_body: Any = None,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> tuple[int, dict]:
    """One call to a courier's API; see the module docstring for what raises."""
    try:
        reply = httpx.request(
            method,
            url,
            json=json_body,
            params=params,
            headers={**DEFAULT_HEADERS, **(headers or {})},
            timeout=timeout,
        )
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.UnsupportedProtocol) as exc:
        raise CourierError(
            f"{courier}: {method} {url} unreachable ({type(exc).__name__})",
            code="courier_unavailable",
            retryable=True,
        ) from exc
    except httpx.TimeoutException as exc:
        raise CourierError(
            f"{courier}: {method} {url} timed out ({type(exc).__name__})",
            code="courier_unavailable",
            retryable=True,
            outcome_unknown=not isinstance(exc, httpx.PoolTimeout),
        ) from exc
    except httpx.HTTPError as exc:  # sent, then the connection broke: no answer
        raise CourierError(
            f"{courier}: {method} {url} gave no answer ({type(exc).__name__})",
            code="courier_unavailable",
            retryable=True,
            outcome_unknown=True,
        ) from exc
    if reply.status_code >= 500 or reply.status_code == 429:
        raise CourierError(
            f"{courier}: {method} {url} answered HTTP {reply.status_code}",
            code="courier_unavailable",
            retryable=True,
            outcome_unknown=reply.status_code >= 500,
        )
    try:
        body = reply.json()
    except ValueError:
        body = {}
    return reply.status_code, body if isinstance(body, dict) else {"data": body}


def courier_message(body: dict, default: str) -> str:
    """The human message a courier put in an error body (`message`, `errors`), else `default`."""
    message = body.get("message") or body.get("error") or ""
    errors = body.get("errors")
    if isinstance(errors, dict) and errors:
        details = "; ".join(f"{key}: {value}" for key, value in errors.items())
        message = f"{message} ({details})" if message else details
    return str(message or default)[:500]


# --- shared by the adapters' webhook checks and parsers --------------------------------------

DHAKA = ZoneInfo("Asia/Dhaka")


def secret_matches(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a secret a webhook carries; an unset secret matches nothing."""
    if not expected or given is None:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """A header by case-insensitive name (Django's request.headers, or a plain dict)."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    return next((v for k, v in headers.items() if str(k).lower() == lowered), None)


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, else None."""
    scheme, _, token = (header_value(headers, "Authorization") or "").strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def decimal_or_none(raw: Any) -> Decimal | None:
    """A courier's number (int, float or numeric string) as Decimal; None when absent or junk."""
    if raw is None or raw == "" or isinstance(raw, bool):
        return None
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def courier_time(raw: Any) -> datetime | None:
    """A courier's "YYYY-MM-DD HH:MM:SS" (Bangladesh time when it names no zone) or ISO-8601
    time, as timezone-aware UTC; None when absent or unreadable."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    try:
        moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=DHAKA)
    return moment.astimezone(UTC)
