"""Multi-vendor marketplace: vendors and the users who run them."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .base import CreatedModel, TimeStampedModel, money_field, phone_field


class VendorStatus(models.TextChoices):
    PENDING = "pending", _("Pending approval")
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")


class PayoutMethod(models.TextChoices):
    BKASH = "bkash", _("bKash")
    NAGAD = "nagad", _("Nagad")
    BANK = "bank", _("Bank transfer")


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
    # Where payouts go, from the approved application: see VendorApplication.payout_account.
    payout_method = models.CharField(max_length=10, choices=PayoutMethod.choices, blank=True)
    payout_account = models.JSONField(default=dict, blank=True)
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


# --- onboarding ----------------------------------------------------------------------------


class VendorApplicationStatus(models.TextChoices):
    PENDING = "pending", _("Pending review")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class VendorApplication(TimeStampedModel):
    """A signed-in user's request to sell on the store; staff approve (creating the vendor,
    the applicant its owner) or reject it with a reason."""

    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="vendor_applications"
    )
    business_name = models.CharField(max_length=255)
    slug = models.SlugField(max_length=255)
    contact_email = models.EmailField(max_length=255)
    contact_phone = phone_field()
    trade_licence_no = models.CharField(_("trade licence number"), max_length=64)
    nid_no = models.CharField(_("national ID number"), max_length=32, blank=True)
    payout_method = models.CharField(max_length=10, choices=PayoutMethod.choices)
    # bKash/Nagad: {"account_number"}; bank: {"account_name", "account_number", "bank_name",
    # "branch", "routing_number"}
    payout_account = models.JSONField(default=dict)
    status = models.CharField(
        max_length=10,
        choices=VendorApplicationStatus.choices,
        default=VendorApplicationStatus.PENDING,
    )
    decision_reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    vendor = models.ForeignKey(
        Vendor, on_delete=models.SET_NULL, null=True, blank=True, related_name="applications"
    )

    class Meta:
        db_table = "vendor_applications"
        constraints = [
            models.UniqueConstraint(
                fields=["applicant"],
                condition=models.Q(status="pending"),
                name="vendor_applications_one_open",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="vendor_applications_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.business_name} ({self.status})"


# --- commission ----------------------------------------------------------------------------


class CommissionScope(models.TextChoices):
    GLOBAL = "global", _("Every sale")
    CATEGORY = "category", _("A category (and its subcategories)")
    VENDOR = "vendor", _("A vendor")
    VENDOR_CATEGORY = "vendor_category", _("A vendor in a category")


class CommissionRule(TimeStampedModel):
    """The store's cut of a sale, in percent. The most specific rule in force when the order
    is placed wins: vendor+category, then vendor, then the nearest category, then global."""

    scope = models.CharField(max_length=20, choices=CommissionScope.choices)
    vendor = models.ForeignKey(
        Vendor,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="commission_rules",
    )
    category = models.ForeignKey(
        "Category",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="commission_rules",
    )
    rate = models.DecimalField(
        _("rate (%)"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(null=True, blank=True, help_text=_("Empty: open-ended"))
    note = models.CharField(max_length=255, blank=True)

    class Meta:
        db_table = "commission_rules"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rate__gte=0, rate__lte=100),
                name="commission_rules_rate_0_100",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(scope="global", vendor__isnull=True, category__isnull=True)
                    | models.Q(scope="category", vendor__isnull=True, category__isnull=False)
                    | models.Q(scope="vendor", vendor__isnull=False, category__isnull=True)
                    | models.Q(
                        scope="vendor_category", vendor__isnull=False, category__isnull=False
                    )
                ),
                name="commission_rules_scope_fits",
            ),
            models.CheckConstraint(
                condition=models.Q(ends_at__isnull=True)
                | models.Q(ends_at__gt=models.F("starts_at")),
                name="commission_rules_ends_after",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.rate}%"


# --- vendors' parts of orders ----------------------------------------------------------------


class VendorOrder(TimeStampedModel):
    """One vendor's part of an order: its lines, their frozen commission and the vendor's
    payout. `status` follows fulfilment (see `lib.vendors.fulfilment`)."""

    order = models.ForeignKey("Order", on_delete=models.CASCADE, related_name="vendor_orders")
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="vendor_orders")
    status = models.CharField(max_length=20)  # an OrderStatus value
    subtotal = money_field()
    commission = money_field()
    payout_amount = money_field()

    class Meta:
        db_table = "vendor_orders"
        constraints = [
            models.UniqueConstraint(
                fields=["order", "vendor"], name="vendor_orders_one_per_vendor"
            ),
        ]
        indexes = [
            models.Index(
                fields=["vendor", "status", "-created_at"], name="vendor_orders_vendor_st_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.vendor_id} part of {self.order_id}"


class VendorOrderLine(CreatedModel):
    """An order item of the vendor with the commission frozen at placement."""

    vendor_order = models.ForeignKey(VendorOrder, on_delete=models.CASCADE, related_name="lines")
    order_item = models.OneToOneField(
        "OrderItem", on_delete=models.CASCADE, related_name="vendor_line"
    )
    rule = models.ForeignKey(
        CommissionRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    commission_rate = models.DecimalField(max_digits=5, decimal_places=2)
    commission = money_field()

    class Meta:
        db_table = "vendor_order_lines"


# --- the vendor's money ------------------------------------------------------------------------


class PayoutStatus(models.TextChoices):
    PAID = "paid", _("Paid")
    CANCELLED = "cancelled", _("Cancelled")


class VendorPayout(TimeStampedModel):
    """Money staff sent to a vendor (recorded after the transfer), debited from its balance."""

    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="payouts")
    amount = money_field()
    method = models.CharField(max_length=10, choices=PayoutMethod.choices)
    reference = models.CharField(max_length=100, help_text=_("Transaction id of the transfer"))
    status = models.CharField(
        max_length=10, choices=PayoutStatus.choices, default=PayoutStatus.PAID
    )
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    note = models.CharField(max_length=255, blank=True)
    idempotency_key = models.CharField(max_length=128, unique=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        db_table = "vendor_payouts"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="vendor_payouts_amount_gt_0"
            ),
        ]
        indexes = [
            models.Index(fields=["vendor", "-created_at"], name="vendor_payouts_vendor_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} to {self.vendor_id}"


class LedgerKind(models.TextChoices):
    SALE = "sale", _("Sale credit")
    COMMISSION = "commission", _("Commission")
    SALE_REVERSAL = "sale_reversal", _("Refund or return of a sale")
    COMMISSION_REVERSAL = "commission_reversal", _("Commission given back")
    PAYOUT = "payout", _("Payout")
    PAYOUT_REVERSAL = "payout_reversal", _("Cancelled payout")


class VendorLedgerEntry(CreatedModel):
    """Append-only: the vendor's balance is the sum of `amount` (credits positive). Each
    event is written once (unique per vendor order or payout and kind)."""

    vendor = models.ForeignKey(
        Vendor, on_delete=models.PROTECT, related_name="ledger_entries", db_index=False
    )
    kind = models.CharField(max_length=20, choices=LedgerKind.choices)
    amount = money_field()
    vendor_order = models.ForeignKey(
        VendorOrder, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_entries"
    )
    payout = models.ForeignKey(
        VendorPayout, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_entries"
    )

    class Meta:
        db_table = "vendor_ledger_entries"
        constraints = [
            models.UniqueConstraint(
                fields=["vendor_order", "kind"],
                condition=models.Q(vendor_order__isnull=False),
                name="vendor_ledger_order_kind_uniq",
            ),
            models.UniqueConstraint(
                fields=["payout", "kind"],
                condition=models.Q(payout__isnull=False),
                name="vendor_ledger_payout_kind_uniq",
            ),
        ]
        indexes = [
            models.Index(fields=["vendor", "-created_at"], name="vendor_ledger_vendor_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount}"
