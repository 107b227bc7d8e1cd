"""Reading orders: a customer's own, guest tracking by number and phone, and the staff and
vendor list. Each read is a fixed number of queries whatever the page size."""

from __future__ import annotations

import hmac
from datetime import date
from typing import Any

from django.db.models import Count, Exists, OuterRef, Prefetch, QuerySet

from db.models import Order, OrderItem, OrderStatusEvent
from lib.access.services import phone_normalize
from lib.couriers.selectors import tracking_out, with_tracking
from lib.errors import NotFound
from lib.i18n import Language
from lib.money import money
from lib.orders.state import status_label
from lib.pagination import PageParams, paginate

MONEY_FIELDS = ("subtotal", "discount_total", "shipping_total", "cod_fee", "total_amount")
# Compared against when no order matches, so a miss costs about what a hit does.
DUMMY_PHONE = "+8801000000000"


def orders_with_counts(queryset: QuerySet) -> QuerySet:
    return queryset.annotate(item_count=Count("items")).order_by("-placed_at", "-id")


def order_status_fields(order: Order, language: Language) -> dict[str, Any]:
    """Number, status, payment and total: what every short view of an order starts with."""
    return {
        "number": order.number,
        "status": order.status,
        "status_label": status_label(order.status, language),
        "payment_method": order.payment_method,
        "payment_status": order.payment_status,
        "total": money(order.total_amount, language),
    }


def order_summary(order: Order, language: Language) -> dict[str, Any]:
    return {
        **order_status_fields(order, language),
        "item_count": getattr(order, "item_count", 0),
        "placed_at": order.placed_at,
    }


def order_timeline(order: Order, language: Language) -> list[dict[str, Any]]:
    """The status history, oldest first, starting with the placement itself."""
    events: list[OrderStatusEvent] = list(order.status_events.all())
    # Placement may have recorded its own event (from nothing); otherwise start from the
    # status the first change left, or the current one, at the time of placement.
    placement_recorded = bool(events) and not events[0].from_status
    first = events[0].from_status if events else order.status
    timeline = []
    if not placement_recorded:
        timeline.append(
            {
                "status": first,
                "label": status_label(first, language),
                "note": "",
                "at": order.placed_at,
            }
        )
    timeline += [
        {
            "status": event.to_status,
            "label": status_label(event.to_status, language),
            "note": event.note,
            "at": event.created_at,
        }
        for event in events
    ]
    return timeline


def order_detail(order: Order, language: Language, *, address: bool = True) -> dict[str, Any]:
    """An order with its items and tracking timeline (items and events prefetched)."""
    detail = order_summary(order, language)
    detail.update({name: money(getattr(order, name), language) for name in MONEY_FIELDS})
    detail["item_count"] = sum(item.quantity for item in order.items.all())
    detail["items"] = [
        {
            "product_id": item.product_id,
            "variation_id": item.variation_id,
            "vendor_id": item.vendor_id,
            "name": (item.product_name_bn or item.product_name)
            if language == "bn"
            else item.product_name,
            "sku": item.sku,
            "quantity": item.quantity,
            "unit_price": money(item.unit_price, language),
            "total_price": money(item.total_price, language),
        }
        for item in order.items.all()
    ]
    detail["timeline"] = order_timeline(order, language)
    detail["delivery_estimate"] = order.delivery_estimate or {}
    detail["shipping_address"] = (order.shipping_snapshot or {}) if address else {}
    detail["tracking"] = tracking_out(order)
    return detail


def with_lines(queryset: QuerySet, *, vendor_ids: tuple[str, ...] | None = None) -> QuerySet:
    items = OrderItem.objects.order_by("created_at", "id")
    if vendor_ids is not None:
        items = items.filter(vendor_id__in=vendor_ids)
    return with_tracking(
        queryset.prefetch_related(Prefetch("items", queryset=items), Prefetch("status_events"))
    )


# --- customers ---------------------------------------------------------------------------


def customer_orders(*, user_id: str, params: PageParams, language: Language) -> dict[str, Any]:
    page = paginate(orders_with_counts(Order.objects.filter(user_id=user_id)), params)
    page["items"] = [order_summary(order, language) for order in page["items"]]
    return page


def customer_order(*, user_id: str, number: str) -> Order:
    """The caller's own order with its lines; 404 for anyone else's."""
    order = with_lines(Order.objects.filter(user_id=user_id, number=number)).first()
    if order is None:
        raise NotFound()
    return order


def order_phones(order: Order) -> list[str]:
    snapshot = order.shipping_snapshot or {}
    user_phone = order.user.phone if order.user_id and order.user else ""
    phones = [order.guest_phone, snapshot.get("phone", ""), user_phone]
    return [phone for phone in phones if isinstance(phone, str) and phone]


def order_track(*, number: str, phone: str) -> Order:
    """An order found by its number and the phone it was placed with; 404 for any mismatch,
    whether or not the number exists."""
    try:
        wanted = phone_normalize(phone)
    except ValueError:
        wanted = ""
    order = with_lines(Order.objects.select_related("user").filter(number=number)).first()
    candidates = order_phones(order) if order is not None else [DUMMY_PHONE]
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(candidate.encode(), (wanted or "-").encode())
    if order is None or not wanted or not matched:
        raise NotFound()
    return order


# --- staff and vendors -------------------------------------------------------------------


def of_vendors(queryset: QuerySet, vendor_ids: tuple[str, ...] | None) -> QuerySet:
    """Orders with at least one item of `vendor_ids` (every order when None)."""
    if vendor_ids is None:
        return queryset
    lines = OrderItem.objects.filter(order_id=OuterRef("pk"), vendor_id__in=vendor_ids)
    return queryset.filter(Exists(lines))


def admin_orders(
    *,
    vendor_ids: tuple[str, ...] | None,
    params: PageParams,
    language: Language,
    status: str | None = None,
    vendor: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> dict[str, Any]:
    queryset = of_vendors(Order.objects.select_related("user"), vendor_ids)
    if vendor is not None:
        queryset = of_vendors(queryset, (vendor,))
    if status:
        queryset = queryset.filter(status=status)
    if date_from is not None:
        queryset = queryset.filter(placed_at__date__gte=date_from)
    if date_to is not None:
        queryset = queryset.filter(placed_at__date__lte=date_to)
    page = paginate(orders_with_counts(queryset), params)
    page["items"] = [
        {
            **order_summary(order, language),
            "customer_email": (order.user.email or "") if order.user else order.guest_email,
            "fraud_score": order.fraud_score,
        }
        for order in page["items"]
    ]
    return page


def admin_order(*, number: str, vendor_ids: tuple[str, ...] | None) -> Order:
    """One order for staff (any) or a vendor (only one with its items, only those items)."""
    queryset = of_vendors(Order.objects.select_related("user"), vendor_ids)
    order = with_lines(queryset.filter(number=number), vendor_ids=vendor_ids).first()
    if order is None:
        raise NotFound()
    return order
