"""Admin for payments and their provider events, both read-only."""

from __future__ import annotations

from django.contrib import admin

from db.admin.common import ReadOnlyMixin
from db.models import Payment, PaymentEvent


class PaymentEventInline(ReadOnlyMixin, admin.TabularInline):
    model = PaymentEvent
    extra = 0
    fields = ("created_at", "event_type", "provider_reference", "amount", "payload")


@admin.register(Payment)
class PaymentAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("order", "provider", "amount", "currency", "status", "transaction_id")
    list_select_related = ("order",)
    list_filter = ("provider", "status")
    search_fields = ("transaction_id", "idempotency_key", "order__number")
    date_hierarchy = "created_at"
    inlines = (PaymentEventInline,)


@admin.register(PaymentEvent)
class PaymentEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = (
        "payment",
        "provider",
        "event_type",
        "provider_reference",
        "amount",
        "created_at",
    )
    list_select_related = ("payment",)
    list_filter = ("provider", "event_type")
    search_fields = ("provider_reference", "payment__transaction_id", "payment__order__number")
    date_hierarchy = "created_at"
