"""Admin for checkout rules: geography, shipping zones, discounts, fraud reviews."""

from __future__ import annotations

from django.contrib import admin

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


@admin.register(District)
class DistrictAdmin(admin.ModelAdmin):
    list_display = ("name_en", "name_bn", "division")
    list_select_related = ("division",)
    list_filter = ("division",)
    search_fields = ("name_en", "name_bn")


@admin.register(Upazila)
class UpazilaAdmin(admin.ModelAdmin):
    list_display = ("name_en", "name_bn", "district")
    list_select_related = ("district",)
    search_fields = ("name_en", "name_bn", "district__name_en")
    autocomplete_fields = ("district",)


class ShippingDistrictRateInline(admin.TabularInline):
    model = ShippingDistrictRate
    extra = 0
    autocomplete_fields = ("district",)


@admin.register(ShippingZone)
class ShippingZoneAdmin(admin.ModelAdmin):
    list_display = ("name_en", "code", "rate", "free_shipping_threshold", "is_default")
    search_fields = ("name_en", "code")
    inlines = (ShippingDistrictRateInline,)


@admin.register(ShippingDistrictRate)
class ShippingDistrictRateAdmin(admin.ModelAdmin):
    list_display = ("district", "zone", "rate")
    list_select_related = ("district", "zone")
    autocomplete_fields = ("district",)


@admin.register(Discount)
class DiscountAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "kind", "value", "times_used", "usage_limit", "is_active")
    list_filter = ("kind", "is_active", "stackable")
    search_fields = ("name", "code")
    readonly_fields = ("times_used",)
    filter_horizontal = ("categories", "products", "vendors")


@admin.register(DiscountRedemption)
class DiscountRedemptionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("discount", "order", "customer_key", "amount", "created_at")
    list_select_related = ("discount", "order")
    search_fields = ("discount__code", "order__number", "customer_key")


@admin.register(FraudReview)
class FraudReviewAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("order", "score", "decision", "decided_by", "created_at")
    list_select_related = ("order", "decided_by")
    list_filter = ("decision",)
    search_fields = ("order__number",)
