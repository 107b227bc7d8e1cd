"""Order hooks of referrals and affiliates (listed in lib/orders/hooks.py); both idempotent."""

from __future__ import annotations

from typing import Any

from db.models import Order, OrderStatus, OrderStatusEvent
from lib.referrals.affiliates import affiliate_attribute, commission_accrue, commission_reverse
from lib.referrals.services import referral_at_checkout

TAKE_BACK = frozenset({OrderStatus.RETURNED, OrderStatus.REFUNDED})


def referrals_order_placed(order: Order, placement: Any) -> None:
    """ORDER_PLACED_HOOKS: the `ref` code given at checkout attributes the order to its
    affiliate, or (not an affiliate's) records the signed-in newcomer's referral."""
    code = (getattr(placement, "ref", "") or "").strip()
    if not code:
        return
    if affiliate_attribute(order=order, code=code, seen_at=getattr(placement, "ref_seen_at", None)):
        return
    referral_at_checkout(order=order, code=code)


def referrals_order_status(order: Order, event: OrderStatusEvent) -> None:
    """ORDER_STATUS_HOOKS: delivered credits the referral and accrues the commission;
    refunded or returned reverses an unpaid commission."""
    from lib.referrals.services import referral_credit

    if event.to_status == OrderStatus.DELIVERED:
        referral_credit(order)
        commission_accrue(order)
    elif event.to_status in TAKE_BACK:
        commission_reverse(order)
