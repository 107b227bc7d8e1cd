"""Role dashboards: the widgets each role may see, each answered in a fixed number of queries.

    admin         sales today and last 7 days, orders to process, low stock, fraud reviews,
                  failed notifications, the chat queue, pending vendor applications
    staff         orders to process, low stock, fraud reviews
    support       the chat queue, recent orders needing attention
    vendor_owner  their sales, their orders to fulfil, their low stock, their balance
    vendor_staff  their orders to fulfil and low stock (no money)

Widgets built on another area (the chat queue, vendor balances, vendor applications) are
answered when that area is installed and left out (None) otherwise.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.apps import apps
from django.db.models import Count, Exists, OuterRef, Q

from db.models import (
    ZERO,
    Order,
    OrderItem,
    OrderPaymentStatus,
    OrderStatus,
    OutboxMessage,
    OutboxStatus,
    UserRole,
    Vendor,
    VendorStatus,
)
from lib.access.context import AccessClaims
from lib.analytics.rollups import dhaka_today
from lib.analytics.selectors import daily_figures, low_stock, period_resolve
from lib.errors import ApiError

# Confirmed orders the store has not started on yet.
TO_PROCESS = (OrderStatus.PLACED, OrderStatus.PAID)
# A vendor's orders not shipped yet (their items still to pack and hand over).
TO_FULFIL = (OrderStatus.PLACED, OrderStatus.PAID, OrderStatus.PROCESSING)
LOW_STOCK_ITEMS = 5
ATTENTION_ORDERS = 10
SALES_DAYS = 7

ROLE_WIDGETS: dict[str, tuple[str, ...]] = {
    UserRole.ADMIN: (
        "sales",
        "orders_to_process",
        "low_stock",
        "fraud_reviews_pending",
        "failed_notifications",
        "chat_queue",
        "vendor_applications_pending",
    ),
    UserRole.STAFF: ("orders_to_process", "low_stock", "fraud_reviews_pending"),
    UserRole.SUPPORT: ("chat_queue", "orders_needing_attention"),
    UserRole.VENDOR_OWNER: ("sales", "orders_to_fulfil", "low_stock", "balance"),
    UserRole.VENDOR_STAFF: ("orders_to_fulfil", "low_stock"),
}
VENDOR_ROLES = frozenset({UserRole.VENDOR_OWNER, UserRole.VENDOR_STAFF})


def contract(module: str, name: str) -> Callable[..., Any] | None:
    """Another area's published function, when that area is installed."""
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def dashboard_get(claims: AccessClaims) -> dict[str, Any]:
    """The caller's role and the widgets it may see (403 for customers)."""
    widgets = ROLE_WIDGETS.get(claims.role)
    if widgets is None:
        raise ApiError("forbidden", status=403, fields={"role": [claims.role]})
    vendor_ids = tuple(claims.vendor_ids) if claims.role in VENDOR_ROLES else None
    answer: dict[str, Any] = {"role": claims.role, "vendor_ids": list(vendor_ids or ())}
    if "sales" in widgets:
        answer.update(sales_widgets(vendor_ids))
    if "orders_to_process" in widgets or "fraud_reviews_pending" in widgets:
        counts = order_counts()
        if "orders_to_process" in widgets:
            answer["orders_to_process"] = counts["to_process"]
        if "fraud_reviews_pending" in widgets:
            answer["fraud_reviews_pending"] = counts["on_hold"]
    if "orders_to_fulfil" in widgets:
        answer["orders_to_fulfil"] = orders_to_fulfil(vendor_ids or ())
    if "low_stock" in widgets:
        answer["low_stock"] = low_stock_widget(vendor_ids)
    if "failed_notifications" in widgets:
        answer["failed_notifications"] = failed_notifications()
    if "chat_queue" in widgets:
        answer["chat_queue"] = chat_queue()
    if "vendor_applications_pending" in widgets:
        answer["vendor_applications_pending"] = vendor_applications_pending()
    if "orders_needing_attention" in widgets:
        answer["orders_needing_attention"] = orders_needing_attention()
    if "balance" in widgets:
        answer["balance"] = vendor_balances(vendor_ids or ())
    return answer


def sales_widgets(vendor_ids: tuple[str, ...] | None) -> dict[str, Any]:
    """Sales of today and of the last 7 days (today included), from one period's figures."""
    today = dhaka_today()
    period = period_resolve(today - timedelta(days=SALES_DAYS - 1), today)
    by_day = daily_figures(period, vendor_ids)
    week = [by_day[day] for day in by_day]
    return {
        "sales_today": sales_widget([by_day[today]] if today in by_day else []),
        "sales_7d": sales_widget(week),
    }


def sales_widget(days: list[Any]) -> dict[str, Any]:
    orders = sum(day.orders for day in days)
    revenue = sum((day.revenue for day in days), ZERO)
    return {
        "orders": orders,
        "units": sum(day.units for day in days),
        "revenue": revenue,
        "average_order_value": (revenue / orders) if orders else ZERO,
    }


def order_counts() -> dict[str, int]:
    """Orders to process and orders held for a fraud review (one query)."""
    return Order.objects.aggregate(
        to_process=Count("pk", filter=Q(status__in=TO_PROCESS)),
        on_hold=Count("pk", filter=Q(status=OrderStatus.ON_HOLD)),
    )


def orders_to_fulfil(vendor_ids: tuple[str, ...]) -> int:
    lines = OrderItem.objects.filter(order_id=OuterRef("pk"), vendor_id__in=vendor_ids)
    return Order.objects.filter(Exists(lines), status__in=TO_FULFIL).count()


def low_stock_widget(vendor_ids: tuple[str, ...] | None) -> dict[str, Any]:
    """How many items are low (one query) and the emptiest few (one query)."""
    from lib.inventory_alerts import low_stock_items

    return {
        "count": low_stock_items(vendor_ids=vendor_ids).count(),
        "items": low_stock(vendor_ids=vendor_ids, limit=LOW_STOCK_ITEMS),
    }


def failed_notifications() -> int:
    """Outgoing messages (emails, SMS, pushes) the outbox gave up on."""
    return OutboxMessage.objects.filter(status=OutboxStatus.FAILED).count()


def chat_queue() -> dict[str, int] | None:
    summary = contract("lib.chat.selectors", "chat_queue_summary")
    return summary() if summary is not None else None


def vendor_applications_pending() -> int:
    """Applications waiting for a review; vendors pending approval where applications are
    not installed."""
    try:
        application = apps.get_model("db", "VendorApplication")
    except LookupError:
        return Vendor.objects.filter(status=VendorStatus.PENDING).count()
    return application.objects.filter(status="pending").count()


def orders_needing_attention() -> list[Order]:
    """The latest orders held for review or whose payment failed."""
    attention = Q(status=OrderStatus.ON_HOLD) | Q(
        payment_status=OrderPaymentStatus.FAILED,
        status__in=(OrderStatus.AWAITING_PAYMENT, OrderStatus.PLACED),
    )
    return list(Order.objects.filter(attention).order_by("-placed_at", "-id")[:ATTENTION_ORDERS])


def vendor_balances(vendor_ids: tuple[str, ...]) -> Any:
    """What the store owes the caller's vendors now (one query per vendor)."""
    balance = contract("lib.vendors.balances", "vendor_balance")
    if balance is None:
        return None
    return sum((balance(vendor_id) for vendor_id in vendor_ids), ZERO)
