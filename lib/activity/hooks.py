"""Order placements in the activity log."""

from __future__ import annotations

from typing import Any

from db.models import Order
from lib.access.activity import ActivityType, activity_record


def order_placed_activity(order: Order, placement: Any) -> None:
    """ORDER_PLACED_HOOKS entry: one activity document per placed order, queued in the order's
    transaction (so it exists if and only if the order does). A guest's order has no user."""
    activity_record(
        user_id=order.user_id,
        activity_type=ActivityType.ORDER_PLACED,
        details={
            "order_number": order.number,
            "total": str(order.total_amount),
            "payment_method": order.payment_method,
            "device_id": getattr(placement, "device_id", "") or "",
        },
        ip=getattr(placement, "ip", None) or "",
    )
