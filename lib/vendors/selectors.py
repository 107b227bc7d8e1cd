"""What a vendor (or staff, for any vendor) reads: its parts of orders with only its own
lines and what shipping them needs, its ledger and payouts, and its dashboard figures.

The ANALYTICS role dashboard calls `vendor_dashboard` (and the smaller functions it is made
of). Every read is a fixed number of queries whatever the page size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from db.models import (
    OrderItem,
    OrderStatus,
    Vendor,
    VendorLedgerEntry,
    VendorMember,
    VendorOrder,
    VendorPayout,
)
from lib.errors import NotFound
from lib.vendors.balances import vendor_balance

S = OrderStatus
# Parts waiting for the vendor: paid or to be paid on delivery, not yet delivered.
TO_FULFIL = (S.PLACED, S.PAID, S.PROCESSING, S.SHIPPED, S.OUT_FOR_DELIVERY)
# What fulfilment needs of the customer's address (never their email or account).
SHIPPING_FIELDS = (
    "full_name",
    "phone",
    "address_line1",
    "address_line2",
    "area",
    "upazila",
    "district",
    "division",
    "postal_code",
)
SOLD = (S.DELIVERED,)


def vendor_orders(
    *, vendor_id: Any, status: str | None = None, number: str | None = None
) -> QuerySet:
    """The vendor's parts of orders, newest first, each with its own lines only
    (two queries a page: parts with their order, lines)."""
    lines = OrderItem.objects.filter(vendor_id=vendor_id).select_related("vendor_line")
    parts = (
        VendorOrder.objects.filter(vendor_id=vendor_id)
        .select_related("order")
        .prefetch_related(
            Prefetch(
                "order__items", queryset=lines.order_by("created_at", "id"), to_attr="own_items"
            )
        )
    )
    if status:
        parts = parts.filter(status=status)
    if number:
        parts = parts.filter(order__number=number)
    return parts.order_by("-created_at", "-id")


def vendor_order_get(*, vendor_id: Any, vendor_order_id: Any) -> VendorOrder:
    """One part of the vendor's (404 for another vendor's, as for an unknown one)."""
    part = vendor_orders(vendor_id=vendor_id).filter(pk=vendor_order_id).first()
    if part is None:
        raise NotFound(fields={"id": [str(vendor_order_id)]})
    return part


def shipping_to(part: VendorOrder) -> dict[str, str]:
    snapshot = part.order.shipping_snapshot or {}
    return {name: str(snapshot.get(name) or "") for name in SHIPPING_FIELDS}


def vendor_ledger(*, vendor_id: Any, kind: str | None = None) -> QuerySet:
    entries = VendorLedgerEntry.objects.filter(vendor_id=vendor_id).select_related(
        "vendor_order__order", "payout"
    )
    if kind:
        entries = entries.filter(kind=kind)
    return entries.order_by("-created_at", "-id")


def vendor_payouts(*, vendor_id: Any | None = None, status: str | None = None) -> QuerySet:
    payouts = VendorPayout.objects.select_related("vendor")
    if vendor_id is not None:
        payouts = payouts.filter(vendor_id=vendor_id)
    if status:
        payouts = payouts.filter(status=status)
    return payouts.order_by("-created_at", "-id")


def vendors_of_user(*, user_id: Any) -> QuerySet:
    """The vendors a user belongs to, with their role on each (`member_role`)."""
    return (
        VendorMember.objects.filter(user_id=user_id)
        .select_related("vendor")
        .order_by("vendor__name", "vendor_id")
    )


def vendor_list(*, status: str | None = None, search: str | None = None) -> QuerySet:
    vendors = Vendor.objects.all()
    if status:
        vendors = vendors.filter(status=status)
    if search:
        vendors = vendors.filter(Q(name__icontains=search) | Q(slug__icontains=search))
    return vendors.order_by("name", "id")


# --- dashboard ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VendorSales:
    orders: int
    gross: Decimal
    commission: Decimal
    net: Decimal


def vendor_sales(*, vendor_id: Any, since: datetime | None = None) -> VendorSales:
    """Delivered parts since `since` (all time when None): one query."""
    parts = VendorOrder.objects.filter(vendor_id=vendor_id, status__in=SOLD)
    if since is not None:
        parts = parts.filter(created_at__gte=since)
    totals = parts.aggregate(
        orders=Count("id"),
        gross=Sum("subtotal"),
        commission=Sum("commission"),
        net=Sum("payout_amount"),
    )
    zero = Decimal("0.00")
    return VendorSales(
        orders=totals["orders"],
        gross=totals["gross"] or zero,
        commission=totals["commission"] or zero,
        net=totals["net"] or zero,
    )


def vendor_orders_to_fulfil(*, vendor_id: Any) -> dict[str, int]:
    """How many of the vendor's parts wait in each not-yet-delivered status: one query."""
    rows = (
        VendorOrder.objects.filter(vendor_id=vendor_id, status__in=TO_FULFIL)
        .values_list("status")
        .annotate(n=Count("id"))
    )
    counts = dict.fromkeys(TO_FULFIL, 0)
    counts.update({str(status): n for status, n in rows})
    return counts


def vendor_low_stock_count(*, vendor_id: Any) -> int:
    """Items of the vendor at or below their low-stock threshold: one query."""
    from lib.inventory_alerts import low_stock_items

    return low_stock_items(vendor_ids=(str(vendor_id),)).count()


def vendor_dashboard(*, vendor_id: Any, days: int = 30) -> dict[str, Any]:
    """Sales of the last `days` days and all time, parts to fulfil, low stock and balance:
    five queries."""
    since = timezone.now() - timedelta(days=days)
    return {
        "vendor_id": str(vendor_id),
        "days": days,
        "recent": vendor_sales(vendor_id=vendor_id, since=since),
        "all_time": vendor_sales(vendor_id=vendor_id),
        "to_fulfil": vendor_orders_to_fulfil(vendor_id=vendor_id),
        "low_stock": vendor_low_stock_count(vendor_id=vendor_id),
        "balance": vendor_balance(vendor_id),
    }
