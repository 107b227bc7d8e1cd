"""Sales rollups: one row per Asia/Dhaka calendar day (shop-wide and per vendor), and per day
and product. Built by `lib.analytics.rollups` (cron and backfill); read by the analytics API.

What the figures mean (the one definition, `lib/analytics/rollups.py`):
- an order counts on the Dhaka day it was placed once it is confirmed: every status except
  `awaiting_payment` (a wallet order not paid yet), `on_hold` (fraud review) and `cancelled`;
- `revenue` is the sum of its lines (`OrderItem.total_price`): goods sold, before the order's
  discount, without shipping; a vendor's row counts only that vendor's lines;
- `refunds` are the lines of counted orders that were later returned or refunded (on the day
  the order was placed), so `net_revenue = revenue - discounts - refunds`.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .base import ZERO, UUIDModel, money_field


class DailySales(UUIDModel):
    """One Dhaka day of sales: the whole shop (`vendor` empty) or one vendor's lines."""

    day = models.DateField(_("day (Asia/Dhaka)"))
    vendor = models.ForeignKey(
        "Vendor",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # covered by daily_sales_vendor_day
    )
    orders = models.PositiveIntegerField(default=0)
    units = models.PositiveIntegerField(default=0)
    revenue = money_field(default=ZERO, help_text=_("Sum of the counted orders' lines."))
    discounts = money_field(default=ZERO, help_text=_("Order discounts (shop-wide rows)."))
    shipping = money_field(default=ZERO, help_text=_("Shipping and COD fees (shop-wide rows)."))
    refunds = money_field(default=ZERO, help_text=_("Lines of orders later returned/refunded."))
    new_customers = models.PositiveIntegerField(default=0)
    returning_customers = models.PositiveIntegerField(default=0)
    payment_methods = models.JSONField(
        default=dict,
        blank=True,
        help_text=_('Per payment method: {"cod": {"orders": 3, "revenue": "1200.00"}}.'),
    )
    computed_at = models.DateTimeField()

    class Meta:
        db_table = "daily_sales"
        verbose_name_plural = _("daily sales")
        constraints = [
            models.UniqueConstraint(
                fields=["day"], condition=Q(vendor__isnull=True), name="daily_sales_shop_day"
            ),
            models.UniqueConstraint(
                fields=["vendor", "day"],
                condition=Q(vendor__isnull=False),
                name="daily_sales_vendor_day",
            ),
        ]
        indexes = [models.Index(fields=["day"], name="daily_sales_day_idx")]

    def __str__(self) -> str:
        return f"{self.day} {self.vendor_id or 'shop'}"


class DailyProductSales(UUIDModel):
    """One Dhaka day of one product's counted lines (of one vendor)."""

    day = models.DateField(_("day (Asia/Dhaka)"))
    product = models.ForeignKey(
        "Product", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    vendor = models.ForeignKey(
        "Vendor", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    orders = models.PositiveIntegerField(default=0)
    units = models.PositiveIntegerField(default=0)
    revenue = money_field(default=ZERO)

    class Meta:
        db_table = "daily_product_sales"
        verbose_name_plural = _("daily product sales")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "product", "vendor"], name="daily_product_sales_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["product", "day"], name="daily_product_sales_prod_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.product_id}"


class FunnelSnapshot(UUIDModel):
    """The product counters (views, cart adds, purchases since counting began) summed for the
    whole shop (`vendor` empty) or one vendor's products, as the analytics cron last saw them
    on a Dhaka day. A range's funnel is the difference of two days' snapshots."""

    day = models.DateField(_("day (Asia/Dhaka)"))
    vendor = models.ForeignKey(
        "Vendor",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # covered by funnel_snapshots_vendor_day
    )
    views = models.PositiveBigIntegerField(default=0)
    cart_adds = models.PositiveBigIntegerField(default=0)
    purchases = models.PositiveBigIntegerField(default=0)
    taken_at = models.DateTimeField()

    class Meta:
        db_table = "funnel_snapshots"
        constraints = [
            models.UniqueConstraint(
                fields=["day"], condition=Q(vendor__isnull=True), name="funnel_snapshots_shop_day"
            ),
            models.UniqueConstraint(
                fields=["vendor", "day"],
                condition=Q(vendor__isnull=False),
                name="funnel_snapshots_vendor_day",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.vendor_id or 'shop'}"
