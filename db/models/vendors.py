"""Multi-vendor marketplace: vendors and the users who run them."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from .base import TimeStampedModel, phone_field


class VendorStatus(models.TextChoices):
    PENDING = "pending", _("Pending approval")
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")


class VendorRole(models.TextChoices):
    OWNER = "owner", _("Owner")
    STAFF = "staff", _("Staff")


class Vendor(TimeStampedModel):
    name = models.CharField(max_length=255)
    slug = models.SlugField(max_length=255, unique=True)
    status = models.CharField(
        max_length=20, choices=VendorStatus.choices, default=VendorStatus.PENDING
    )
    commission_rate = models.DecimalField(
        _("commission rate (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    contact_email = models.EmailField(max_length=255, blank=True)
    contact_phone = phone_field()
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="VendorMember", related_name="vendors", blank=True
    )

    class Meta:
        db_table = "vendors"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(commission_rate__gte=0, commission_rate__lte=100),
                name="vendors_commission_rate_0_100",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class VendorMember(TimeStampedModel):
    vendor = models.ForeignKey(
        Vendor,
        on_delete=models.CASCADE,
        related_name="memberships",
        db_index=False,  # covered by vendor_members_unique_user
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="vendor_memberships"
    )
    role = models.CharField(max_length=20, choices=VendorRole.choices, default=VendorRole.STAFF)

    class Meta:
        db_table = "vendor_members"
        constraints = [
            models.UniqueConstraint(fields=["vendor", "user"], name="vendor_members_unique_user"),
        ]

    def __str__(self) -> str:
        return f"{self.role} of vendor {self.vendor_id}"
