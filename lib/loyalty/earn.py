"""Points earned on delivered orders, and taken back (or given back) when an order is
cancelled, returned or refunded. `loyalty_order_status` is an ORDER_STATUS_HOOKS entry.

Earning: the item subtotal after every discount (coupons and points redeemed alike), each
item times its category's multiplier, divided by `LOYALTY_TAKA_PER_POINT`, times the tier's
multiplier, rounded down. Reversal on a refund or return takes back what is left of the
order's earned points even if they were spent meanwhile: the balance may go below zero, so
earning, spending and returning cannot be used to get points for nothing; redemption waits
until new points cover the debt. Partial refunds take back the refunded share
(`order_points_partial_reverse`, swept by the loyalty cron, as refunds do not move the
order's status).
"""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Sum
from django.utils import timezone

from db.models import (
    CategoryPointsMultiplier,
    Order,
    OrderItem,
    OrderStatus,
    OrderStatusEvent,
    PointsEntry,
    PointsKind,
)
from lib import conf
from lib.loyalty.ledger import points_entry_add, rewards_notify
from lib.loyalty.tiers import tier_standing
from lib.money import BANGLA_DIGITS

ONE = Decimal("1")
TAKE_BACK = frozenset({OrderStatus.RETURNED, OrderStatus.REFUNDED})
GIVE_BACK = frozenset({OrderStatus.CANCELLED, OrderStatus.RETURNED, OrderStatus.REFUNDED})


def order_points_earnable(order: Order) -> int:
    """The points `order` earns when delivered (0 for a guest's order)."""
    if not order.user_id or order.subtotal <= 0:
        return 0
    items = list(
        OrderItem.objects.filter(order_id=order.pk).values_list(
            "total_price", "product__category_id"
        )
    )
    categories = {category for _, category in items}
    multipliers = dict(
        CategoryPointsMultiplier.objects.filter(category_id__in=categories).values_list(
            "category_id", "multiplier"
        )
    )
    kept_share = max(order.subtotal - order.discount_total, Decimal(0)) / order.subtotal
    base = sum(
        (price * kept_share * multipliers.get(category, ONE) for price, category in items),
        Decimal(0),
    )
    standing = tier_standing(user_id=order.user_id)
    rate = Decimal(conf.loyalty_config.taka_per_point)
    return math.floor(base / rate * standing.multiplier)


def order_points_earn(order: Order) -> PointsEntry | None:
    """Credit the delivered order's points once (`earn:order:<id>`), expiring after
    `LOYALTY_EXPIRY_DAYS`."""
    points = order_points_earnable(order)
    if points <= 0:
        return None
    expires = timezone.now() + timedelta(days=conf.loyalty_config.expiry_days)
    entry = points_entry_add(
        user_id=order.user_id,
        kind=PointsKind.EARN,
        points=points,
        reference=f"earn:order:{order.pk}",
        order_id=order.pk,
        expires_at=expires,
    )
    if entry is not None:
        points_bn = str(points).translate(BANGLA_DIGITS)
        number_bn = order.number.translate(BANGLA_DIGITS)
        rewards_notify(
            user_id=order.user_id,
            event="earned",
            dedupe_key=f"rewards-earned:{order.pk}",
            title=(f"You earned {points} points", f"আপনি {points_bn} পয়েন্ট পেয়েছেন"),
            body=(
                f"Order {order.number} was delivered: {points} points added.",
                f"অর্ডার {number_bn} পৌঁছেছে: {points_bn} পয়েন্ট যোগ হয়েছে।",
            ),
        )
    return entry


def order_points_sum(order: Order, *kinds: str) -> int:
    total = PointsEntry.objects.filter(order_id=order.pk, kind__in=kinds).aggregate(
        total=Sum("points")
    )["total"]
    return int(total or 0)


def order_points_reverse(order: Order, *, share: Decimal = ONE, reference: str = "") -> int:
    """Take back `share` of the order's earned points, less what was already taken back;
    returns the points taken (0 when nothing is left)."""
    earned = order_points_sum(order, PointsKind.EARN)
    if earned <= 0:
        return 0
    target = math.floor(earned * min(max(share, Decimal(0)), ONE))
    taken = -order_points_sum(order, PointsKind.REVERSE)
    due = target - taken
    if due <= 0:
        return 0
    entry = points_entry_add(
        user_id=order.user_id,
        kind=PointsKind.REVERSE,
        points=-due,
        reference=reference or f"reverse:order:{order.pk}",
        order_id=order.pk,
    )
    return due if entry else 0


def order_points_restore(order: Order) -> int:
    """Give back the points redeemed on the order, once (`restore:order:<id>`)."""
    redeemed = -order_points_sum(order, PointsKind.REDEEM)
    if redeemed <= 0:
        return 0
    entry = points_entry_add(
        user_id=order.user_id,
        kind=PointsKind.RESTORE,
        points=redeemed,
        reference=f"restore:order:{order.pk}",
        order_id=order.pk,
    )
    return redeemed if entry else 0


def order_points_partial_reverse(order: Order, *, refunded: Decimal) -> int:
    """A partial refund of `refunded` taka: take back that share of the earned points (the
    reference names the cumulative target, so each new refund writes only its difference)."""
    if order.total_amount <= 0 or refunded <= 0:
        return 0
    share = min(refunded / order.total_amount, ONE)
    earned = order_points_sum(order, PointsKind.EARN)
    target = math.floor(earned * share)
    return order_points_reverse(
        order, share=share, reference=f"reverse:order:{order.pk}:part:{target}"
    )


def loyalty_order_status(order: Order, event: OrderStatusEvent) -> None:
    """ORDER_STATUS_HOOKS: earn on delivery; take back earned and give back redeemed points
    when the order is cancelled, returned or refunded. Idempotent per order."""
    if not order.user_id:
        return
    status: Any = event.to_status
    if status == OrderStatus.DELIVERED:
        order_points_earn(order)
    if status in TAKE_BACK:
        order_points_reverse(order)
    if status in GIVE_BACK:
        order_points_restore(order)
