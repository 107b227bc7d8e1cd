"""Staff review of orders held by fraud screening: approve (back to where the order would have
started) or reject (cancelled, stock released). Every decision is a new FraudReview row; rows
are never edited."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from db.models import FraudDecision, FraudReview, Order, OrderStatus, PaymentProvider
from lib.conf import checkout_config
from lib.errors import Conflict, NotFound
from lib.orders.state import order_transition


def fraud_held_orders() -> QuerySet[Order]:
    """Orders waiting for a decision, oldest first, with their reviews."""
    reviews = FraudReview.objects.select_related("decided_by").order_by("created_at")
    return (
        Order.objects.filter(status=OrderStatus.ON_HOLD)
        .select_related("user")
        .prefetch_related(Prefetch("fraud_reviews", queryset=reviews))
        .order_by("placed_at", "id")
    )


def fraud_order_get(number: str) -> Order:
    reviews = FraudReview.objects.select_related("decided_by").order_by("created_at")
    order = (
        Order.objects.select_related("user")
        .prefetch_related(Prefetch("fraud_reviews", queryset=reviews))
        .filter(number=number)
        .first()
    )
    if order is None:
        raise NotFound()
    return order


def approved_status(order: Order) -> str:
    """Cash on delivery goes to `placed`; a wallet or card order to `awaiting_payment`."""
    if order.payment_method == PaymentProvider.COD:
        return OrderStatus.PLACED
    return OrderStatus.AWAITING_PAYMENT


def _decide(*, number: str, decision: str, actor_id: str, note: str) -> Order:
    with transaction.atomic():
        order = Order.objects.select_for_update().filter(number=number).first()
        if order is None:
            raise NotFound()
        if order.status != OrderStatus.ON_HOLD:
            raise Conflict("fraud_not_on_hold", fields={"status": [order.status]})
        if decision == FraudDecision.APPROVED:
            to_status = approved_status(order)
        else:
            to_status = OrderStatus.CANCELLED
        order = order_transition(order=order, to_status=to_status, actor_id=actor_id, note=note)
        if to_status == OrderStatus.AWAITING_PAYMENT:
            # The customer gets the full payment window from the approval, not from placement
            # (a held order has no deadline; the payment timeout job needs one).
            window = timedelta(minutes=checkout_config.payment_timeout_minutes)
            order.payment_due_at = timezone.now() + window
            order.save(update_fields=["payment_due_at", "updated_at"])
        FraudReview.objects.create(
            order=order,
            score=order.fraud_score,
            reasons=list(order.fraud_reasons or []),
            decision=decision,
            decided_by_id=actor_id,
            note=note,
        )
    return fraud_order_get(number)


def fraud_approve(*, number: str, actor_id: str, note: str = "") -> Order:
    return _decide(number=number, decision=FraudDecision.APPROVED, actor_id=actor_id, note=note)


def fraud_reject(*, number: str, actor_id: str, note: str = "") -> Order:
    return _decide(number=number, decision=FraudDecision.REJECTED, actor_id=actor_id, note=note)
