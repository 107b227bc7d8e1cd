"""The one HTTP call every courier adapter makes: JSON over httpx with a bounded timeout.

`courier_request` answers `(status, body)` for any reply the courier gave on purpose (2xx and
4xx, body decoded from JSON or `{}`); a timeout, an unreachable host, a 5xx or a 429 raises a
retryable `CourierError` (`courier_unavailable`), so a caller can tell "try again later"
from "the courier said no".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
    except httpx.TimeoutException as exc:
        raise CourierError(
            f"{courier}: {method} {url} timed out", code="courier_unavailable", retryable=True
        ) from exc
    except httpx.HTTPError as exc:
        raise CourierError(
            f"{courier}: {method} {url} unreachable ({type(exc).__name__})",
            code="courier_unavailable",
            retryable=True,
        ) from exc
    if reply.status_code >= 500 or reply.status_code == 429:
        raise CourierError(
            f"{courier}: {method} {url} answered HTTP {reply.status_code}",
            code="courier_unavailable",
            retryable=True,
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
