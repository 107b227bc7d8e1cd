"""Checkout rules: Bangladesh geography, shipping zones and rates, discounts, fraud reviews."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from .base import ZERO, CreatedModel, TimeStampedModel, money_field


class Division(models.Model):
    name_en = models.CharField(max_length=50, unique=True)
    name_bn = models.CharField(max_length=50)

    class Meta:
        db_table = "geo_divisions"
        ordering = ["name_en"]

    def __str__(self) -> str:
        return self.name_en


class District(models.Model):
    division = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="districts")
    name_en = models.CharField(max_length=50, unique=True)
    name_bn = models.CharField(max_length=50)

    class Meta:
        db_table = "geo_districts"
        ordering = ["name_en"]

    def __str__(self) -> str:
        return self.name_en


class Upazila(models.Model):
    """Sub-district (upazila / thana): the 'area' of an address."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="upazilas")
    name_en = models.CharField(max_length=80)
    name_bn = models.CharField(max_length=80)

    class Meta:
        db_table = "geo_upazilas"
        ordering = ["name_en"]
        constraints = [
            models.UniqueConstraint(fields=["district", "name_en"], name="geo_upazilas_unique")
        ]

    def __str__(self) -> str:
        return self.name_en


class ShippingZone(TimeStampedModel):
    """A delivery zone as couriers price them: inside Dhaka, Dhaka suburbs, outside Dhaka."""

    code = models.SlugField(max_length=40, unique=True)
    name_en = models.CharField(max_length=100)
    name_bn = models.CharField(max_length=100, blank=True)
    rate = money_field()
    free_shipping_threshold = money_field(null=True, blank=True)
    delivery_days_min = models.PositiveSmallIntegerField(default=1)
    delivery_days_max = models.PositiveSmallIntegerField(default=3)
    is_default = models.BooleanField(default=False, help_text=_("For districts not listed."))

    class Meta:
        db_table = "shipping_zones"
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="shipping_zones_one_default",
            ),
            models.CheckConstraint(
                condition=Q(delivery_days_min__lte=models.F("delivery_days_max")),
                name="shipping_zones_days_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.name_en


class ShippingDistrictRate(models.Model):
    """A district's zone, optionally with its own rate (overrides the zone's)."""

    district = models.OneToOneField(District, on_delete=models.CASCADE, related_name="shipping")
    zone = models.ForeignKey(ShippingZone, on_delete=models.CASCADE, related_name="districts")
    rate = money_field(null=True, blank=True)

    class Meta:
        db_table = "shipping_district_rates"

    def __str__(self) -> str:
        return f"{self.district} -> {self.zone}"


class DiscountKind(models.TextChoices):
    PERCENTAGE = "percentage", _("Percentage off")
    FIXED = "fixed", _("Fixed amount off")
    FREE_SHIPPING = "free_shipping", _("Free shipping")


class Discount(TimeStampedModel):
    """A coupon (with a code) or an automatic promotion (without)."""

    code = models.CharField(max_length=40, null=True, blank=True)  # noqa: DJ001 - NULL = automatic promotion; unique when set
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=DiscountKind.choices)
    value = money_field(default=ZERO, help_text=_("Percent (0-100) or taka, by kind."))
    max_discount = money_field(null=True, blank=True, help_text=_("Cap for percentage discounts."))
    min_order = money_field(default=ZERO)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    usage_limit = models.PositiveIntegerField(null=True, blank=True)
    usage_limit_per_customer = models.PositiveIntegerField(null=True, blank=True)
    times_used = models.PositiveIntegerField(default=0)
    stackable = models.BooleanField(default=False, help_text=_("Combines with other discounts."))
    priority = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    categories = models.ManyToManyField("Category", blank=True, related_name="+")
    products = models.ManyToManyField("Product", blank=True, related_name="+")
    vendors = models.ManyToManyField("Vendor", blank=True, related_name="+")

    class Meta:
        db_table = "discounts"
        constraints = [
            models.UniqueConstraint(Upper("code"), name="discounts_code_ci_unique"),
            models.CheckConstraint(condition=Q(value__gte=0), name="discounts_value_gte_0"),
            models.CheckConstraint(
                condition=~Q(kind="percentage") | Q(value__lte=100),
                name="discounts_percentage_lte_100",
            ),
            models.CheckConstraint(
                condition=Q(usage_limit__isnull=True) | Q(times_used__lte=models.F("usage_limit")),
                name="discounts_usage_within_limit",
            ),
        ]
        indexes = [models.Index(fields=["is_active", "code"], name="discounts_active_code_idx")]

    def __str__(self) -> str:
        return self.code or self.name


class DiscountRedemption(CreatedModel):
    """One use of a discount by one order (counted once, even when placement is retried)."""

    discount = models.ForeignKey(Discount, on_delete=models.PROTECT, related_name="redemptions")
    order = models.ForeignKey("Order", on_delete=models.CASCADE, related_name="redemptions")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    customer_key = models.CharField(
        max_length=255, help_text=_("User id, or the guest's phone/email, for per-customer limits.")
    )
    amount = money_field()

    class Meta:
        db_table = "discount_redemptions"
        constraints = [
            models.UniqueConstraint(fields=["discount", "order"], name="redemptions_once_per_order")
        ]
        indexes = [
            models.Index(fields=["discount", "customer_key"], name="redemptions_customer_idx")
        ]

    def __str__(self) -> str:
        return f"{self.discount} on {self.order_id}"


class FraudDecision(models.TextChoices):
    ACCEPTED = "accepted", _("Accepted automatically")
    HELD = "held", _("Held for review")
    APPROVED = "approved", _("Approved by staff")
    REJECTED = "rejected", _("Rejected by staff")


class FraudReview(CreatedModel):
    """Audit of a fraud screening and of the staff decision that followed."""

    order = models.ForeignKey("Order", on_delete=models.CASCADE, related_name="fraud_reviews")
    score = models.PositiveIntegerField()
    reasons = models.JSONField(default=list)
    decision = models.CharField(max_length=20, choices=FraudDecision.choices)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.TextField(blank=True)

    class Meta:
        db_table = "fraud_reviews"
        indexes = [models.Index(fields=["order", "-created_at"], name="fraud_reviews_order_idx")]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} ({self.score})"
