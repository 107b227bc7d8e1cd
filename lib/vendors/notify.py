"""Vendor news to people (kind `vendor.<event>`), through the store's notification feed."""

from __future__ import annotations

from typing import Any

from lib.notifications.services import notify


def vendor_notify(
    *,
    user_id: Any,
    event: str,
    title: tuple[str, str],
    body: tuple[str, str],
    dedupe_key: str,
    url: str = "",
    data: dict | None = None,
) -> None:
    """Queue an in-app/email/push notice (English, Bangla) inside the caller's transaction."""
    notify(
        user_id=str(user_id),
        kind=f"vendor.{event}",
        title=title,
        body=body,
        dedupe_key=dedupe_key,
        url=url,
        data=data,
    )
