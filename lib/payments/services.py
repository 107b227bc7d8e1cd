"""Payments: start, settle (callbacks and reconciliation) and the event log they write.

Rules (docs/DESIGN.md): provider calls never run inside a database transaction or while a row
is locked, and every one is stored on an event with its secrets redacted; captured and
refunded totals are derived from the append-only events; the unique (provider, provider
reference, event type) turns a repeated notification into a no-op. Refunds and cash on
delivery are in `lib.payments.refunds`, reconciliation in `lib.payments.reconcile`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation
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
    PaymentStatus,
)
from lib.conf import payment_config
from lib.errors import ApiError, Conflict, NotFound
from lib.orders.state import order_transition, transition_allowed
from lib.payments.base import Gateway, ProviderError, ProviderStatus
from lib.payments.redact import redact
from lib.payments.registry import WALLET_METHODS, gateway_for, methods_served_by, webhook_provider

logger = logging.getLogger("zest.payments")

CURRENCY = "BDT"
# What providers put in a currency field for Taka (Nagad sends the ISO numeric code).
TAKA = frozenset({"BDT", "050"})
CURRENCY_FIELDS = ("currency", "currency_type", "currencyCode", "currency_code")
SETTLED = frozenset(
    {PaymentStatus.CAPTURED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED}
)
OPEN = frozenset({PaymentStatus.INITIATED, PaymentStatus.PENDING, PaymentStatus.AUTHORIZED})


# --- the event log -----------------------------------------------------------------------


def event_record(
    payment: Payment,
    event_type: str,
    *,
    reference: str = "",
    amount: Decimal | None = None,
    payload: dict[str, Any] | None = None,
) -> PaymentEvent | None:
    """Append one event; None when (provider, reference, type) is already recorded. Runs in
    a savepoint so a duplicate leaves the caller's transaction usable."""
    try:
        with transaction.atomic():
            return PaymentEvent.objects.create(
                payment=payment,
                provider=payment.provider,
                provider_reference=reference[:255],
                event_type=event_type,
                amount=amount if amount is not None else Decimal("0"),
                payload=redact(payload or {}),
            )
    except IntegrityError:
        if not reference:
            raise
        return None


def event_total(payment: Payment, event_type: str) -> Decimal:
    total = PaymentEvent.objects.filter(payment=payment, event_type=event_type).aggregate(
        total=Sum("amount")
    )["total"]
    return total or Decimal("0")


def payment_totals(payment: Payment) -> tuple[Decimal, Decimal]:
    """(captured, refunded), derived from the events."""
    return (
        event_total(payment, PaymentEventType.CAPTURED),
        event_total(payment, PaymentEventType.REFUNDED),
    )


def provider_error_payload(error: ProviderError, **context: Any) -> dict[str, Any]:
    return {
        **context,
        "error": {"code": error.code, "message": str(error), "retryable": error.retryable},
    }


def provider_failed(error: ProviderError) -> ApiError:
    return ApiError(
        "payment_provider_error",
        status=504 if error.retryable else 502,
        fields={"provider": [error.code]},
    )


def gateway_of(payment: Payment) -> Gateway:
    return gateway_for(payment.provider)


# --- start -------------------------------------------------------------------------------

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
        "email": order.guest_email or (user.email if user else ""),
        "phone": str(order.guest_phone or snapshot.get("phone") or ""),
        "address": str(snapshot.get("address_line1") or ""),
        "city": str(snapshot.get("district") or snapshot.get("city") or ""),
    }


# --- settle ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Refused:
    code: str
    status: int
    fields: dict[str, list[str]]


def reported_currency(raw: dict[str, Any]) -> str | None:
    for name in CURRENCY_FIELDS:
        value = raw.get(name) if isinstance(raw, dict) else None
        if value:
            return str(value).upper()
    return None


def amount_refusal(payment: Payment, status: ProviderStatus) -> str | None:
    """Why a capture does not match OUR payment record, or None."""
    try:
        amount = Decimal(str(status.amount)) if status.amount is not None else None
    except InvalidOperation:
        amount = None
    if amount is None or amount != payment.amount:
        return "amount_mismatch"
    currency = reported_currency(status.raw)
    if payment.currency != CURRENCY or (currency is not None and currency not in TAKA):
        return "currency_mismatch"
    return None


def status_apply(
    payment: Payment, status: ProviderStatus, *, source: str, context: dict[str, Any]
) -> Payment:
    """Record what the provider says about `payment` (a locked, short transaction) and move
    its order; safe to repeat and to run concurrently. Raises 409 when refused."""
    refused: Refused | None = None
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        payload = {"source": source, **context, "provider_status": status.raw}
        if status.state == "captured":
            refused = capture_apply(locked, status, payload)
        elif status.state in ("failed", "cancelled"):
            failure_apply(locked, status, payload)
    if refused is not None:
        raise ApiError(refused.code, status=refused.status, fields=refused.fields)
    locked.refresh_from_db()
    return locked


def capture_apply(payment: Payment, status: ProviderStatus, payload: dict) -> Refused | None:
    reference = status.transaction_id or status.provider_payment_id
    reason = amount_refusal(payment, status)
    if reason is not None:
        event_record(
            payment,
            PaymentEventType.FAILED,
            reference=reference,
            amount=Decimal("0"),
            payload={**payload, "reason": reason, "reported_amount": status.amount},
        )
        if payment.status in OPEN:
            payment.status = PaymentStatus.FAILED
            payment.save(update_fields=["status", "updated_at"])
        logger.error("payment %s refused: %s (%s)", payment.pk, reason, status.amount)
        return Refused("payment_amount_mismatch", 409, {"amount": [reason]})
    event = event_record(
        payment,
        PaymentEventType.CAPTURED,
        reference=reference,
        amount=payment.amount,
        payload=payload,
    )
    if event is None:
        return None  # already settled: a repeated notification changes nothing
    if payment.status not in SETTLED:
        payment.status = PaymentStatus.CAPTURED
        payment.save(update_fields=["status", "updated_at"])
    order_paid(payment, note=f"{payment.get_provider_display()} {reference}")
    return None


def order_paid(payment: Payment, *, note: str, actor_id: str | None = None) -> None:
    """Move the payment's order to paid when its status allows, exactly once (the caller
    holds the payment's row lock); otherwise only record that the money came in."""
    order = Order.objects.select_for_update(of=("self",)).get(pk=payment.order_id)
    if order.status == OrderStatus.AWAITING_PAYMENT and transition_allowed(
        order.status, OrderStatus.PAID
    ):
        order_transition(order=order, to_status=OrderStatus.PAID, note=note, actor_id=actor_id)
        return
    if order.payment_status != OrderPaymentStatus.PAID:
        if order.status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
            logger.error(
                "payment %s captured for %s order %s", payment.pk, order.status, order.number
            )
        Order.objects.filter(pk=order.pk).update(
            payment_status=OrderPaymentStatus.PAID, updated_at=timezone.now()
        )


def failure_apply(payment: Payment, status: ProviderStatus, payload: dict) -> None:
    event_type = (
        PaymentEventType.CANCELLED if status.state == "cancelled" else PaymentEventType.FAILED
    )
    event = event_record(payment, event_type, reference=status.provider_payment_id, payload=payload)
    if event is None or payment.status not in OPEN:
        return
    payment.status = (
        PaymentStatus.CANCELLED if status.state == "cancelled" else PaymentStatus.FAILED
    )
    payment.save(update_fields=["status", "updated_at"])
    # The order keeps waiting for a payment (the timeout cron releases it).
    Order.objects.filter(pk=payment.order_id, status=OrderStatus.AWAITING_PAYMENT).exclude(
        payment_status=OrderPaymentStatus.PAID
    ).update(payment_status=OrderPaymentStatus.FAILED, updated_at=timezone.now())


def payment_settle(*, provider: str, callback_data: dict) -> Payment:
    """A payer return or provider notification at `provider`'s webhook: find OUR payment,
    verify with the provider server to server (outside any transaction), then record the
    outcome. 404 `payment_unknown` for a payment we did not start; 409 for a mismatch."""
    payment = payment_locate(provider=provider, callback_data=callback_data)
    return payment_settle_located(payment, callback_data=callback_data)


def payment_locate(*, provider: str, callback_data: dict) -> Payment:
    """OUR payment a callback at `provider`'s webhook is about (its order loaded), before
    anything is asked of the provider: 400 `payment_unknown` for a callback the adapter
    refuses (bad signature, malformed reference), 404 for a payment we did not start."""
    gateway = gateway_for(provider)
    try:
        provider_payment_id = gateway.callback_payment_id(request_data=callback_data)
    except ProviderError as error:
        logger.warning("%s callback refused: %s", provider, error.code)
        raise ApiError("payment_unknown", status=400, fields={"callback": [error.code]}) from error
    payment = (
        Payment.objects.select_related("order")
        .filter(provider__in=methods_served_by(provider), transaction_id=provider_payment_id)
        .first()
        if provider_payment_id
        else None
    )
    if payment is None:
        logger.warning("%s callback for unknown payment %r", provider, provider_payment_id)
        raise NotFound("payment_unknown", fields={"payment": [str(provider_payment_id)[:64]]})
    return payment


def payment_settle_located(payment: Payment, *, callback_data: dict) -> Payment:
    """Verify `payment` (found by `payment_locate`) with its provider and record the outcome."""
    if payment.status in SETTLED:
        return payment  # already settled: no second provider call
    provider_payment_id = payment.transaction_id
    try:
        # Rocket's callbacks arrive at SSLCommerz: the payment's own method picks the gateway.
        status = gateway_of(payment).confirm(
            provider_payment_id=provider_payment_id, callback=callback_data
        )
    except ProviderError as error:
        with transaction.atomic():
            event_record(
                payment,
                PaymentEventType.CALLBACK,
                payload=provider_error_payload(error, operation="confirm", callback=callback_data),
            )
        raise provider_failed(error) from error
    if status.provider_payment_id and status.provider_payment_id != provider_payment_id:
        raise NotFound("payment_unknown", fields={"payment": ["mismatch"]})
    return status_apply(payment, status, source="callback", context={"callback": callback_data})
