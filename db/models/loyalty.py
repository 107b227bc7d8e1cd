"""Loyalty points: an append-only ledger, each customer's cached balance, tiers and the
per-category earn multipliers (rules in lib/loyalty)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .base import CreatedModel, TimeStampedModel, UUIDModel, money_field


class PointsKind(models.TextChoices):
    EARN = "earn", _("Earned on a delivered order")
    REDEEM = "redeem", _("Redeemed at checkout")
    RESTORE = "restore", _("Redeemed points given back (order cancelled or refunded)")
    EXPIRE = "expire", _("Expired")
    REVERSE = "reverse", _("Earned points taken back (order refunded or returned)")
    ADJUST = "adjust", _("Adjusted by staff")
    REFERRAL_BONUS = "referral_bonus", _("Referral bonus")


class PointsEntryQuerySet(models.QuerySet):
    """The ledger is append-only: bulk updates and deletes are refused."""

    def update(self, **kwargs: Any) -> int:
        raise ValueError("Points entries are append-only and cannot be changed.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ValueError("Points entries are append-only and cannot be deleted.")


class PointsEntry(CreatedModel):
    """One movement of a customer's points. Never updated or deleted; the balance is the sum.
    `reference` makes every write idempotent (e.g. `earn:order:<id>`)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="points_entries",
        db_index=False,  # covered by points_entries_user_idx
    )
    kind = models.CharField(max_length=20, choices=PointsKind.choices)
    points = models.IntegerField(help_text=_("Positive: credited; negative: debited."))
    order = models.ForeignKey(
        "Order", on_delete=models.PROTECT, null=True, blank=True, related_name="points_entries"
    )
    reference = models.CharField(max_length=120, unique=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=255, blank=True)

    objects = PointsEntryQuerySet.as_manager()

    class Meta:
        db_table = "points_entries"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    (Q(kind__in=["earn", "restore", "referral_bonus"]) & Q(points__gt=0))
                    | (Q(kind__in=["redeem", "expire", "reverse"]) & Q(points__lt=0))
                    | (Q(kind="adjust") & ~Q(points=0))
                ),
                name="points_entries_sign_by_kind",
            ),
            models.CheckConstraint(
                condition=Q(expires_at__isnull=True) | Q(kind__in=["earn", "referral_bonus"]),
                name="points_entries_expiry_earned",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "created_at"], name="points_entries_user_idx"),
            models.Index(
                fields=["expires_at"],
                name="points_entries_expires_idx",
                condition=Q(expires_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.points:+d}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError("Points entries are append-only and cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("Points entries are append-only and cannot be deleted.")


class LoyaltyAccount(TimeStampedModel):
    """A customer's balance: the sum of their ledger, updated in the same transaction as each
    entry under this row's lock. It may go below zero when points already spent are taken
    back (a refunded order); redemption then waits until new points cover it."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="loyalty_account"
    )
    balance = models.IntegerField(default=0)
    lifetime_earned = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "loyalty_accounts"

    def __str__(self) -> str:
        return f"{self.user_id}: {self.balance}"


class LoyaltyTier(UUIDModel):
    """A tier reached by what the customer spent on delivered orders over the last 12 months."""

    code = models.SlugField(max_length=30, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=60)
    name_bn = models.CharField(_("name (Bangla)"), max_length=60)
    min_spend = money_field(help_text=_("BDT spent over the last 12 months to reach the tier."))
    earn_multiplier = models.DecimalField(max_digits=4, decimal_places=2, default=1)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        db_table = "loyalty_tiers"
        ordering = ["min_spend"]
        constraints = [
            models.UniqueConstraint(fields=["min_spend"], name="loyalty_tiers_min_spend_uniq"),
            models.CheckConstraint(
                condition=Q(min_spend__gte=0), name="loyalty_tiers_min_spend_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(earn_multiplier__gte=0), name="loyalty_tiers_multiplier_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return self.name_en


class CategoryPointsMultiplier(CreatedModel):
    """Items of `category` earn `multiplier` times the base rate (0 earns nothing)."""

    category = models.OneToOneField(
        "Category", on_delete=models.CASCADE, related_name="points_multiplier"
    )
    multiplier = models.DecimalField(max_digits=4, decimal_places=2, default=1)

    class Meta:
        db_table = "category_points_multipliers"
        constraints = [
            models.CheckConstraint(
                condition=Q(multiplier__gte=0), name="category_points_mult_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.category_id} x{self.multiplier}"
