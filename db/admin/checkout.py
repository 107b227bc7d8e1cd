"""Admin for checkout rules: geography, shipping zones, discounts, fraud reviews."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from db.admin.common import ReadOnlyMixin
from db.models import (
    Discount,
    DiscountRedemption,
    District,
    Division,
    FraudReview,
    ShippingDistrictRate,
    ShippingZone,
    Upazila,
)


@admin.register(Division)
class DivisionAdmin(admin.ModelAdmin):
    list_display = ("name_en", "name_bn")
    search_fields = ("name_en", "name_bn")
    ordering = ("name_en",)
    fields = (("name_en", "name_bn"),)


@admin.register(District)
class DistrictAdmin(admin.ModelAdmin):
    list_display = ("name_en", "name_bn", "division")
    list_select_related = ("division",)
    list_filter = ("division",)
    search_fields = ("name_en", "name_bn")
    autocomplete_fields = ("division",)
    ordering = ("name_en",)
    fields = ("division", ("name_en", "name_bn"))


@admin.register(Upazila)
class UpazilaAdmin(admin.ModelAdmin):
    list_display = ("name_en", "name_bn", "district")
    list_select_related = ("district",)
    list_filter = (("district__division", admin.RelatedOnlyFieldListFilter),)
    search_fields = ("name_en", "name_bn", "district__name_en")
    autocomplete_fields = ("district",)
    ordering = ("name_en",)
    fields = ("district", ("name_en", "name_bn"))


class ShippingDistrictRateInline(admin.TabularInline):
    model = ShippingDistrictRate
    extra = 0
    autocomplete_fields = ("district",)


@admin.register(ShippingZone)
class ShippingZoneAdmin(admin.ModelAdmin):
    list_display = ("name_en", "name_bn", "code", "rate", "free_shipping_threshold", "is_default")
    list_filter = ("is_default",)
    search_fields = ("name_en", "name_bn", "code")
    ordering = ("code",)
    fieldsets = (
        (None, {"fields": ("code", ("name_en", "name_bn"), "is_default")}),
        (
            _("Rates (BDT) and delivery"),
            {
                "fields": (
                    ("rate", "free_shipping_threshold"),
                    ("delivery_days_min", "delivery_days_max"),
                )
            },
        ),
    )
    inlines = (ShippingDistrictRateInline,)


@admin.register(ShippingDistrictRate)
class ShippingDistrictRateAdmin(admin.ModelAdmin):
    list_display = ("district", "zone", "rate")
    list_select_related = ("district", "zone")
    list_filter = ("zone",)
    search_fields = ("district__name_en", "district__name_bn", "zone__code")
    autocomplete_fields = ("district", "zone")
    ordering = ("zone", "district")


@admin.register(Discount)
class DiscountAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "kind", "value", "times_used", "usage_limit", "is_active")
    list_filter = ("kind", "is_active", "stackable")
    search_fields = ("name", "code")
    readonly_fields = ("times_used",)
    autocomplete_fields = ("categories", "products", "vendors")
    ordering = ("-created_at",)
    date_hierarchy = "created_at"
    fieldsets = (
        (None, {"fields": (("name", "code"), ("kind", "value", "max_discount"), "is_active")}),
        (
            _("Conditions"),
            {
                "fields": (
                    "min_order",
                    ("starts_at", "ends_at"),
                    ("usage_limit", "usage_limit_per_customer", "times_used"),
                    ("stackable", "priority"),
                )
            },
        ),
        (_("Applies to (empty: everything)"), {"fields": ("categories", "products", "vendors")}),
    )
    actions = ("activate", "deactivate")

    @admin.action(description=_("Activate selected coupons"), permissions=["change"])
    def activate(self, request: HttpRequest, queryset: QuerySet[Discount]) -> None:
        count = queryset.update(is_active=True, updated_at=timezone.now())
        self.message_user(request, _("%d coupon(s) activated.") % count)

    @admin.action(description=_("Deactivate selected coupons"), permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Discount]) -> None:
        count = queryset.update(is_active=False, updated_at=timezone.now())
        self.message_user(request, _("%d coupon(s) deactivated.") % count)


@admin.register(DiscountRedemption)
class DiscountRedemptionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("discount", "order", "customer_key", "amount", "created_at")
    list_select_related = ("discount", "order")
    list_filter = (("discount", admin.RelatedOnlyFieldListFilter),)
    search_fields = ("discount__code", "order__number", "customer_key")
    ordering = ("-created_at",)


@admin.register(FraudReview)
class FraudReviewAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("order", "score", "decision", "decided_by", "created_at")
    list_select_related = ("order", "decided_by")
    list_filter = ("decision",)
    search_fields = ("order__number",)
    ordering = ("-created_at",)
