"""Refunds (bounded by captured − refunded, derived from events) and cash on delivery
recorded as paid by staff."""

from __future__ import annotations

import logging
import uuid
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from db.models import (
    Order,
    OrderPaymentStatus,
    OrderStatus,
    Payment,
    PaymentEvent,
    PaymentEventType,
    PaymentProvider,
    PaymentStatus,
)
from lib.conf import payment_config
from lib.errors import ApiError, Conflict
from lib.kv import get_kv
from lib.payments.base import ProviderError
from lib.payments.services import (
    CURRENCY,
    event_record,
    gateway_of,
    order_paid,
    payment_totals,
    provider_error_payload,
    provider_failed,
)

logger = logging.getLogger("zest.payments")
CENT = Decimal("0.01")


def refund_bound_check(payment: Payment, amount: Decimal) -> tuple[Decimal, Decimal]:
    captured, refunded = payment_totals(payment)
    if captured <= 0:
        raise Conflict("payment_not_refundable", fields={"payment": [payment.status]})
    if amount > captured - refunded:
        raise Conflict(
            "refund_exceeds_captured",
            fields={"amount": [str(amount)], "refundable": [str(captured - refunded)]},
        )
    return captured, refunded


def refund_lock_key(payment: Payment) -> str:
    return f"payments:refund:{payment.pk}"


def payment_refund(
    *, payment: Payment, amount: Decimal, reason: str, actor_id: str | None
) -> Payment:
    """Refund `amount` of `payment` at its provider. 409 `refund_exceeds_captured` beyond
    captured − refunded; one refund per payment at a time (a KV lock spans the provider
    call, which runs outside any transaction)."""
    amount = Decimal(amount).quantize(CENT)
    if amount <= 0:
        raise ApiError("validation_error", status=422, fields={"amount": ["must be positive"]})
    kv = get_kv()
    key, token = refund_lock_key(payment), uuid.uuid4().hex
    ttl = int(payment_config.http_timeout * 3) + 30
    if not kv.set(key, token, nx=True, ex=ttl):
        raise Conflict("refund_in_progress")
    try:
        return refund_locked(payment=payment, amount=amount, reason=reason, actor_id=actor_id)
    finally:
        kv.eval(
            "if redis.call('get', KEYS[1]) == ARGV[1] then "
            "return redis.call('del', KEYS[1]) else return 0 end",
            keys=[key],
            args=[token],
        )


def refund_locked(
    *, payment: Payment, amount: Decimal, reason: str, actor_id: str | None
) -> Payment:
    payment = Payment.objects.get(pk=payment.pk)
    refund_bound_check(payment, amount)
    capture = (
        PaymentEvent.objects.filter(payment=payment, event_type=PaymentEventType.CAPTURED)
        .order_by("created_at")
        .first()
    )
    request = {
        "provider_payment_id": payment.transaction_id,
        "transaction_id": capture.provider_reference if capture else "",
        "amount": amount,
        "reason": reason,
    }
    context = {"operation": "refund", "request": request, "actor_id": actor_id}
    if payment.provider == PaymentProvider.COD:
        refund_id, refunded_amount, raw = f"cod-refund-{uuid.uuid4().hex}", amount, {}
    else:
        try:
            result = gateway_of(payment).refund(**request)
        except ProviderError as error:
            with transaction.atomic():
                event_record(
                    payment,
                    PaymentEventType.FAILED,
                    payload=provider_error_payload(error, **context),
                )
            raise provider_failed(error) from error
        refund_id, refunded_amount, raw = result.refund_id, Decimal(result.amount), result.raw
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        event_record(
            locked,
            PaymentEventType.REFUNDED,
            reference=refund_id or f"refund-{uuid.uuid4().hex}",
            amount=refunded_amount,
            payload={**context, "response": raw},
        )
        captured, refunded = payment_totals(locked)
        full = refunded >= captured
        locked.status = PaymentStatus.REFUNDED if full else PaymentStatus.PARTIALLY_REFUNDED
        locked.save(update_fields=["status", "updated_at"])
        Order.objects.filter(pk=locked.order_id).update(
            payment_status=(
                OrderPaymentStatus.REFUNDED if full else OrderPaymentStatus.PARTIALLY_REFUNDED
            ),
            updated_at=timezone.now(),
        )
    return locked


# --- cash on delivery --------------------------------------------------------------------

COD_NOT_PAYABLE = frozenset({OrderStatus.CANCELLED, OrderStatus.RETURNED, OrderStatus.REFUNDED})


def cod_reference(order: Order) -> str:
    return f"cod-{order.number}"


def cod_mark_paid(*, order: Order, actor_id: str | None) -> Payment:
    """Staff record the cash collected for a COD order: one Payment (provider cod) with one
    captured event (keyed by the order number, so a repeat changes nothing), and the order
    moved to paid where its status allows (a delivered COD order is already marked paid by
    the state machine; only the money record is added)."""
    if order.payment_method != PaymentProvider.COD:
        raise Conflict("cod_not_applicable", fields={"payment_method": [order.payment_method]})
    with transaction.atomic():
        locked = Order.objects.select_for_update(of=("self",)).get(pk=order.pk)
        existing = Payment.objects.filter(order=locked, provider=PaymentProvider.COD).first()
        if existing is not None and existing.status != PaymentStatus.INITIATED:
            return existing
        if locked.status in COD_NOT_PAYABLE:
            raise Conflict("cod_not_applicable", fields={"status": [locked.status]})
        payment = existing or Payment.objects.create(
            order=locked,
            provider=PaymentProvider.COD,
            amount=locked.total_amount,
            currency=locked.currency or CURRENCY,
            status=PaymentStatus.CAPTURED,
        )
        event_record(
            payment,
            PaymentEventType.CAPTURED,
            reference=cod_reference(locked),
            amount=payment.amount,
            payload={"source": "staff", "actor_id": actor_id, "order_status": locked.status},
        )
        order_paid(payment, note="Cash on delivery collected", actor_id=actor_id)
    return payment
