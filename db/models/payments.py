"""Payments and their append-only event log.

Every provider interaction is stored as a `PaymentEvent`; captured and refunded totals are
derived from the events. The unique (provider, provider_reference, event_type) makes a
repeated provider notification a harmless no-op.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .base import ZERO, CreatedModel, PaymentProvider, TimeStampedModel, currency_field, money_field


class PaymentStatus(models.TextChoices):
    INITIATED = "initiated", _("Initiated")
    PENDING = "pending", _("Pending")
    AUTHORIZED = "authorized", _("Authorized")
    CAPTURED = "captured", _("Captured")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
    REFUNDED = "refunded", _("Refunded")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class PaymentEventType(models.TextChoices):
    INITIATED = "initiated", _("Initiated")
    AUTHORIZED = "authorized", _("Authorized")
    CAPTURED = "captured", _("Captured")
    REFUNDED = "refunded", _("Refunded")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    CALLBACK = "callback", _("Callback received")
    # A refund sent whose outcome the provider has not confirmed yet (timeout, processing).
    REFUND_PENDING = "refund_pending", _("Refund pending")
    # A refund the provider refused, or never received.
    REFUND_FAILED = "refund_failed", _("Refund failed")


# A payment in one of these is still open at the provider: at most one per order.
OPEN_PAYMENT_STATUSES = ("initiated", "pending", "authorized")


class Payment(TimeStampedModel):
    order = models.ForeignKey("Order", on_delete=models.PROTECT, related_name="payments")
    provider = models.CharField(max_length=20, choices=PaymentProvider.choices)
    amount = money_field()
    currency = currency_field()
    status = models.CharField(
        max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.INITIATED
    )
    transaction_id = models.CharField(
        max_length=255, blank=True, help_text=_("The provider's reference for this payment.")
    )
    idempotency_key = models.CharField(  # NULL when absent; unique when given
        max_length=255, unique=True, null=True, blank=True
    )

    class Meta:
        db_table = "payments"
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="payments_amount_gte_0"),
            # Also the lookup index for callbacks: (provider, transaction_id).
            models.UniqueConstraint(
                fields=["provider", "transaction_id"],
                condition=~Q(transaction_id=""),
                name="payments_unique_provider_transaction",
            ),
            # A second start while one is open would let the payer pay twice.
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(status__in=OPEN_PAYMENT_STATUSES),
                name="payments_one_open_per_order",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="payments_status_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} {self.amount} {self.currency}"


class PaymentEvent(CreatedModel):
    """One provider interaction. Append-only: rows are inserted, never updated."""

    payment = models.ForeignKey(
        Payment,
        on_delete=models.PROTECT,
        related_name="events",
        db_index=False,  # covered by payment_events_payment_idx
    )
    provider = models.CharField(max_length=20, choices=PaymentProvider.choices)
    provider_reference = models.CharField(
        max_length=255,
        blank=True,
        help_text=_("The provider's id for this interaction (transaction or refund id)."),
    )
    event_type = models.CharField(max_length=20, choices=PaymentEventType.choices)
    amount = money_field(default=ZERO)
    payload = models.JSONField(default=dict, blank=True, help_text=_("The raw provider data."))

    class Meta:
        db_table = "payment_events"
        ordering = ["created_at"]
        constraints = [
            # Events we record before the provider has assigned a reference are not deduplicated.
            models.UniqueConstraint(
                fields=["provider", "provider_reference", "event_type"],
                condition=~Q(provider_reference=""),
                name="payment_events_unique_provider_reference",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="payment_events_amount_gte_0"),
        ]
        indexes = [
            models.Index(fields=["payment", "created_at"], name="payment_events_payment_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_event_type_display()} {self.amount}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError("Payment events are append-only and cannot be changed.")
        super().save(*args, **kwargs)


class RefundStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")  # stored; the provider call is under way
    PENDING = "pending", _("Pending")  # sent; the provider has not confirmed it yet
    REFUNDED = "refunded", _("Refunded")
    FAILED = "failed", _("Failed")


OPEN_REFUND_STATUSES = ("requested", "pending")


class Refund(TimeStampedModel):
    """One refund staff asked for, stored before the provider is called so that a retry (same
    Idempotency-Key) or a timeout never sends a second one. The money moves only with the
    payment's `refunded` events; this row tracks the request until the provider confirms."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = money_field()
    reason = models.CharField(max_length=255, blank=True)
    status = models.CharField(
        max_length=20, choices=RefundStatus.choices, default=RefundStatus.REQUESTED
    )
    idempotency_key = models.CharField(max_length=255, unique=True, null=True, blank=True)
    provider_refund_id = models.CharField(
        max_length=255, blank=True, help_text=_("The provider's id for this refund, once known.")
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        db_table = "payment_refunds"
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_refunds_amount_gt_0"),
            # One refund of a payment at a time: the next waits for the provider's word.
            models.UniqueConstraint(
                fields=["payment"],
                condition=Q(status__in=OPEN_REFUND_STATUSES),
                name="payment_refunds_one_open_per_payment",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="payment_refunds_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.get_status_display()}"
