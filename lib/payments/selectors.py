"""Reading payments: what the shop holds for an order, and orders paid beyond their total
(two captures that both happened at the provider) that staff must refund."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import DecimalField, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from db.models import Order, PaymentEvent, PaymentEventType

ZERO = Decimal("0")


def order_kept(order: Order) -> Decimal:
    """Captured − refunded over all of the order's payments (from the events)."""
    totals = PaymentEvent.objects.filter(payment__order_id=order.pk).aggregate(
        captured=Sum("amount", filter=Q(event_type=PaymentEventType.CAPTURED)),
        refunded=Sum("amount", filter=Q(event_type=PaymentEventType.REFUNDED)),
    )
    return (totals["captured"] or ZERO) - (totals["refunded"] or ZERO)


def order_overpaid(order: Order) -> Decimal:
    """How much more than its total the shop holds for `order` (0 when none): to refund."""
    return max(order_kept(order) - order.total_amount, ZERO)


def orders_overpaid() -> QuerySet[Order]:
    """Orders holding more than their total, with `kept` and `overpaid` annotated, oldest
    first. One query."""
    money = DecimalField(max_digits=12, decimal_places=2)
    events = "payments__events"
    return (
        Order.objects.annotate(
            captured=Coalesce(
                Sum(f"{events}__amount", filter=Q(**{f"{events}__event_type": "captured"})),
                Value(ZERO),
                output_field=money,
            ),
            refunded=Coalesce(
                Sum(f"{events}__amount", filter=Q(**{f"{events}__event_type": "refunded"})),
                Value(ZERO),
                output_field=money,
            ),
        )
        .annotate(kept=F("captured") - F("refunded"))
        .annotate(overpaid=F("kept") - F("total_amount"))
        .filter(overpaid__gt=0)
        .order_by("placed_at", "id")
    )
