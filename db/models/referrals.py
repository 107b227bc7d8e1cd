"""Referrals (customer brings customer, both earn points) and affiliates (approved partners
earn a commission on the orders they bring; rules in lib/referrals)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .base import ZERO, CreatedModel, TimeStampedModel, money_field


class ReferralCode(CreatedModel):
    """A customer's own code (also an approved affiliate's), shared as `?ref=CODE`."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="referral_code"
    )
    code = models.CharField(max_length=16, unique=True)

    class Meta:
        db_table = "referral_codes"

    def __str__(self) -> str:
        return self.code


class ReferralSource(models.TextChoices):
    SIGNUP = "signup", _("Entered at sign-up")
    CLAIM = "claim", _("Claimed before the first order")
    CHECKOUT = "checkout", _("Given at the first order's checkout")


class ReferralStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for the first delivered order")
    CREDITED = "credited", _("Both credited")
    BLOCKED = "blocked", _("Not credited")


class Referral(TimeStampedModel):
    """Who brought whom: one per referred customer, credited at most once."""

    referrer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="referrals_made"
    )
    referee = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="referral"
    )
    code = models.CharField(max_length=16)
    source = models.CharField(max_length=10, choices=ReferralSource.choices)
    status = models.CharField(
        max_length=10, choices=ReferralStatus.choices, default=ReferralStatus.PENDING
    )
    blocked_reason = models.CharField(max_length=40, blank=True)
    order = models.ForeignKey(
        "Order",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The referred customer's first delivered order."),
    )
    credited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "referrals"
        constraints = [
            models.CheckConstraint(
                condition=~Q(referrer=models.F("referee")), name="referrals_not_self"
            ),
        ]
        indexes = [models.Index(fields=["referrer", "status"], name="referrals_referrer_idx")]

    def __str__(self) -> str:
        return f"{self.referrer_id} -> {self.referee_id}"


class AffiliateStatus(models.TextChoices):
    PENDING = "pending", _("Applied")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    SUSPENDED = "suspended", _("Suspended")


class Affiliate(TimeStampedModel):
    """A partner earning a commission on orders brought with their code within the window."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="affiliate"
    )
    status = models.CharField(
        max_length=10, choices=AffiliateStatus.choices, default=AffiliateStatus.PENDING
    )
    commission_rate = models.DecimalField(
        max_digits=5, decimal_places=2, default=5, help_text=_("Percent of the item subtotal.")
    )
    cookie_window_days = models.PositiveSmallIntegerField(default=30)
    website = models.CharField(max_length=255, blank=True)
    note = models.TextField(blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        db_table = "affiliates"
        constraints = [
            models.CheckConstraint(
                condition=Q(commission_rate__gte=0) & Q(commission_rate__lte=100),
                name="affiliates_rate_0_100",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} ({self.status})"


class AffiliateClick(CreatedModel):
    """A visit the storefront reported with an affiliate's code (for the dashboard)."""

    affiliate = models.ForeignKey(
        Affiliate,
        on_delete=models.CASCADE,
        related_name="clicks",
        db_index=False,  # covered by affiliate_clicks_aff_idx
    )
    landing_path = models.CharField(max_length=255, blank=True)

    class Meta:
        db_table = "affiliate_clicks"
        indexes = [
            models.Index(fields=["affiliate", "created_at"], name="affiliate_clicks_aff_idx")
        ]


class AffiliateAttribution(CreatedModel):
    """An order placed with an affiliate's code seen within their window."""

    order = models.OneToOneField("Order", on_delete=models.CASCADE, related_name="+")
    affiliate = models.ForeignKey(Affiliate, on_delete=models.PROTECT, related_name="attributions")
    first_seen_at = models.DateTimeField()

    class Meta:
        db_table = "affiliate_attributions"


class AffiliateCommissionStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REVERSED = "reversed", _("Reversed")
    PAID = "paid", _("Paid")


class AffiliatePayout(CreatedModel):
    """Money paid to an affiliate: exactly the sum of the commissions it covers."""

    affiliate = models.ForeignKey(Affiliate, on_delete=models.PROTECT, related_name="payouts")
    amount = money_field()
    reference = models.CharField(max_length=100, blank=True, help_text=_("e.g. bKash trx id"))
    note = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        db_table = "affiliate_payouts"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="affiliate_payouts_amount_gt_0")
        ]


class AffiliateCommission(TimeStampedModel):
    """Accrued when an attributed order is delivered; reversed if it is refunded or returned
    before being paid out."""

    affiliate = models.ForeignKey(Affiliate, on_delete=models.PROTECT, related_name="commissions")
    order = models.OneToOneField("Order", on_delete=models.PROTECT, related_name="+")
    base_amount = money_field(default=ZERO)
    rate = models.DecimalField(max_digits=5, decimal_places=2)
    amount = money_field()
    status = models.CharField(
        max_length=10,
        choices=AffiliateCommissionStatus.choices,
        default=AffiliateCommissionStatus.PENDING,
    )
    payout = models.ForeignKey(
        AffiliatePayout,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="commissions",
    )

    class Meta:
        db_table = "affiliate_commissions"
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="affiliate_commissions_amt_ok"),
            models.CheckConstraint(
                condition=Q(status="paid", payout__isnull=False)
                | (~Q(status="paid") & Q(payout__isnull=True)),
                name="affiliate_commissions_paid",
            ),
        ]
        indexes = [
            models.Index(fields=["affiliate", "status"], name="affiliate_commissions_aff_idx")
        ]
