"""The points ledger's only writer: one entry and the balance it changes, under the account
row's lock, idempotent by `reference`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import F

from db.models import LoyaltyAccount, PointsEntry, PointsKind


def loyalty_account_lock(*, user_id: Any) -> LoyaltyAccount:
    """The customer's account row, created if missing and locked until commit (call inside a
    transaction). Every ledger write and every redemption check goes through this lock, so
    concurrent placements of one customer are serialised on it."""
    LoyaltyAccount.objects.get_or_create(user_id=user_id)
    return LoyaltyAccount.objects.select_for_update().get(user_id=user_id)


def points_entry_add(
    *,
    user_id: Any,
    kind: str,
    points: int,
    reference: str,
    order_id: Any = None,
    expires_at: datetime | None = None,
    note: str = "",
) -> PointsEntry | None:
    """Write one entry and move the balance; None (nothing written) when `reference` was
    already used or `points` is 0. Runs in (or opens) a transaction."""
    if points == 0:
        return None
    with transaction.atomic():
        account = loyalty_account_lock(user_id=user_id)
        if PointsEntry.objects.filter(reference=reference).exists():
            return None
        entry = PointsEntry.objects.create(
            user_id=user_id,
            kind=kind,
            points=points,
            reference=reference,
            order_id=order_id,
            expires_at=expires_at,
            note=note[:255],
        )
        earned = points if kind in (PointsKind.EARN, PointsKind.REFERRAL_BONUS) else 0
        LoyaltyAccount.objects.filter(pk=account.pk).update(
            balance=F("balance") + points, lifetime_earned=F("lifetime_earned") + earned
        )
    return entry


def rewards_notify(
    *, user_id: Any, event: str, dedupe_key: str, title: tuple[str, str], body: tuple[str, str]
) -> None:
    """`rewards.<event>` in the customer's feed (and email/push by their preferences), inside
    the caller's transaction."""
    from lib.notifications.services import notify

    notify(
        user_id=user_id,
        kind=f"rewards.{event}",
        title=title,
        body=body,
        dedupe_key=dedupe_key,
        url="/account/rewards",
    )
