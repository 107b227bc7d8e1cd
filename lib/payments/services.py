"""Payments: settle (callbacks and reconciliation) and the event log every payment writes.

Rules (docs/DESIGN.md): provider calls never run inside a database transaction or while a row
is locked, and every one is stored on an event with its secrets redacted; captured and
refunded totals are derived from the append-only events; the unique (provider, provider
reference, event type) turns a repeated notification into a no-op. Refunds and cash on
delivery are in `lib.payments.refunds`, reconciliation in `lib.payments.reconcile`, starting
a payment in `lib.payments.starts`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
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
from lib.errors import ApiError, NotFound
from lib.orders.state import order_transition, transition_allowed
from lib.payments.base import Gateway, ProviderError, ProviderStatus
from lib.payments.redact import redact
from lib.payments.registry import gateway_for, methods_served_by

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


STARTS = frozenset({"StartOutcome", "payment_start", "start_replay"})


def __getattr__(name: str) -> Any:
    """`payment_start` and its kin live in `lib.payments.starts` (which builds on this
    module); `from lib.payments.services import payment_start` still finds them."""
    if name in STARTS:
        from lib.payments import starts

        return getattr(starts, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
