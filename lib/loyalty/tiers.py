"""Tiers: reached by what a customer spent on delivered orders over the last 12 months."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Sum
from django.utils import timezone

from db.models import ZERO, LoyaltyTier, Order, OrderStatus

SPEND_WINDOW = timedelta(days=365)
# The tiers a new store starts with (staff change them in the admin).
DEFAULT_TIERS = (
    ("bronze", "Bronze", "ব্রোঞ্জ", Decimal("0"), Decimal("1.00")),
    ("silver", "Silver", "সিলভার", Decimal("20000"), Decimal("1.25")),
    ("gold", "Gold", "গোল্ড", Decimal("60000"), Decimal("1.50")),
)


@dataclass(frozen=True, slots=True)
class TierStanding:
    spend: Decimal
    tier: LoyaltyTier | None
    next_tier: LoyaltyTier | None

    @property
    def multiplier(self) -> Decimal:
        return self.tier.earn_multiplier if self.tier else Decimal("1")

    @property
    def to_next(self) -> Decimal:
        return max(self.next_tier.min_spend - self.spend, ZERO) if self.next_tier else ZERO


def loyalty_tiers_seed() -> None:
    """The default Bronze/Silver/Gold tiers, where no tier exists yet."""
    if LoyaltyTier.objects.exists():
        return
    LoyaltyTier.objects.bulk_create(
        LoyaltyTier(code=code, name_en=en, name_bn=bn, min_spend=spend, earn_multiplier=mult)
        for code, en, bn, spend, mult in DEFAULT_TIERS
    )


def customer_spend(*, user_id: Any) -> Decimal:
    """What the customer paid for orders delivered (and kept) over the last 12 months."""
    since = timezone.now() - SPEND_WINDOW
    total = Order.objects.filter(
        user_id=user_id, status=OrderStatus.DELIVERED, placed_at__gte=since
    ).aggregate(total=Sum("total_amount"))["total"]
    return total or ZERO


def tier_standing(*, user_id: Any) -> TierStanding:
    """The customer's tier and the next one (two queries)."""
    spend = customer_spend(user_id=user_id)
    tier = next_tier = None
    for row in LoyaltyTier.objects.order_by("min_spend"):
        if row.min_spend <= spend:
            tier = row
        elif next_tier is None:
            next_tier = row
    return TierStanding(spend=spend, tier=tier, next_tier=next_tier)
