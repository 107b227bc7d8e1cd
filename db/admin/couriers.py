"""Admin for consignments, their courier events and the couriers' payouts, all read-only:
they are written by bookings, webhooks, the poll cron and payout records."""

from __future__ import annotations

from django.contrib import admin

from db.admin.common import ReadOnlyMixin
from db.models import Consignment, ConsignmentEvent, CourierPayout, CourierPayoutLine


class ConsignmentEventInline(ReadOnlyMixin, admin.TabularInline):
    model = ConsignmentEvent
    extra = 0
    fields = (
        "created_at",
        "source",
        "raw_status",
        "state",
        "occurred_at",
        "collected_amount",
        "applied",
        "message",
    )


class CourierPayoutLineInline(ReadOnlyMixin, admin.TabularInline):
    model = CourierPayoutLine
    extra = 0
    fields = ("consignment_ref", "consignment", "amount")


@admin.register(Consignment)
class ConsignmentAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = (
        "order",
        "courier",
        "consignment_id",
        "tracking_code",
        "state",
        "raw_status",
        "cod_amount",
        "collected_amount",
        "last_update_at",
    )
    list_select_related = ("order",)
    list_filter = ("courier", "state")
    search_fields = ("consignment_id", "tracking_code", "order__number")
    ordering = ("-created_at",)
    date_hierarchy = "created_at"
    inlines = (ConsignmentEventInline,)


@admin.register(ConsignmentEvent)
class ConsignmentEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("consignment", "source", "raw_status", "state", "occurred_at", "applied")
    list_select_related = ("consignment",)
    list_filter = ("source", "state", "applied")
    search_fields = ("consignment__consignment_id", "consignment__order__number", "raw_status")
    date_hierarchy = "created_at"


@admin.register(CourierPayout)
class CourierPayoutAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("courier", "reference", "amount", "paid_at", "created_at")
    list_filter = ("courier",)
    search_fields = ("reference",)
    ordering = ("-created_at",)
    date_hierarchy = "created_at"
    inlines = (CourierPayoutLineInline,)


@admin.register(CourierPayoutLine)
class CourierPayoutLineAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("payout", "consignment_ref", "consignment", "amount")
    list_select_related = ("payout", "consignment")
    list_filter = ("payout__courier",)
    search_fields = ("consignment_ref", "payout__reference")
    ordering = ("-created_at",)
