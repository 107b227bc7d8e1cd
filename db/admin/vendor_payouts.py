"""Admin of the marketplace's money and onboarding: applications (approve or reject through
the same services as the API), commission rules, vendors' parts of orders and their lines with
the commission frozen at placement (read-only), the vendor ledger (read-only) and payouts
(recorded through the API, which locks the balance; cancelled here).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from db.admin.common import ReadOnlyMixin
from db.models import (
    CommissionRule,
    PayoutStatus,
    VendorApplication,
    VendorApplicationStatus,
    VendorLedgerEntry,
    VendorOrder,
    VendorOrderLine,
    VendorPayout,
)
from lib.errors import ApiError


def decide_each(
    admin_view: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet[VendorApplication],
    decide: Any,
) -> None:
    """Run `decide(application)` for each pending application; report what happened."""
    done = 0
    for application in queryset.filter(status=VendorApplicationStatus.PENDING):
        try:
            decide(application)
            done += 1
        except ApiError as error:
            admin_view.message_user(
                request, f"{application.business_name}: {error.code}", messages.ERROR
            )
    admin_view.message_user(request, _("%d application(s) decided.") % done)


@admin.register(VendorApplication)
class VendorApplicationAdmin(admin.ModelAdmin):
    list_display = ("business_name", "slug", "applicant", "payout_method", "status", "created_at")
    list_filter = ("status", "payout_method")
    list_select_related = ("applicant", "vendor")
    search_fields = ("business_name", "slug", "applicant__email", "trade_licence_no")
    readonly_fields = (
        "applicant",
        "business_name",
        "slug",
        "contact_email",
        "contact_phone",
        "trade_licence_no",
        "nid_no",
        "payout_method",
        "payout_account",
        "status",
        "decided_by",
        "decided_at",
        "vendor",
        "created_at",
    )
    fields = (*readonly_fields, "decision_reason")
    actions = ("approve", "reject")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # people apply through the API

    @admin.action(
        description=_("Approve: create the vendor, applicant as owner"), permissions=["change"]
    )
    def approve(self, request: HttpRequest, queryset: QuerySet[VendorApplication]) -> None:
        from lib.vendors.onboarding import application_approve

        decide_each(
            self,
            request,
            queryset,
            lambda a: application_approve(application_id=a.pk, actor_id=str(request.user.pk)),
        )

    @admin.action(
        description=_("Reject with the reason written on each application"), permissions=["change"]
    )
    def reject(self, request: HttpRequest, queryset: QuerySet[VendorApplication]) -> None:
        from lib.vendors.onboarding import application_reject

        missing = queryset.filter(decision_reason="")
        if missing.exists():
            self.message_user(
                request, _("Write a decision reason on each application first."), messages.ERROR
            )
            return
        decide_each(
            self,
            request,
            queryset,
            lambda a: application_reject(
                application_id=a.pk, reason=a.decision_reason, actor_id=str(request.user.pk)
            ),
        )


@admin.register(CommissionRule)
class CommissionRuleAdmin(admin.ModelAdmin):
    list_display = ("scope", "vendor", "category", "rate", "starts_at", "ends_at", "note")
    list_filter = ("scope",)
    list_select_related = ("vendor", "category")
    search_fields = ("vendor__name", "category__name_en", "note")
    autocomplete_fields = ("vendor", "category")


class VendorOrderLineInline(ReadOnlyMixin, admin.TabularInline):
    model = VendorOrderLine
    extra = 0
    fields = ("order_item", "commission_rate", "commission", "rule")


@admin.register(VendorOrder)
class VendorOrderAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("order", "vendor", "status", "subtotal", "commission", "payout_amount")
    list_filter = ("status",)
    list_select_related = ("order", "vendor")
    search_fields = ("order__number", "vendor__name")
    inlines = (VendorOrderLineInline,)


@admin.register(VendorOrderLine)
class VendorOrderLineAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = (
        "order_item",
        "vendor_order__order",
        "vendor_order__vendor",
        "commission_rate",
        "commission",
        "rule",
        "created_at",
    )
    list_filter = ("rule__scope",)
    list_select_related = ("order_item", "vendor_order__order", "vendor_order__vendor", "rule")
    search_fields = (
        "vendor_order__order__number",
        "vendor_order__vendor__name",
        "order_item__sku",
        "order_item__product_name",
    )
    ordering = ("-created_at",)
    date_hierarchy = "created_at"


@admin.register(VendorLedgerEntry)
class VendorLedgerEntryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("created_at", "vendor", "kind", "amount", "vendor_order", "payout")
    list_filter = ("kind",)
    list_select_related = ("vendor", "vendor_order__order", "payout")
    search_fields = ("vendor__name", "vendor_order__order__number", "payout__reference")


@admin.register(VendorPayout)
class VendorPayoutAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("created_at", "vendor", "amount", "method", "reference", "status")
    list_filter = ("status", "method")
    list_select_related = ("vendor",)
    search_fields = ("vendor__name", "reference")
    actions = ("cancel",)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Read-only fields; the change permission only lets the cancel action run.
        return obj is None and super(ReadOnlyMixin, self).has_change_permission(request, obj)

    @admin.action(
        description=_("Cancel: credit the amount back to the vendor"), permissions=["change"]
    )
    def cancel(self, request: HttpRequest, queryset: QuerySet[VendorPayout]) -> None:
        from lib.vendors.balances import payout_cancel

        count = 0
        for payout in queryset.filter(status=PayoutStatus.PAID):
            payout_cancel(payout_id=payout.pk)
            count += 1
        self.message_user(request, _("%d payout(s) cancelled.") % count)
