"""Consignments booked with couriers (Pathao, Steadfast, RedX), their append-only status
events, and the couriers' payouts of the cash they collected.

A consignment is claimed (state `booking`, no courier id yet) before the courier is called,
so at most one live consignment exists per order; the unique `dedupe_key` on events makes a
replayed webhook or a repeated poll a harmless no-op.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .base import ZERO, CreatedModel, TimeStampedModel, money_field


class CourierName(models.TextChoices):
    PATHAO = "pathao", _("Pathao")
    STEADFAST = "steadfast", _("Steadfast")
    REDX = "redx", _("RedX")


class ConsignmentState(models.TextChoices):
    """`lib.couriers.base.CourierState`, plus `booking` while the courier is being asked and
    `booking_unconfirmed` when it was asked and its answer was lost (it may have made the
    parcel: never asked again until the parcel is found or staff release the booking)."""

    BOOKING = "booking", _("Booking")
    BOOKING_UNCONFIRMED = "booking_unconfirmed", _("Booking unconfirmed")
    BOOKED = "booked", _("Booked")
    PICKED_UP = "picked_up", _("Picked up")
    IN_TRANSIT = "in_transit", _("In transit")
    OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")
    DELIVERED = "delivered", _("Delivered")
    PARTIALLY_DELIVERED = "partially_delivered", _("Partially delivered")
    DELIVERY_FAILED = "delivery_failed", _("Delivery failed")
    ON_HOLD = "on_hold", _("On hold")
    RETURNING = "returning", _("Returning")
    RETURNED = "returned", _("Returned")
    CANCELLED = "cancelled", _("Cancelled")
    PAID_OUT = "paid_out", _("Paid out")
    UNKNOWN = "unknown", _("Unknown")


class ConsignmentEventSource(models.TextChoices):
    BOOKING = "booking", _("Booking")
    WEBHOOK = "webhook", _("Webhook")
    POLL = "poll", _("Poll")
    STAFF = "staff", _("Staff")


# Nothing more will happen to a consignment in one of these: the poll cron skips them.
TERMINAL_CONSIGNMENT_STATES = ("delivered", "partially_delivered", "returned", "cancelled")


class Consignment(TimeStampedModel):
    order = models.ForeignKey("Order", on_delete=models.PROTECT, related_name="consignments")
    courier = models.CharField(max_length=20, choices=CourierName.choices)
    consignment_id = models.CharField(
        max_length=64, blank=True, help_text=_("The courier's id; empty while booking.")
    )
    tracking_code = models.CharField(
        max_length=64, blank=True, help_text=_("What the customer enters on the courier's page.")
    )
    state = models.CharField(
        max_length=24, choices=ConsignmentState.choices, default=ConsignmentState.BOOKING
    )
    raw_status = models.CharField(
        max_length=64, blank=True, help_text=_("The courier's own word for the state.")
    )
    delivery_fee = money_field(null=True, blank=True)
    cod_amount = money_field(default=ZERO, help_text=_("Cash the courier was asked to collect."))
    collected_amount = money_field(null=True, blank=True)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_update_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("When the newest applied update happened, per the courier."),
    )
    last_polled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "consignments"
        constraints = [
            models.UniqueConstraint(
                fields=["courier", "consignment_id"],
                condition=~Q(consignment_id=""),
                name="consignments_unique_courier_id",
            ),
            # One parcel per order on the road: a cancelled one lets staff book again.
            models.UniqueConstraint(
                fields=["order"],
                condition=~Q(state="cancelled"),
                name="consignments_one_live_per_order",
            ),
            models.CheckConstraint(
                condition=Q(cod_amount__gte=0), name="consignments_cod_amount_gte_0"
            ),
        ]
        indexes = [
            models.Index(fields=["state", "last_update_at"], name="consignments_state_update_idx"),
            models.Index(fields=["courier", "-created_at"], name="consignments_courier_idx"),
            models.Index(fields=["-created_at"], name="consignments_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_courier_display()} {self.consignment_id or '(booking)'}"


class ConsignmentEvent(CreatedModel):
    """One thing a courier said about a consignment. Append-only: inserted, never updated."""

    consignment = models.ForeignKey(
        Consignment,
        on_delete=models.PROTECT,
        related_name="events",
        db_index=False,  # covered by consignment_events_idx
    )
    source = models.CharField(max_length=10, choices=ConsignmentEventSource.choices)
    raw_status = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=24, choices=ConsignmentState.choices)
    occurred_at = models.DateTimeField(null=True, blank=True)
    collected_amount = money_field(null=True, blank=True)
    delivery_fee = money_field(null=True, blank=True)
    message = models.TextField(blank=True)
    applied = models.BooleanField(
        default=False, help_text=_("Whether it moved the consignment (older events do not).")
    )
    dedupe_key = models.CharField(max_length=64, unique=True)
    payload = models.JSONField(default=dict, blank=True, help_text=_("The raw courier data."))

    class Meta:
        db_table = "consignment_events"
        ordering = ["created_at"]
        indexes = [
            models.Index(fields=["consignment", "created_at"], name="consignment_events_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.raw_status or self.state}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError("Consignment events are append-only and cannot be changed.")
        super().save(*args, **kwargs)


class CourierPayout(TimeStampedModel):
    """A courier's payout of the cash it collected (Steadfast payment, Pathao invoice)."""

    courier = models.CharField(max_length=20, choices=CourierName.choices)
    reference = models.CharField(max_length=128)
    amount = money_field(default=ZERO)
    paid_at = models.DateTimeField(null=True, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        db_table = "courier_payouts"
        constraints = [
            models.UniqueConstraint(
                fields=["courier", "reference"], name="courier_payouts_unique_reference"
            ),
        ]
        indexes = [
            models.Index(fields=["courier", "-created_at"], name="courier_payouts_courier_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_courier_display()} {self.reference}"


class CourierPayoutLine(CreatedModel):
    """One consignment's cash in a payout; `consignment` is empty when we do not know the id."""

    payout = models.ForeignKey(CourierPayout, on_delete=models.CASCADE, related_name="lines")
    consignment_ref = models.CharField(max_length=64, help_text=_("The courier's id as reported."))
    consignment = models.ForeignKey(
        Consignment,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="payout_lines",
    )
    amount = money_field()

    class Meta:
        db_table = "courier_payout_lines"
        constraints = [
            models.UniqueConstraint(
                fields=["payout", "consignment_ref"], name="courier_payout_lines_unique_ref"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.consignment_ref} {self.amount}"
