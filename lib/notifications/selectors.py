"""Reading notifications: the user's feed, its unread count, failed deliveries for staff."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from db.models import DeliveryStatus, Notification, NotificationDelivery
from lib.notifications.preferences import CATEGORIES, CHANNELS, LOCKED, preferences_for
from lib.pagination import (
    CursorPageParams,
    KeysetOrdering,
    PageParams,
    SortKey,
    paginate,
    paginate_keyset,
)

FEED_ORDERING = KeysetOrdering(
    tag="feed",
    keys=(SortKey("created_at", "datetime", descending=True), SortKey("id", "uuid", True)),
)


def feed_queryset(user_id: object, *, unread_only: bool = False) -> QuerySet[Notification]:
    rows = Notification.objects.filter(user_id=user_id, in_feed=True)
    return rows.filter(read_at__isnull=True) if unread_only else rows


def notification_feed(
    *, user_id: object, params: CursorPageParams, unread_only: bool = False
) -> dict[str, Any]:
    """The user's feed, newest first, by page or cursor (two queries: count and page)."""
    rows = feed_queryset(user_id, unread_only=unread_only)
    return paginate_keyset(rows, params, ordering=FEED_ORDERING)


def notifications_unread_count(*, user_id: object) -> int:
    """One count over the partial index of unread feed entries."""
    return feed_queryset(user_id, unread_only=True).count()


def notification_preferences(*, user_id: object) -> list[dict[str, Any]]:
    """Every (channel, category) with its state and whether it may be changed."""
    preferences = preferences_for(user_id)
    return [
        {
            "channel": channel,
            "category": category,
            "enabled": preferences[(channel, category)],
            "locked": (channel, category) in LOCKED,
        }
        for channel in CHANNELS
        for category in CATEGORIES
    ]


def deliveries_failed(*, params: PageParams, channel: str | None = None) -> dict[str, Any]:
    """Deliveries given up on, newest first (staff)."""
    rows = NotificationDelivery.objects.filter(status=DeliveryStatus.FAILED).order_by(
        "-created_at", "-id"
    )
    if channel:
        rows = rows.filter(channel=channel)
    return paginate(rows, params)
