"""Admin for the daily sales rollups and funnel snapshots: read-only (the analytics cron and
backfill write them);
a vendor's team sees its own vendor's rows only."""

from __future__ import annotations

from django.contrib import admin

from db.admin.common import ReadOnlyMixin, VendorScopedAdmin
from db.models import DailyProductSales, DailySales, FunnelSnapshot


@admin.register(DailySales)
class DailySalesAdmin(VendorScopedAdmin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = (
        "day",
        "vendor",
        "orders",
        "units",
        "revenue",
        "discounts",
        "refunds",
        "new_customers",
        "returning_customers",
        "computed_at",
    )
    list_filter = ("day",)
    list_select_related = ("vendor",)
    date_hierarchy = "day"
    ordering = ("-day",)
    show_full_result_count = False


@admin.register(DailyProductSales)
class DailyProductSalesAdmin(VendorScopedAdmin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("day", "product", "vendor", "orders", "units", "revenue")
    list_select_related = ("product", "vendor")
    date_hierarchy = "day"
    ordering = ("-day", "-revenue")
    show_full_result_count = False


@admin.register(FunnelSnapshot)
class FunnelSnapshotAdmin(VendorScopedAdmin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("day", "vendor", "views", "cart_adds", "purchases", "taken_at")
    list_select_related = ("vendor",)
    date_hierarchy = "day"
    ordering = ("-day",)
    show_full_result_count = False
