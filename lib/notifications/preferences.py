"""Who wants what: per user, per channel (email, SMS, push, in-app) and per category.

Only the choices a user changed are stored (`NotificationPreference`); everything else takes
`DEFAULTS`. Account and security email cannot be turned off (`LOCKED`): a password reset or a
verification link must always reach the owner.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.db import transaction

from db.models import NotificationCategory, NotificationChannel, NotificationPreference

C = NotificationCategory
Ch = NotificationChannel
CHANNELS: tuple[str, ...] = tuple(Ch.values)
CATEGORIES: tuple[str, ...] = tuple(C.values)
# Channels off by default: SMS costs money (orders and account only), marketing is opt-in.
DEFAULT_OFF: frozenset[tuple[str, str]] = frozenset(
    {(Ch.SMS, category) for category in CATEGORIES if category not in (C.ORDER, C.ACCOUNT)}
    | {(channel, C.MARKETING) for channel in (Ch.EMAIL, Ch.SMS, Ch.PUSH)}
)
DEFAULTS: dict[tuple[str, str], bool] = {
    (channel, category): (channel, category) not in DEFAULT_OFF
    for channel in CHANNELS
    for category in CATEGORIES
}
LOCKED: frozenset[tuple[str, str]] = frozenset({(Ch.EMAIL, C.ACCOUNT)})

Preferences = dict[tuple[str, str], bool]


class PreferenceLocked(ValueError):
    def __init__(self, channel: str, category: str) -> None:
        super().__init__(f"{channel} notifications of {category} cannot be turned off")
        self.channel, self.category = channel, category


def category_of(kind: str) -> str:
    """`"order.shipped"` -> `"order"`; an unknown category is rejected (a typo is a bug)."""
    category = kind.partition(".")[0]
    if category not in CATEGORIES:
        raise ValueError(f"unknown notification category in kind {kind!r}")
    return category


def preferences_for(user_id: object | None) -> Preferences:
    """Every (channel, category) -> enabled for the user (one query; defaults for guests)."""
    preferences = dict(DEFAULTS)
    if user_id is not None:
        rows = NotificationPreference.objects.filter(user_id=user_id).values_list(
            "channel", "category", "enabled"
        )
        preferences.update({(channel, category): enabled for channel, category, enabled in rows})
    preferences.update(dict.fromkeys(LOCKED, True))
    return preferences


def preference_enabled(user_id: object | None, channel: str, category: str) -> bool:
    return preferences_for(user_id)[(channel, category)]


def preferences_update(*, user_id: object, changes: Mapping[tuple[str, str], bool]) -> Preferences:
    """Store the user's choices (upserts, one transaction); a locked one turned off raises
    `PreferenceLocked` and stores nothing. Returns the resulting preferences."""
    for (channel, category), enabled in changes.items():
        if (channel, category) in LOCKED and not enabled:
            raise PreferenceLocked(channel, category)
        if channel not in CHANNELS or category not in CATEGORIES:
            raise ValueError(f"unknown preference {channel}/{category}")
    rows: Iterable[NotificationPreference] = [
        NotificationPreference(user_id=user_id, channel=channel, category=category, enabled=on)
        for (channel, category), on in changes.items()
    ]
    with transaction.atomic():
        NotificationPreference.objects.bulk_create(
            list(rows),
            update_conflicts=True,
            unique_fields=["user", "channel", "category"],
            update_fields=["enabled", "updated_at"],
        )
    return preferences_for(user_id)
