"""Starting a payment at its provider: one open payment per order, idempotent by key.

A start creates the Payment (order row locked) before the provider hears of it, calls the
provider outside any transaction, then records the `initiated` event with the redirect. Another
start for the order while a payment is open (any key) gets that payment, after its provider was
asked whether the payer paid, failed or cancelled it meanwhile; a start the provider failed does
not hold its Idempotency-Key (the same key starts a new attempt, with a new invoice).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from db.models import (
    Order,
    OrderPaymentStatus,
    OrderStatus,
    Payment,
    PaymentEvent,
    PaymentEventType,
    PaymentStatus,
)
from lib.conf import payment_config
from lib.errors import ApiError, Conflict
from lib.payments.base import Gateway, ProviderError
from lib.payments.registry import WALLET_METHODS, gateway_for, webhook_provider
from lib.payments.services import (
    CURRENCY,
    OPEN,
    event_record,
    gateway_of,
    provider_error_payload,
    provider_failed,
    status_apply,
)

logger = logging.getLogger("zest.payments")

# A start whose provider call never came back (the function instance died) stops blocking
# the order after this long.
START_STALE_AFTER = timedelta(minutes=2)


@dataclass(frozen=True, slots=True)
class StartOutcome:
    payment: Payment
    redirect_url: str
    created: bool


def initiated_event(payment: Payment) -> PaymentEvent | None:
    return (
        PaymentEvent.objects.filter(payment=payment, event_type=PaymentEventType.INITIATED)
        .order_by("created_at")
        .first()
    )


def start_replay(payment: Payment, order: Order) -> StartOutcome:
    """A repeated start (same Idempotency-Key, or another key while a payment is open): that
    payment and its redirect, without calling the provider again."""
    if payment.order_id != order.pk:
        raise Conflict("idempotency_key_reused", fields={"Idempotency-Key": []})
    event = initiated_event(payment)
    if event is not None:
        return StartOutcome(payment, str(event.payload.get("redirect_url", "")), created=False)
    raise Conflict("payment_start_in_progress")


def open_payment_of(order: Order) -> Payment | None:
    return Payment.objects.filter(order_id=order.pk, status__in=OPEN).first()


def open_payment_refresh(order: Order) -> Payment | None:
    """The order's open payment after asking its provider (outside any transaction) whether
    the payer paid, failed or cancelled it meanwhile; None when nothing stays open."""
    payment = open_payment_of(order)
    if payment is None or not payment.transaction_id:
        return payment
    try:
        status = gateway_of(payment).query(provider_payment_id=payment.transaction_id)
        status_apply(payment, status, source="restart", context={})
    except (ProviderError, ApiError) as error:
        logger.warning("open payment %s not refreshed: %s", payment.pk, getattr(error, "code", ""))
    return open_payment_of(order)


def start_stale(payment: Payment) -> bool:
    return (
        payment.status == PaymentStatus.INITIATED
        and payment.created_at < timezone.now() - START_STALE_AFTER
    )


def start_stale_fail(payment: Payment) -> None:
    """An `initiated` payment whose provider call was lost: failed, so the order can be paid."""
    event_record(payment, PaymentEventType.FAILED, payload={"operation": "start", "stale": True})
    payment.status = PaymentStatus.FAILED
    payment.save(update_fields=["status", "updated_at"])


def payment_attempt_claim(order: Order, idempotency_key: str) -> Payment | StartOutcome:
    """Under the order's row lock: the open payment's replay, or a new `initiated` payment
    holding the key (a key whose start failed at the provider moves to the new attempt)."""
    with transaction.atomic():
        locked = Order.objects.select_for_update(of=("self",)).get(pk=order.pk)
        if locked.status != OrderStatus.AWAITING_PAYMENT:
            raise Conflict("payment_not_startable", fields={"status": [locked.status]})
        current = open_payment_of(locked)
        if current is not None and start_stale(current):
            start_stale_fail(current)
            current = None
        if current is not None:
            return start_replay(current, order)
        previous = Payment.objects.filter(idempotency_key=idempotency_key).first()
        if previous is not None:
            if previous.order_id != locked.pk or initiated_event(previous) is not None:
                return start_replay(previous, order)
            Payment.objects.filter(pk=previous.pk).update(idempotency_key=None)
        return Payment.objects.create(
            order=locked,
            provider=locked.payment_method,
            amount=locked.total_amount,
            currency=locked.currency or CURRENCY,
            status=PaymentStatus.INITIATED,
            idempotency_key=idempotency_key,
        )


def payment_start(
    *, order: Order, idempotency_key: str, callback_base: str | None = None
) -> StartOutcome:
    """Start paying `order` (awaiting payment, a wallet method) at its provider.

    One payment is open per order at a time: another start (any key) gets the open one's
    redirect, after its provider was asked whether it is still open. A start that failed at
    the provider does not hold its key: the same key starts a new attempt.

    1. a short transaction (order row locked) creates the Payment with the Idempotency-Key;
    2. the provider is called outside any transaction;
    3. a short transaction records the `initiated` event (with the redirect) and the
       provider's payment id.
    """
    if order.payment_method not in WALLET_METHODS:
        raise Conflict("payment_not_startable", fields={"payment_method": [order.payment_method]})
    existing = Payment.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None and (existing.order_id != order.pk or initiated_event(existing)):
        return start_replay(existing, order)
    open_payment_refresh(order)
    gateway = gateway_for(order.payment_method)  # unknown method: refused before any write
    try:
        claimed = payment_attempt_claim(order, idempotency_key)
    except IntegrityError:  # a concurrent start with the same key won the insert
        return start_replay(Payment.objects.get(idempotency_key=idempotency_key), order)
    if isinstance(claimed, StartOutcome):
        return claimed
    return payment_attempt_send(claimed, order, gateway, callback_base)


def payment_attempt_send(
    payment: Payment, order: Order, gateway: Gateway, callback_base: str | None
) -> StartOutcome:
    attempt = Payment.objects.filter(order_id=order.pk).count()
    base = (callback_base or payment_config.public_base_url).rstrip("/")
    request = {
        "payment_id": str(payment.pk),
        "invoice": order.number if attempt == 1 else f"{order.number}-{attempt}",
        "amount": payment.amount,
        "callback_url": f"{base}/api/webhooks/{webhook_provider(payment.provider)}",
        "customer": customer_of(order),
    }
    try:
        result = gateway.start(**request)
    except ProviderError as error:
        with transaction.atomic():
            event_record(
                payment,
                PaymentEventType.FAILED,
                payload=provider_error_payload(
                    error,
                    operation="start",
                    request=request,
                    idempotency_key=payment.idempotency_key,
                ),
            )
            Payment.objects.filter(pk=payment.pk).update(
                status=PaymentStatus.FAILED, updated_at=timezone.now()
            )
        logger.warning("payment start failed: %s %s", payment.pk, error.code)
        raise provider_failed(error) from error

    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        payment.transaction_id = result.provider_payment_id
        payment.status = PaymentStatus.PENDING
        payment.save(update_fields=["transaction_id", "status", "updated_at"])
        event_record(
            payment,
            PaymentEventType.INITIATED,
            reference=result.provider_payment_id,
            amount=payment.amount,
            payload={
                "redirect_url": result.redirect_url,
                "request": request,
                "response": result.raw,
            },
        )
        Order.objects.filter(pk=order.pk, status=OrderStatus.AWAITING_PAYMENT).exclude(
            payment_status=OrderPaymentStatus.PAID
        ).update(payment_status=OrderPaymentStatus.PENDING, updated_at=timezone.now())
    return StartOutcome(payment, result.redirect_url, created=True)


def customer_of(order: Order) -> dict[str, str]:
    snapshot = order.shipping_snapshot or {}
    user = order.user if order.user_id else None
    return {
        "name": str(snapshot.get("full_name") or (user.full_name if user else "") or ""),
        "email": order.guest_email or ((user.email or "") if user else ""),
        "phone": str(order.guest_phone or snapshot.get("phone") or ""),
        "address": str(snapshot.get("address_line1") or ""),
        "city": str(snapshot.get("district") or snapshot.get("city") or ""),
    }
