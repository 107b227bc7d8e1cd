"""Admin for loyalty and referrals: the points ledger (read-only, append-only), accounts, tiers,
category multipliers, referral codes and referrals, affiliates (approve/reject actions), their
clicks and attributed orders (read-only), commissions (approve action) and payouts (recorded
through the API, which makes their totals add up)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from db.admin.common import ReadOnlyMixin
from db.models import (
    Affiliate,
    AffiliateAttribution,
    AffiliateClick,
    AffiliateCommission,
    AffiliatePayout,
    AffiliateStatus,
    CategoryPointsMultiplier,
    LoyaltyAccount,
    LoyaltyTier,
    PointsEntry,
    Referral,
    ReferralCode,
)


@admin.register(PointsEntry)
class PointsEntryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("created_at", "user", "kind", "points", "order", "expires_at", "reference")
    list_filter = ("kind",)
    list_select_related = ("user", "order")
    search_fields = ("user__email", "reference", "order__number")
    date_hierarchy = "created_at"


@admin.register(LoyaltyAccount)
class LoyaltyAccountAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("user", "balance", "lifetime_earned", "updated_at")
    list_select_related = ("user",)
    search_fields = ("user__email",)


@admin.register(LoyaltyTier)
class LoyaltyTierAdmin(admin.ModelAdmin):
    list_display = ("code", "name_en", "name_bn", "min_spend", "earn_multiplier")


@admin.register(CategoryPointsMultiplier)
class CategoryPointsMultiplierAdmin(admin.ModelAdmin):
    list_display = ("category", "multiplier")
    list_select_related = ("category",)
    autocomplete_fields = ("category",)


@admin.register(ReferralCode)
class ReferralCodeAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("code", "user", "created_at")
    list_select_related = ("user",)
    search_fields = ("code", "user__email")
    ordering = ("-created_at",)
    date_hierarchy = "created_at"


@admin.register(Referral)
class ReferralAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("referrer", "referee", "code", "source", "status", "blocked_reason")
    list_filter = ("status", "source", "blocked_reason")
    list_select_related = ("referrer", "referee")
    search_fields = ("referrer__email", "referee__email", "code")


@admin.register(Affiliate)
class AffiliateAdmin(admin.ModelAdmin):
    list_display = ("user", "status", "commission_rate", "cookie_window_days", "created_at")
    list_filter = ("status",)
    list_select_related = ("user",)
    search_fields = ("user__email", "website")
    readonly_fields = ("approved_at", "approved_by")
    autocomplete_fields = ("user",)
    actions = ("approve", "reject")

    @admin.action(description=_("Approve selected applications"), permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet[Affiliate]) -> None:
        queryset.filter(status=AffiliateStatus.PENDING).update(
            status=AffiliateStatus.APPROVED,
            approved_at=timezone.now(),
            approved_by=request.user,
            updated_at=timezone.now(),
        )

    @admin.action(description=_("Reject selected applications"), permissions=["change"])
    def reject(self, request: HttpRequest, queryset: QuerySet[Affiliate]) -> None:
        queryset.filter(status=AffiliateStatus.PENDING).update(
            status=AffiliateStatus.REJECTED, updated_at=timezone.now()
        )


@admin.register(AffiliateClick)
class AffiliateClickAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("created_at", "affiliate", "landing_path")
    list_filter = ("affiliate__status",)
    list_select_related = ("affiliate__user",)
    search_fields = ("affiliate__user__email", "landing_path")
    ordering = ("-created_at",)
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(AffiliateAttribution)
class AffiliateAttributionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("order", "affiliate", "first_seen_at", "created_at")
    list_filter = ("affiliate__status",)
    list_select_related = ("order", "affiliate__user")
    search_fields = ("order__number", "affiliate__user__email")
    ordering = ("-created_at",)
    date_hierarchy = "created_at"


@admin.register(AffiliateCommission)
class AffiliateCommissionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("order", "affiliate", "base_amount", "rate", "amount", "status", "payout")
    list_filter = ("status",)
    list_select_related = ("order", "affiliate__user", "payout")
    search_fields = ("order__number", "affiliate__user__email")
    actions = ("approve",)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return admin.ModelAdmin.has_change_permission(self, request, obj) and obj is None

    @admin.action(description=_("Approve selected pending commissions"), permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet[AffiliateCommission]) -> None:
        from lib.referrals.affiliates import commissions_approve

        commissions_approve(ids=list(queryset.values_list("pk", flat=True)))


class AffiliateCommissionInline(ReadOnlyMixin, admin.TabularInline):
    model = AffiliateCommission
    fields = ("order", "amount", "status")
    extra = 0


@admin.register(AffiliatePayout)
class AffiliatePayoutAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("created_at", "affiliate", "amount", "reference", "created_by")
    list_select_related = ("affiliate__user", "created_by")
    search_fields = ("affiliate__user__email", "reference")
    inlines = (AffiliateCommissionInline,)
