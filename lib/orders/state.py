"""The order state machine: which status may follow which, who may move an order, and
`order_transition`, the one place a status changes (event, stock, payment, notification).

Stock follows the status: cancelling (or refunding in full) an order that has not shipped gives
its allocated units back (`order_stock_release`); shipping takes them off the shelf for good
(`order_stock_ship`). Goods that come back after shipping are inspected and restocked with a
stock adjustment.
"""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest

from db.models import (
    Order,
    OrderItem,
    OrderPaymentStatus,
    OrderStatus,
    OrderStatusEvent,
    PaymentProvider,
)
from lib.access.context import AccessClaims
from lib.access.permissions import has_permission, vendor_access_check
from lib.errors import ApiError, Conflict
from lib.orders.hooks import order_status_hooks_run
from lib.orders.notifications import order_notify
from lib.orders.stock import order_stock_release, order_stock_ship

S = OrderStatus

TRANSITIONS: dict[str, frozenset[str]] = {
    S.PLACED: frozenset({S.PROCESSING, S.CANCELLED, S.ON_HOLD}),
    S.AWAITING_PAYMENT: frozenset({S.PAID, S.CANCELLED, S.ON_HOLD}),
    # The outcome of a staff review: back to where the order would have started, or cancelled.
    S.ON_HOLD: frozenset({S.PLACED, S.AWAITING_PAYMENT, S.CANCELLED}),
    S.PAID: frozenset({S.PROCESSING, S.REFUNDED, S.CANCELLED}),
    S.PROCESSING: frozenset({S.SHIPPED, S.CANCELLED}),
    S.SHIPPED: frozenset({S.OUT_FOR_DELIVERY, S.DELIVERED, S.RETURNED}),
    S.OUT_FOR_DELIVERY: frozenset({S.DELIVERED, S.RETURNED}),
    S.DELIVERED: frozenset({S.RETURNED, S.REFUNDED}),
    S.RETURNED: frozenset({S.REFUNDED}),
    S.CANCELLED: frozenset(),
    S.REFUNDED: frozenset(),
}
# Statuses whose units are allocated but still on the shelf.
NOT_SHIPPED = frozenset({S.PLACED, S.AWAITING_PAYMENT, S.ON_HOLD, S.PAID, S.PROCESSING})
# A customer may cancel their own order until it ships.
CUSTOMER_CANCELLABLE = NOT_SHIPPED
# The owning vendor handles fulfilment: processing -> shipped -> out for delivery -> delivered.
VENDOR_MOVES: dict[str, frozenset[str]] = {
    S.PROCESSING: frozenset({S.SHIPPED}),
    S.SHIPPED: frozenset({S.OUT_FOR_DELIVERY, S.DELIVERED}),
    S.OUT_FOR_DELIVERY: frozenset({S.DELIVERED}),
}
MANAGE_PERMISSION = "orders:manage"
VENDOR_PERMISSION = "vendor:orders"

# Shown to customers: (English, Bangla)
STATUS_LABELS: dict[str, tuple[str, str]] = {
    S.PLACED: ("Order placed", "অর্ডার করা হয়েছে"),
    S.AWAITING_PAYMENT: ("Awaiting payment", "পেমেন্টের অপেক্ষায়"),
    S.ON_HOLD: ("On hold for review", "যাচাইয়ের জন্য স্থগিত"),
    S.PAID: ("Paid", "পরিশোধিত"),
    S.PROCESSING: ("Processing", "প্রস্তুত করা হচ্ছে"),
    S.SHIPPED: ("Shipped", "পাঠানো হয়েছে"),
    S.OUT_FOR_DELIVERY: ("Out for delivery", "ডেলিভারির পথে"),
    S.DELIVERED: ("Delivered", "পৌঁছে দেওয়া হয়েছে"),
    S.CANCELLED: ("Cancelled", "বাতিল করা হয়েছে"),
    S.RETURNED: ("Returned", "ফেরত এসেছে"),
    S.REFUNDED: ("Refunded", "টাকা ফেরত দেওয়া হয়েছে"),
}


def status_label(status: str, language: str) -> str:
    english, bangla = STATUS_LABELS.get(status, (status, status))
    return bangla if language == "bn" else english


def transition_allowed(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())


def forbidden_transition(from_status: str, to_status: str) -> Conflict:
    return Conflict(
        "transition_forbidden", fields={"from_status": [from_status], "to_status": [to_status]}
    )


def payment_status_after(order: Order, to_status: str) -> str:
    if to_status == S.PAID:
        return OrderPaymentStatus.PAID
    if to_status == S.REFUNDED:
        return OrderPaymentStatus.REFUNDED
    if to_status == S.DELIVERED and order.payment_method == PaymentProvider.COD:
        return OrderPaymentStatus.PAID  # cash collected on delivery
    return order.payment_status


def order_transition(
    *,
    order: Order,
    to_status: str,
    actor_id: str | None = None,
    note: str = "",
    notify: bool = True,
) -> Order:
    """Move `order` to `to_status` (409 `transition_forbidden` unless allowed), with its
    stock, payment status, status event and customer notification, in one transaction.
    Returns the locked, updated order."""
    with transaction.atomic():
        locked = (
            Order.objects.select_for_update(of=("self",)).select_related("user").get(pk=order.pk)
        )
        from_status = locked.status
        if not transition_allowed(from_status, to_status):
            raise forbidden_transition(from_status, to_status)
        if to_status in (S.CANCELLED, S.RETURNED, S.REFUNDED) and from_status in NOT_SHIPPED:
            order_stock_release(order=locked)
        elif to_status == S.SHIPPED:
            order_stock_ship(order=locked, actor_id=actor_id)
        locked.status = to_status
        locked.payment_status = payment_status_after(locked, to_status)
        locked.save(update_fields=["status", "payment_status", "updated_at"])
        event = OrderStatusEvent.objects.create(
            order=locked, from_status=from_status, to_status=to_status, note=note, actor_id=actor_id
        )
        order_status_hooks_run(locked, event)
        if notify:
            order_notify(locked, event)
    order.status, order.payment_status = locked.status, locked.payment_status
    return locked


# --- who may move an order ---------------------------------------------------------------


def order_vendor_id(order: Order) -> str | None:
    """The one vendor all of the order's items belong to; None for mixed or store items."""
    rows = OrderItem.objects.filter(order_id=order.pk).values_list("vendor_id", flat=True)
    vendors = {str(vendor) if vendor else None for vendor in rows}
    return vendors.pop() if len(vendors) == 1 else None


def order_transition_authorize(
    request: HttpRequest, *, claims: AccessClaims, order: Order, to_status: str
) -> None:
    """403 unless the caller may make this move: staff any allowed one (checked by
    `order_transition`), the owning vendor's members the fulfilment steps only."""
    if has_permission(claims.role, MANAGE_PERMISSION):
        return
    if has_permission(claims.role, VENDOR_PERMISSION):
        vendor_id = order_vendor_id(order)
        if vendor_id is None:
            raise ApiError("forbidden", status=403, fields={"vendor": ["order has several"]})
        vendor_access_check(request, vendor_id)
        if to_status in VENDOR_MOVES.get(order.status, frozenset()):
            return
        if not transition_allowed(order.status, to_status):
            raise forbidden_transition(order.status, to_status)
    raise ApiError("forbidden", status=403, fields={"permissions": [MANAGE_PERMISSION]})
