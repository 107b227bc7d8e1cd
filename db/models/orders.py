"""Orders (registered or guest), their lines and their status history."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .base import (
    ZERO,
    CreatedModel,
    PaymentProvider,
    TimeStampedModel,
    currency_field,
    money_field,
    phone_field,
)


class OrderStatus(models.TextChoices):
    """The order state machine's states (transitions live in lib/orders)."""

    PLACED = "placed", _("Placed")
    AWAITING_PAYMENT = "awaiting_payment", _("Awaiting payment")
    ON_HOLD = "on_hold", _("On hold for review")
    PAID = "paid", _("Paid")
    PROCESSING = "processing", _("Processing")
    SHIPPED = "shipped", _("Shipped")
    OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")
    DELIVERED = "delivered", _("Delivered")
    CANCELLED = "cancelled", _("Cancelled")
    RETURNED = "returned", _("Returned")
    REFUNDED = "refunded", _("Refunded")


class OrderPaymentStatus(models.TextChoices):
    UNPAID = "unpaid", _("Unpaid")
    PENDING = "pending", _("Pending")
    PAID = "paid", _("Paid")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
    REFUNDED = "refunded", _("Refunded")
    FAILED = "failed", _("Failed")


class Order(TimeStampedModel):
    number = models.CharField(
        max_length=32, unique=True, help_text=_("Human-readable, e.g. ZS-2611-000123.")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="orders",
        db_index=False,  # covered by orders_user_created_idx
    )
    guest_email = models.EmailField(max_length=255, blank=True)
    guest_phone = phone_field()
    status = models.CharField(
        max_length=20, choices=OrderStatus.choices, default=OrderStatus.PLACED
    )
    payment_method = models.CharField(max_length=20, choices=PaymentProvider.choices)
    payment_status = models.CharField(
        max_length=20, choices=OrderPaymentStatus.choices, default=OrderPaymentStatus.UNPAID
    )
    currency = currency_field()
    subtotal = money_field(default=ZERO)
    discount_total = money_field(default=ZERO)
    shipping_total = money_field(default=ZERO)
    cod_fee = money_field(default=ZERO)
    total_amount = money_field(default=ZERO)
    shipping_address = models.ForeignKey(
        "Address", on_delete=models.PROTECT, null=True, blank=True, related_name="orders"
    )
    shipping_snapshot = models.JSONField(
        default=dict, blank=True, help_text=_("The address as it was when the order was placed.")
    )
    idempotency_key = models.CharField(  # NULL when absent; unique when given
        max_length=255, unique=True, null=True, blank=True
    )
    placed_at = models.DateTimeField(default=timezone.now)
    payment_due_at = models.DateTimeField(
        null=True, blank=True, help_text=_("Unpaid wallet orders release their stock after this.")
    )
    delivery_estimate = models.JSONField(default=dict, blank=True)
    fraud_score = models.PositiveIntegerField(default=0)
    fraud_reasons = models.JSONField(default=list, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    device_id = models.CharField(max_length=64, blank=True)

    class Meta:
        db_table = "orders"
        constraints = [
            models.CheckConstraint(condition=Q(subtotal__gte=0), name="orders_subtotal_gte_0"),
            models.CheckConstraint(
                condition=Q(discount_total__gte=0) & Q(discount_total__lte=F("subtotal")),
                name="orders_discount_within_subtotal",
            ),
            models.CheckConstraint(
                condition=Q(shipping_total__gte=0), name="orders_shipping_total_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(total_amount__gte=0), name="orders_total_amount_gte_0"
            ),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="orders_user_created_idx"),
            models.Index(fields=["status", "-created_at"], name="orders_status_created_idx"),
        ]

    def __str__(self) -> str:
        return self.number


class OrderItem(CreatedModel):
    """One order line with the product's name, SKU and price frozen at purchase time."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey("Product", on_delete=models.PROTECT, related_name="order_items")
    variation = models.ForeignKey(
        "ProductVariation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="order_items",
    )
    vendor = models.ForeignKey(
        "Vendor", on_delete=models.PROTECT, null=True, blank=True, related_name="order_items"
    )
    product_name = models.CharField(_("product name (English)"), max_length=255)
    product_name_bn = models.CharField(_("product name (Bangla)"), max_length=255, blank=True)
    sku = models.CharField(_("SKU"), max_length=100)
    quantity = models.PositiveIntegerField()
    unit_price = money_field()
    total_price = money_field()

    class Meta:
        db_table = "order_items"
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_items_quantity_gt_0"),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="order_items_unit_price_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(total_price__gte=0), name="order_items_total_price_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_name}"


class OrderStatusEvent(CreatedModel):
    """Append-only status history, shown to the customer as order tracking."""

    order = models.ForeignKey(
        Order,
        on_delete=models.CASCADE,
        related_name="status_events",
        db_index=False,  # covered by order_status_events_order_idx
    )
    from_status = models.CharField(max_length=20, choices=OrderStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=OrderStatus.choices)
    note = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Who made the change; empty for the system or the customer."),
    )

    class Meta:
        db_table = "order_status_events"
        ordering = ["created_at"]
        indexes = [
            models.Index(fields=["order", "created_at"], name="order_status_events_order_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.from_status or '-'} -> {self.to_status}"
