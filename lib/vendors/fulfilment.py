"""Vendors' parts of orders (`VendorOrder`): split at placement, moved by their vendor.

- Placement (`ORDER_PLACED_HOOKS`): one `VendorOrder` per vendor with items in the order,
  with each line's commission frozen (`lib.vendors.commission`). Store-owned items stay with
  the store and get no part. The customer still sees one order.
- A vendor moves only its part, along `VENDOR_MOVES` (processing -> shipped -> out for
  delivery -> delivered). The order itself follows when every part has got at least as far
  (the slowest part sets the pace) and the order holds no store-owned items; with store
  items, staff move the order. Shipping the order takes its units off the shelf.
- Every move of the order (`ORDER_STATUS_HOOKS`) is mirrored onto its parts, except that a
  part already further along the fulfilment chain keeps its status.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from db.models import (
    Order,
    OrderItem,
    OrderStatus,
    OrderStatusEvent,
    VendorOrder,
    VendorOrderLine,
)
from lib.errors import NotFound
from lib.orders.state import (
    VENDOR_MOVES,
    forbidden_transition,
    order_transition,
    transition_allowed,
)
from lib.vendors.commission import commission_book

S = OrderStatus
FULFILMENT_RANK: dict[str, int] = {
    S.PROCESSING: 1,
    S.SHIPPED: 2,
    S.OUT_FOR_DELIVERY: 3,
    S.DELIVERED: 4,
}


def vendor_orders_create(order: Order, placement: Any = None) -> list[VendorOrder]:
    """Placement hook: split `order` into its vendors' parts (none for store-only orders).
    Fixed query count whatever the number of lines or vendors."""
    items = list(
        OrderItem.objects.filter(order_id=order.pk, vendor_id__isnull=False).values_list(
            "pk", "vendor_id", "total_price", "product__category_id"
        )
    )
    if not items or VendorOrder.objects.filter(order_id=order.pk).exists():
        return []
    book = commission_book(at=order.placed_at)
    parts: dict[Any, VendorOrder] = {}
    lines: list[VendorOrderLine] = []
    totals: dict[Any, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for item_id, vendor_id, total_price, category_id in items:
        part = parts.setdefault(
            vendor_id, VendorOrder(order_id=order.pk, vendor_id=vendor_id, status=order.status)
        )
        cut = book.commission(vendor_id=vendor_id, category_id=category_id, amount=total_price)
        lines.append(
            VendorOrderLine(
                vendor_order=part,
                order_item_id=item_id,
                rule=cut.rule,
                commission_rate=cut.rate,
                commission=cut.amount,
            )
        )
        totals[vendor_id][0] += total_price
        totals[vendor_id][1] += cut.amount
    for vendor_id, part in parts.items():
        part.subtotal, part.commission = totals[vendor_id]
        part.payout_amount = part.subtotal - part.commission
    VendorOrder.objects.bulk_create(parts.values())
    VendorOrderLine.objects.bulk_create(lines)
    return list(parts.values())


def statuses_ahead_of(status: str) -> list[str]:
    """Fulfilment statuses at or beyond `status` (none when it is not a fulfilment step)."""
    rank = FULFILMENT_RANK.get(status)
    if rank is None:
        return []
    return [s for s, r in FULFILMENT_RANK.items() if r >= rank]


def vendor_orders_follow(order: Order, event: OrderStatusEvent) -> None:
    """Status hook: the order's parts take its new status, unless already further along."""
    VendorOrder.objects.filter(order_id=order.pk).exclude(
        status__in=statuses_ahead_of(event.to_status)
    ).update(status=event.to_status, updated_at=timezone.now())


def vendor_order_transition(
    *,
    vendor_order_id: Any,
    vendor_id: str,
    to_status: str,
    actor_id: str | None = None,
    note: str = "",
) -> VendorOrder:
    """Move `vendor_id`'s part of an order (404 when it is not theirs; 409
    `transition_forbidden` off `VENDOR_MOVES`), then the order when all parts have moved."""
    order_id = (
        VendorOrder.objects.filter(pk=vendor_order_id, vendor_id=vendor_id)
        .values_list("order_id", flat=True)
        .first()
    )
    if order_id is None:
        raise NotFound(fields={"id": [str(vendor_order_id)]})
    with transaction.atomic():  # the order first, then its part: the order moves' lock order
        order = Order.objects.select_for_update(of=("self",)).get(pk=order_id)
        part = VendorOrder.objects.select_for_update().get(pk=vendor_order_id)
        if to_status not in VENDOR_MOVES.get(part.status, frozenset()):
            raise forbidden_transition(part.status, to_status)
        part.status = to_status
        part.save(update_fields=["status", "updated_at"])
        order_follow_parts(order, actor_id=actor_id, note=note)
    part.refresh_from_db()
    return part


def order_follow_parts(order: Order, *, actor_id: str | None, note: str) -> None:
    """Advance the order to where its slowest part is, step by allowed step."""
    if order.status not in FULFILMENT_RANK:
        return
    if OrderItem.objects.filter(order_id=order.pk, vendor_id__isnull=True).exists():
        return  # the store's own items: staff move the order
    statuses = list(VendorOrder.objects.filter(order_id=order.pk).values_list("status", flat=True))
    if not statuses or any(s not in FULFILMENT_RANK for s in statuses):
        return
    target = min(statuses, key=FULFILMENT_RANK.__getitem__)
    current = order.status
    while FULFILMENT_RANK[current] < FULFILMENT_RANK[target]:
        step = target if transition_allowed(current, target) else next_step(current)
        order = order_transition(order=order, to_status=step, actor_id=actor_id, note=note)
        current = order.status


def next_step(status: str) -> str:
    rank = FULFILMENT_RANK[status] + 1
    return next(s for s, r in FULFILMENT_RANK.items() if r == rank)
