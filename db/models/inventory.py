"""Stock held for checkouts in progress, and low/out-of-stock alerts.

A variation-level row names both the product and the variation; a product-level row leaves
`variation` empty. Because NULLs never collide in a unique index, each "one per
(product, variation)" rule is two partial constraints, which both PostgreSQL and SQLite enforce.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .base import CreatedModel


class StockReservation(CreatedModel):
    """Units held for a cart/checkout until `expires_at`; expired rows simply stop counting."""

    # Both foreign keys lead a composite (fk, expires_at) index, which also serves them.
    product = models.ForeignKey(
        "Product", on_delete=models.CASCADE, related_name="reservations", db_index=False
    )
    variation = models.ForeignKey(
        "ProductVariation",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="reservations",
        db_index=False,
    )
    token = models.CharField(max_length=64, help_text=_("The cart or checkout holding the stock."))
    quantity = models.PositiveIntegerField()
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "stock_reservations"
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="stock_reservations_quantity_gt_0"
            ),
            models.UniqueConstraint(
                fields=["token", "product"],
                condition=Q(variation__isnull=True),
                name="stock_reservations_unique_product_line",
            ),
            models.UniqueConstraint(
                fields=["token", "product", "variation"],
                condition=Q(variation__isnull=False),
                name="stock_reservations_unique_variation_line",
            ),
        ]
        indexes = [
            models.Index(fields=["product", "expires_at"], name="stock_res_product_exp_idx"),
            models.Index(fields=["variation", "expires_at"], name="stock_res_variation_exp_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} held by {self.token}"


class InventoryAlertKind(models.TextChoices):
    LOW_STOCK = "low_stock", _("Low stock")
    OUT_OF_STOCK = "out_of_stock", _("Out of stock")


class InventoryAlert(CreatedModel):
    """Raised when stock crosses a threshold; open until `resolved_at` is set."""

    product = models.ForeignKey("Product", on_delete=models.CASCADE, related_name="alerts")
    variation = models.ForeignKey(
        "ProductVariation",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="alerts",
    )
    kind = models.CharField(max_length=20, choices=InventoryAlertKind.choices)
    quantity_at_alert = models.IntegerField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "inventory_alerts"
        constraints = [
            models.UniqueConstraint(
                fields=["product", "kind"],
                condition=Q(variation__isnull=True, resolved_at__isnull=True),
                name="inventory_alerts_one_open_per_product",
            ),
            models.UniqueConstraint(
                fields=["product", "variation", "kind"],
                condition=Q(variation__isnull=False, resolved_at__isnull=True),
                name="inventory_alerts_one_open_per_variation",
            ),
        ]
        indexes = [
            models.Index(
                fields=["-created_at"],
                condition=Q(resolved_at__isnull=True),
                name="inventory_alerts_open_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.quantity_at_alert})"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class StockAdjustmentReason(models.TextChoices):
    RECEIVED = "received", _("Stock received")
    SOLD = "sold", _("Sold")
    RETURNED = "returned", _("Returned by a customer")
    DAMAGED = "damaged", _("Damaged or lost")
    CORRECTION = "correction", _("Stock count correction")


class StockAdjustment(CreatedModel):
    """Append-only audit trail: every change of on-hand stock, why, and by whom."""

    product = models.ForeignKey(
        "Product", on_delete=models.CASCADE, related_name="stock_adjustments", db_index=False
    )
    variation = models.ForeignKey(
        "ProductVariation",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="stock_adjustments",
    )
    delta = models.IntegerField(help_text=_("Units added (positive) or removed (negative)."))
    quantity_after = models.PositiveIntegerField()
    reason = models.CharField(max_length=20, choices=StockAdjustmentReason.choices)
    note = models.CharField(max_length=255, blank=True)
    actor = models.ForeignKey(
        "User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        db_table = "stock_adjustments"
        constraints = [
            models.CheckConstraint(condition=~Q(delta=0), name="stock_adjustments_delta_not_0"),
        ]
        indexes = [
            models.Index(fields=["product", "-created_at"], name="stock_adj_product_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.delta:+d} ({self.get_reason_display()})"
