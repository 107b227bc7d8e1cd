"""The one HTTP call every SMS adapter makes, with a bounded timeout (`SMS_HTTP_TIMEOUT`).

`sms_request` answers the decoded JSON body of any reply the gateway gave on purpose (2xx and
4xx); a timeout, an unreachable host, a 5xx or a 429 raises a retryable `SmsError`
(`sms_unavailable`), so the outbox tries again later. A timeout may hide a message the gateway
did take: SSL Wireless refuses a second `csms_id` the same day, the others may send twice.
`HttpSmsGateway` is the base of the adapters: their base URL, timeout and `request` to a path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from lib.sms.base import SmsError

JSON_HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}


def sms_request(
    method: str,
    url: str,
    *,
    gateway: str,
    timeout: float,
    json_body: Any = None,
    form: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """One call to a gateway; see the module docstring for what raises. Secrets travel in
    the body or query, so error messages name the path only."""
    path = httpx.URL(url).path
    headers = JSON_HEADERS if json_body is not None else {"Accept": "application/json"}
    try:
        reply = httpx.request(
            method, url, json=json_body, data=form, params=params, headers=headers, timeout=timeout
        )
    except httpx.TimeoutException as exc:
        raise SmsError(
            f"{gateway}: {method} {path} timed out after {timeout:g} s",
            code="sms_unavailable",
            retryable=True,
        ) from exc
    except httpx.HTTPError as exc:
        raise SmsError(
            f"{gateway}: {method} {path} unreachable ({type(exc).__name__})",
            code="sms_unavailable",
            retryable=True,
        ) from exc
    if reply.status_code >= 500 or reply.status_code == 429:
        raise SmsError(
            f"{gateway}: {method} {path} answered HTTP {reply.status_code}",
            code="sms_unavailable",
            retryable=True,
        )
    try:
        body = reply.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise SmsError(
            f"{gateway}: {method} {path} answered HTTP {reply.status_code} without a JSON object",
            code="sms_bad_reply",  # a 2xx may have been sent: never risk sending it twice
        )
    return body


class HttpSmsGateway:
    """An SMS gateway reached over HTTP at `base_url` (its trailing slash dropped), each call
    bounded by `timeout` seconds; a subclass names itself (`name`) and holds its credentials."""

    name: str

    def __init__(self, *, base_url: str, timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def request(self, method: str, path: str, **options: Any) -> dict[str, Any]:
        """`sms_request` to `path` under the base URL (`json_body`, `form`, `params`)."""
        return sms_request(
            method, self.base_url + path, gateway=self.name, timeout=self.timeout, **options
        )


def require(value: str, variable: str, gateway: str) -> str:
    """A credential the adapter cannot work without (a permanent error when it is unset)."""
    if not value:
        raise SmsError(f"{gateway}: {variable} is not set", code="sms_not_configured")
    return value
