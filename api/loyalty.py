"""Loyalty points: /api/v1/loyalty (the signed-in customer's balance, tier, history and what
points are worth at checkout). Points are spent with `redeem_points` on the checkout."""

from datetime import datetime
from decimal import Decimal

from lib.runtime import make_app

from ninja import Field, Query, Router, Schema

from lib.access.permissions import Require
from lib.loyalty import selectors
from lib.money import Money
from lib.pagination import PageParams, paginate
from lib.schemas import ErrorOut

router = Router(tags=["loyalty"])
SIGNED_IN = Require()


class LoyaltyTierOut(Schema):
    code: str
    name_en: str
    name_bn: str
    min_spend: Money = Field(..., description="Spent over 12 months to reach the tier")
    earn_multiplier: Decimal


class LoyaltyOut(Schema):
    balance: int = Field(..., description="Points; below zero when spent points were taken back")
    balance_value: Money
    point_value: Money = Field(..., description="What one point takes off an order")
    redeem_min_balance: int
    redeem_max_percent: int = Field(..., description="Of the item subtotal after discounts")
    can_redeem: bool
    expiring_soon: int = Field(..., description="Points whose credit expires within 30 days")
    spend_12_months: Money
    tier: LoyaltyTierOut | None
    next_tier: LoyaltyTierOut | None
    to_next_tier: Money = Field(..., description="Left to spend to reach `next_tier`")


class PointsEntryOut(Schema):
    id: str
    kind: str = Field(..., description="earn, redeem, restore, expire, reverse, adjust, ...")
    points: int
    order_number: str | None
    expires_at: datetime | None
    created_at: datetime

    @staticmethod
    def resolve_id(entry) -> str:
        return str(entry.pk)

    @staticmethod
    def resolve_order_number(entry) -> str | None:
        return entry.order.number if entry.order_id else None


class PointsPageOut(Schema):
    items: list[PointsEntryOut]
    count: int
    page: int
    page_size: int
    pages: int


class PointsPreviewQuery(Schema):
    points: int = Field(0, ge=0, le=10_000_000)
    subtotal: Decimal = Field(
        Decimal("0"), ge=0, max_digits=12, decimal_places=2, description="Item subtotal"
    )


class PointsPreviewOut(Schema):
    points: int
    value: Money = Field(..., description="What `points` take off an order")
    balance: int
    max_points: int = Field(..., description="The most this order may use")
    max_value: Money
    allowed: bool


@router.get("", response={200: LoyaltyOut, 401: ErrorOut}, auth=SIGNED_IN)
def loyalty_summary(request):
    """The balance, its worth, the tier (by spend on delivered orders over 12 months) and
    how far the next tier is."""
    return selectors.loyalty_summary(user_id=request.auth.user_id)


@router.get("/history", response={200: PointsPageOut, 401: ErrorOut}, auth=SIGNED_IN)
def points_history(request, query: Query[PageParams]):
    """Every movement of the customer's points, newest first."""
    return paginate(selectors.points_history(user_id=request.auth.user_id), query)


@router.get("/preview", response={200: PointsPreviewOut, 401: ErrorOut}, auth=SIGNED_IN)
def points_preview(request, query: Query[PointsPreviewQuery]):
    """What `points` would take off an order of `subtotal` (after discounts), and the most
    points such an order may use."""
    return selectors.points_preview(
        user_id=request.auth.user_id, points=query.points, subtotal=query.subtotal
    )


app = make_app("loyalty", [("/loyalty", router)], title="Zest Store loyalty")
