"""Refunds and cash on delivery recorded as paid by staff.

A refund staff ask for is stored (`Refund`, with its Idempotency-Key) before the provider is
called, and the money moves in our books only with a `refunded` event once the provider
confirms it. An answer that never came (timeout) or only accepted the request leaves the refund
`pending`: its provider is asked (`Gateway.refund_status`) before anything else is sent for that
payment, so a refund is never sent twice. A refusal is recorded and answered 409, and the next
request may try again. Refunds are bounded by captured − refunded − pending (from the events).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum
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
    Refund,
    RefundStatus,
)
from lib import conf
from lib.errors import ApiError, Conflict
from lib.orders.state import order_transition, transition_allowed
from lib.payments.base import ProviderError, RefundQuery
from lib.payments.selectors import order_kept
from lib.payments.services import (
    CURRENCY,
    event_record,
    gateway_of,
    order_paid,
    payment_totals,
    provider_error_payload,
)

logger = logging.getLogger("zest.payments")
CENT = Decimal("0.01")
OPEN_REFUNDS = (RefundStatus.REQUESTED, RefundStatus.PENDING)


@dataclass(frozen=True, slots=True)
class RefundOutcome:
    payment: Payment
    refund: Refund


def refund_bound_check(payment: Payment, amount: Decimal) -> None:
    """409 unless `amount` fits in captured − refunded − what is pending (the payment's row
    is locked by the caller)."""
    captured, refunded = payment_totals(payment)
    if captured <= 0:
        raise Conflict("payment_not_refundable", fields={"payment": [payment.status]})
    pending = Refund.objects.filter(payment=payment, status__in=OPEN_REFUNDS).aggregate(
        total=Sum("amount")
    )["total"] or Decimal("0")
    refundable = captured - refunded - pending
    if amount > refundable:
        raise Conflict(
            "refund_exceeds_captured",
            fields={"amount": [str(amount)], "refundable": [str(refundable)]},
        )


def payment_refund(
    *,
    payment: Payment,
    amount: Decimal,
    reason: str,
    actor_id: str | None,
    idempotency_key: str,
) -> RefundOutcome:
    """Refund `amount` of `payment` at its provider, once per Idempotency-Key: a repeat
    answers the same refund (asking the provider if it is still pending), never a second one.
    While another refund of the payment is pending at the provider, 409 `refund_pending`."""
    amount = Decimal(amount).quantize(CENT)
    if amount <= 0:
        raise ApiError("validation_error", status=422, fields={"amount": ["must be positive"]})
    existing = Refund.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return refund_replay(existing, payment=payment, amount=amount)
    for open_refund in Refund.objects.filter(payment=payment, status__in=OPEN_REFUNDS):
        if refund_check(open_refund).status in OPEN_REFUNDS:
            raise Conflict("refund_pending", fields={"refund": [str(open_refund.pk)]})
    try:
        refund = refund_request_store(
            payment=payment, amount=amount, reason=reason, actor_id=actor_id, key=idempotency_key
        )
    except IntegrityError:  # the same key, or another refund of the payment, just now
        existing = Refund.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None:
            raise Conflict("refund_in_progress") from None
        return refund_replay(existing, payment=payment, amount=amount)
    return refund_outcome(refund_send(refund))


def refund_replay(refund: Refund, *, payment: Payment, amount: Decimal) -> RefundOutcome:
    if refund.payment_id != payment.pk or refund.amount != amount:
        raise Conflict("idempotency_key_reused", fields={"Idempotency-Key": []})
    if refund.status in OPEN_REFUNDS:
        refund = refund_check(refund)
    return refund_outcome(refund)


def refund_outcome(refund: Refund) -> RefundOutcome:
    """Refunded or still pending: the outcome; failed (refused, or never received by the
    provider): 409 `refund_failed`, nothing was refunded and a new request may be sent."""
    if refund.status == RefundStatus.FAILED:
        raise Conflict("refund_failed", fields={"refund": [str(refund.pk)]})
    return RefundOutcome(Payment.objects.get(pk=refund.payment_id), refund)


def refund_resolve(
    *, refund: Refund, outcome: str, note: str, actor_id: str | None
) -> RefundOutcome:
    """Staff settle a pending refund its provider cannot tell us about (SSLCommerz without the
    refund's id, an unreachable provider) after checking the provider's merchant panel:
    `refunded` or `failed`. The provider is asked once more first; 409 `refund_not_pending`
    when it is settled, `refund_in_progress` while its own provider call is under way."""
    refund = refund_check(refund)
    if refund.status == RefundStatus.REQUESTED:
        raise Conflict("refund_in_progress")
    if refund.status != RefundStatus.PENDING:
        raise Conflict("refund_not_pending", fields={"status": [refund.status]})
    payload = {"operation": "refund_resolve", "source": "staff", "actor_id": actor_id}
    payload["note"] = note
    if outcome == RefundStatus.REFUNDED:
        refund = refund_confirm(refund, f"staff-{refund.pk}", payload=payload)
    else:
        refund = refund_fail(refund, payload=payload)
    return RefundOutcome(Payment.objects.get(pk=refund.payment_id), refund)


def refund_request_store(
    *, payment: Payment, amount: Decimal, reason: str, actor_id: str | None, key: str
) -> Refund:
    """The request, stored before the provider hears of it (payment row locked)."""
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        refund_bound_check(locked, amount)
        return Refund.objects.create(
            payment=locked,
            amount=amount,
            reason=reason[:255],
            idempotency_key=key,
            actor_id=actor_id,
            status=RefundStatus.REQUESTED,
        )


def refund_capture_reference(payment: Payment) -> str:
    capture = (
        PaymentEvent.objects.filter(payment=payment, event_type=PaymentEventType.CAPTURED)
        .order_by("created_at")
        .first()
    )
    return capture.provider_reference if capture else ""


def refund_send(refund: Refund) -> Refund:
    """Call the provider (outside any transaction) and record what it said."""
    payment = refund.payment
    request = {
        "provider_payment_id": payment.transaction_id,
        "transaction_id": refund_capture_reference(payment),
        "amount": refund.amount,
        "reason": refund.reason,
    }
    context = {"operation": "refund", "refund": str(refund.pk), "request": request}
    if payment.provider == PaymentProvider.COD:  # cash handed back: nothing to ask
        return refund_confirm(refund, f"cod-refund-{refund.pk}", payload=context)
    try:
        result = gateway_of(payment).refund(**request)
    except ProviderError as error:
        payload = provider_error_payload(error, **context)
        if not error.retryable:
            refund_fail(refund, payload=payload)
            raise refund_refused(error) from error
        refund_mark_pending(refund, payload=payload)  # did it happen? ask before anything else
        return refund_check(refund)
    payload = {**context, "response": result.raw}
    if result.state == "pending":
        refund_mark_pending(refund, refund_id=result.refund_id, payload=payload)
        return refund_check(refund)
    return refund_confirm(refund, result.refund_id, payload=payload)


def refund_refused(error: ProviderError) -> ApiError:
    return Conflict("refund_refused", fields={"provider": [error.code], "reason": [str(error)]})


def refund_query_of(refund: Refund) -> RefundQuery:
    payment = refund.payment
    confirmed = PaymentEvent.objects.filter(payment=payment, event_type=PaymentEventType.REFUNDED)
    return RefundQuery(
        provider_payment_id=payment.transaction_id,
        transaction_id=refund_capture_reference(payment),
        amount=refund.amount,
        refund_id=refund.provider_refund_id,
        refunded_before=sum((e.amount for e in confirmed), Decimal("0")),
        known_refund_ids=frozenset(e.provider_reference for e in confirmed),
    )


def refund_settle_window() -> timedelta:
    """How long a refund the provider does not know of may still be on its way to it."""
    return timedelta(seconds=conf.payment_config.refund_confirm_seconds)


def refund_check(refund: Refund) -> Refund:
    """Ask the provider about an open refund (outside any transaction) and record the answer:
    confirmed → refunded; refused → failed; unknown to the provider long after it was sent →
    failed (another may be sent); anything else → still pending."""
    refund = Refund.objects.select_related("payment").get(pk=refund.pk)
    if refund.status not in OPEN_REFUNDS:
        return refund
    if refund.status == RefundStatus.REQUESTED and not refund_stale(refund):
        return refund  # its own provider call is still under way
    context = {"operation": "refund_status", "refund": str(refund.pk)}
    try:
        answer = gateway_of(refund.payment).refund_status(query=refund_query_of(refund))
    except ProviderError as error:
        refund_mark_pending(refund, payload=provider_error_payload(error, **context))
        return Refund.objects.get(pk=refund.pk)
    payload = {**context, "response": answer.raw, "state": answer.state}
    if answer.state == "refunded":
        return refund_confirm(
            refund, answer.refund_id or refund.provider_refund_id, payload=payload
        )
    if answer.state == "failed" or (answer.state == "not_found" and refund_given_up(refund)):
        return refund_fail(refund, payload=payload)
    refund_mark_pending(refund, refund_id=answer.refund_id, payload=payload)
    return Refund.objects.get(pk=refund.pk)


def refund_stale(refund: Refund) -> bool:
    """A `requested` refund whose provider call cannot still be running."""
    budget = timedelta(seconds=conf.payment_config.http_timeout * 3 + 30)
    return refund.created_at < timezone.now() - budget


def refund_given_up(refund: Refund) -> bool:
    return refund.created_at < timezone.now() - refund_settle_window()


def refund_locked(refund: Refund) -> tuple[Payment, Refund]:
    payment = Payment.objects.select_for_update().get(pk=refund.payment_id)
    return payment, Refund.objects.select_for_update().get(pk=refund.pk)


def refund_mark_pending(refund: Refund, *, payload: dict[str, Any], refund_id: str = "") -> None:
    with transaction.atomic():
        payment, locked = refund_locked(refund)
        event_record(
            payment, PaymentEventType.REFUND_PENDING, amount=locked.amount, payload=payload
        )
        if locked.status in OPEN_REFUNDS:
            locked.status = RefundStatus.PENDING
            locked.provider_refund_id = refund_id or locked.provider_refund_id
            locked.save(update_fields=["status", "provider_refund_id", "updated_at"])


def refund_fail(refund: Refund, *, payload: dict[str, Any]) -> Refund:
    with transaction.atomic():
        payment, locked = refund_locked(refund)
        event_record(payment, PaymentEventType.REFUND_FAILED, amount=locked.amount, payload=payload)
        if locked.status in OPEN_REFUNDS:
            locked.status = RefundStatus.FAILED
            locked.save(update_fields=["status", "updated_at"])
    logger.warning("refund %s failed: %s", refund.pk, payload.get("error") or payload.get("state"))
    return locked


def refund_confirm(refund: Refund, refund_id: str, *, payload: dict[str, Any]) -> Refund:
    """The provider confirmed the refund: the `refunded` event (once), the refund row, and
    the payment's and order's status after it."""
    with transaction.atomic():
        payment, locked = refund_locked(refund)
        if locked.status == RefundStatus.REFUNDED:
            return locked
        event_record(
            payment,
            PaymentEventType.REFUNDED,
            reference=refund_id or f"refund-{locked.pk}",
            amount=locked.amount,
            payload=payload,
        )
        locked.status = RefundStatus.REFUNDED
        locked.provider_refund_id = refund_id or locked.provider_refund_id
        locked.save(update_fields=["status", "provider_refund_id", "updated_at"])
        payment_refund_follow(payment, actor_id=str(locked.actor_id) if locked.actor_id else None)
    return locked


def payment_refund_follow(payment: Payment, *, actor_id: str | None) -> None:
    """The payment's status after a confirmed refund, then its order's (payment row locked)."""
    captured, refunded = payment_totals(payment)
    payment.status = (
        PaymentStatus.REFUNDED if refunded >= captured else PaymentStatus.PARTIALLY_REFUNDED
    )
    payment.save(update_fields=["status", "updated_at"])
    order_refund_follow(Order.objects.get(pk=payment.order_id), actor_id=actor_id)


def order_refund_follow(order: Order, *, actor_id: str | None) -> None:
    """Everything given back: the order moves to `refunded` through the state machine where
    its status allows (its stock, event and customer notification follow), otherwise only its
    payment status says so; part given back: `partially_refunded`; an overpayment refunded
    leaves a fully paid order as it is."""
    kept = order_kept(order)
    if kept >= order.total_amount:
        return
    if kept > 0:
        status = OrderPaymentStatus.PARTIALLY_REFUNDED
    elif transition_allowed(order.status, OrderStatus.REFUNDED):
        order_transition(
            order=order, to_status=OrderStatus.REFUNDED, actor_id=actor_id, note="Refunded"
        )
        return
    else:
        status = OrderPaymentStatus.REFUNDED
    Order.objects.filter(pk=order.pk).update(payment_status=status, updated_at=timezone.now())


# --- cash on delivery --------------------------------------------------------------------

COD_NOT_PAYABLE = frozenset({OrderStatus.CANCELLED, OrderStatus.RETURNED, OrderStatus.REFUNDED})


def cod_reference(order: Order) -> str:
    return f"cod-{order.number}"


def cod_mark_paid(
    *,
    order: Order,
    actor_id: str | None,
    amount: Decimal | None = None,
    reference: str | None = None,
    source: str = "staff",
) -> Payment:
    """Record the cash collected for a COD order, by staff or from a courier's delivery
    report (`amount` collected, `reference` naming the consignment): one Payment (provider
    cod) with one captured event (keyed by the order number or the consignment, so a repeat
    changes nothing), and the order moved to paid where its status allows (a delivered COD
    order is already marked paid by the state machine; only the money record is added).
    Whoever records first holds the money record: the other adds nothing."""
    if order.payment_method != PaymentProvider.COD:
        raise Conflict("cod_not_applicable", fields={"payment_method": [order.payment_method]})
    with transaction.atomic():
        locked = Order.objects.select_for_update(of=("self",)).get(pk=order.pk)
        existing = Payment.objects.filter(order=locked, provider=PaymentProvider.COD).first()
        if existing is not None and existing.status != PaymentStatus.INITIATED:
            return existing
        if locked.status in COD_NOT_PAYABLE:
            raise Conflict("cod_not_applicable", fields={"status": [locked.status]})
        collected = locked.total_amount if amount is None else amount
        payment = existing or Payment.objects.create(
            order=locked,
            provider=PaymentProvider.COD,
            amount=collected,
            currency=locked.currency or CURRENCY,
            status=PaymentStatus.CAPTURED,
        )
        event_record(
            payment,
            PaymentEventType.CAPTURED,
            reference=reference or cod_reference(locked),
            amount=collected,
            payload={"source": source, "actor_id": actor_id, "order_status": locked.status},
        )
        order_paid(payment, note="Cash on delivery collected", actor_id=actor_id)
    return payment
