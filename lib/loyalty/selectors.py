"""Reads of a customer's points: balance with tier progress, history, what points are worth."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from db.models import PointsEntry
from lib import conf
from lib.loyalty.expiry import points_remaining
from lib.loyalty.redeem import points_balance, points_max_for, points_worth
from lib.loyalty.tiers import tier_standing

EXPIRING_SOON = timedelta(days=30)


def tier_out(tier: Any) -> dict[str, Any] | None:
    if tier is None:
        return None
    return {
        "code": tier.code,
        "name_en": tier.name_en,
        "name_bn": tier.name_bn,
        "min_spend": tier.min_spend,
        "earn_multiplier": tier.earn_multiplier,
    }


def loyalty_summary(*, user_id: Any) -> dict[str, Any]:
    """Balance, its worth, what expires within 30 days, tier and progress to the next one
    (four queries)."""
    balance = points_balance(user_id=user_id)
    standing = tier_standing(user_id=user_id)
    now = timezone.now()
    entries = list(PointsEntry.objects.filter(user_id=user_id).order_by("created_at", "pk"))
    left = points_remaining(entries)
    soon = sum(
        left.get(entry.pk, 0)
        for entry in entries
        if entry.expires_at is not None and now < entry.expires_at <= now + EXPIRING_SOON
    )
    settings = conf.loyalty_config
    return {
        "balance": balance,
        "balance_value": points_worth(balance),
        "point_value": points_worth(1),
        "redeem_min_balance": settings.redeem_min_balance,
        "redeem_max_percent": settings.redeem_max_percent,
        "can_redeem": balance >= settings.redeem_min_balance,
        "expiring_soon": soon,
        "spend_12_months": standing.spend,
        "tier": tier_out(standing.tier),
        "next_tier": tier_out(standing.next_tier),
        "to_next_tier": standing.to_next,
    }


def points_history(*, user_id: Any) -> QuerySet[PointsEntry]:
    return (
        PointsEntry.objects.filter(user_id=user_id)
        .select_related("order")
        .order_by("-created_at", "-pk")
    )


def points_preview(*, user_id: Any, points: int, subtotal: Decimal) -> dict[str, Any]:
    """What `points` would take off an order of `subtotal` (after discounts), and the most
    the customer could use on it."""
    balance = points_balance(user_id=user_id)
    settings = conf.loyalty_config
    usable = min(balance, points_max_for(subtotal)) if balance >= settings.redeem_min_balance else 0
    return {
        "points": points,
        "value": points_worth(points),
        "balance": balance,
        "max_points": max(usable, 0),
        "max_value": points_worth(usable),
        "allowed": 0 < points <= usable,
    }
