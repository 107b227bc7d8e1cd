"""What we ask a courier to carry, built from an order: `parcel_from_order`."""

from __future__ import annotations

import re
from decimal import Decimal

from db.models import Order, OrderItem, OrderPaymentStatus, PaymentProvider
from lib.conf import courier_config
from lib.couriers.base import Parcel

ZERO = Decimal("0.00")
# A weight variation's value: "500g", "1.5 kg", "250 gm", "২ কেজি" is not parsed (unknown).
WEIGHT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(kg|kgs|g|gm|gms|gram|grams)\s*$", re.IGNORECASE)


def weight_grams_of(value: str) -> int | None:
    """Grams from a weight variation's value ("500g", "1.5 kg"); None when unreadable."""
    match = WEIGHT.match(value or "")
    if match is None:
        return None
    number, unit = Decimal(match.group(1)), match.group(2).lower()
    grams = number * 1000 if unit.startswith("kg") else number
    return int(grams) if grams > 0 else None


def parcel_weight_grams(items: list[OrderItem]) -> int:
    """The lines' weights where a weight variation tells it, else COURIER_DEFAULT_WEIGHT_GRAMS."""
    known = 0
    for item in items:
        variation = item.variation
        if variation is not None and variation.variation_type == "weight":
            grams = weight_grams_of(variation.variation_value_en)
            if grams is not None:
                known += grams * item.quantity
    return known or courier_config.default_weight_grams


def local_phone(raw: str) -> str:
    """`+8801712345678` (or `8801…`) as the 11 digits couriers want: `01712345678`."""
    digits = re.sub(r"\D", "", raw or "")
    if digits.startswith("880"):
        digits = digits[2:]
    return digits


def cod_amount_of(order: Order) -> Decimal:
    """Cash the courier collects: the total of a COD order not paid yet, else nothing."""
    if order.payment_method == PaymentProvider.COD and order.payment_status in (
        OrderPaymentStatus.UNPAID,
        OrderPaymentStatus.PENDING,
    ):
        return order.total_amount
    return ZERO


def address_line(snapshot: dict) -> str:
    parts = [
        snapshot.get("address_line1"),
        snapshot.get("address_line2"),
        snapshot.get("area"),
        snapshot.get("upazila"),
        snapshot.get("district"),
        snapshot.get("postal_code"),
    ]
    seen: list[str] = []
    for part in parts:
        text = " ".join(str(part or "").split())
        if text and text not in seen:
            seen.append(text)
    return ", ".join(seen)


def parcel_from_order(order: Order) -> Parcel:
    """The parcel for `order`, from its shipping snapshot and lines (one query for the lines
    with their variations)."""
    snapshot = order.shipping_snapshot or {}
    items = list(
        OrderItem.objects.filter(order_id=order.pk).select_related("variation").order_by("id")
    )
    names = ", ".join(f"{item.quantity} x {item.product_name}" for item in items)
    user = order.user if order.user_id else None
    phone = snapshot.get("phone") or order.guest_phone or (user.phone if user else "")
    return Parcel(
        merchant_order_id=order.number,
        recipient_name=str(snapshot.get("full_name") or (user.full_name if user else "")),
        recipient_phone=local_phone(str(phone or "")),
        recipient_address=address_line(snapshot),
        district=str(snapshot.get("district") or snapshot.get("city") or ""),
        area=str(snapshot.get("upazila") or snapshot.get("area") or ""),
        cod_amount=cod_amount_of(order),
        declared_value=order.total_amount,
        weight_grams=parcel_weight_grams(items),
        item_count=sum(item.quantity for item in items) or 1,
        description=names[:250],
        note=str(snapshot.get("delivery_note") or "")[:250],
    )
