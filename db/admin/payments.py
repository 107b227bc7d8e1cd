"""Admin for payments, their provider events and refunds, all read-only. Payments of orders
holding more than their total (two captures) are found with the "needs refund" filter."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from db.admin.common import ReadOnlyMixin
from db.models import Payment, PaymentEvent, Refund


class NeedsRefundFilter(admin.SimpleListFilter):
    """Payments of orders that hold more than their total: one of them must be refunded."""

    title = _("needs refund")
    parameter_name = "needs_refund"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [("yes", _("Order paid beyond its total"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() != "yes":
            return queryset
        from lib.payments.selectors import orders_overpaid

        return queryset.filter(order__in=orders_overpaid().values("pk"))


class RefundInline(ReadOnlyMixin, admin.TabularInline):
    model = Refund
    extra = 0
    fields = ("created_at", "amount", "status", "provider_refund_id", "reason", "actor")


class PaymentEventInline(ReadOnlyMixin, admin.TabularInline):
    model = PaymentEvent
    extra = 0
    fields = ("created_at", "event_type", "provider_reference", "amount", "payload")


@admin.register(Payment)
class PaymentAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("order", "provider", "amount", "currency", "status", "transaction_id")
    list_select_related = ("order",)
    list_filter = ("provider", "status", NeedsRefundFilter)
    search_fields = ("transaction_id", "idempotency_key", "order__number")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    inlines = (PaymentEventInline, RefundInline)


@admin.register(Refund)
class RefundAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("payment", "amount", "status", "provider_refund_id", "created_at")
    list_select_related = ("payment",)
    list_filter = ("status",)
    search_fields = ("provider_refund_id", "idempotency_key", "payment__order__number")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)


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
