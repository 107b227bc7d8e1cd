"""What other areas do when an order is placed or changes status, inside the same transaction.

Placement (`lib.checkout.placement`) and the state machine (`lib.orders.state`) call
`order_placed_hooks_run` / `order_status_hooks_run` once the order's rows are written and before
commit, so a hook's writes (a ledger entry, a vendor's share, an outbox message) exist if and only
if the order change committed. Hooks are named by import path and imported on first use, so a
function that never places or moves an order never loads them. A hook must be idempotent per
event (a retried transition runs it again only if the first attempt rolled back).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from django.utils.module_loading import import_string

from db.models import Order, OrderStatusEvent

# hook(order, placement): `placement` is the checkout's PlaceRequest (user, codes, language...).
ORDER_PLACED_HOOKS: tuple[str, ...] = (
    "lib.vendors.fulfilment.vendor_orders_create",
    "lib.referrals.hooks.referrals_order_placed",
    "lib.activity.hooks.order_placed_activity",
)
# hook(order, event): every status change, the first one (placement) excluded.
ORDER_STATUS_HOOKS: tuple[str, ...] = (
    "lib.vendors.fulfilment.vendor_orders_follow",
    "lib.vendors.balances.vendor_ledger_follow",
    "lib.loyalty.earn.loyalty_order_status",
    "lib.referrals.hooks.referrals_order_status",
)


@cache
def hooks_load(paths: tuple[str, ...]) -> tuple[Callable[..., None], ...]:
    return tuple(import_string(path) for path in paths)


def order_placed_hooks_run(order: Order, placement: Any) -> None:
    for hook in hooks_load(ORDER_PLACED_HOOKS):
        hook(order, placement)


def order_status_hooks_run(order: Order, event: OrderStatusEvent) -> None:
    for hook in hooks_load(ORDER_STATUS_HOOKS):
        hook(order, event)
