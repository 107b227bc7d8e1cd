"""Admin for what the store runs by itself: stock reservations, inventory alerts, the outbox."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from db.admin.common import ReadOnlyMixin
from db.models import (
    InventoryAlert,
    OutboxMessage,
    OutboxStatus,
    StockAdjustment,
    StockReservation,
)


class ReservationStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("active", _("Holding stock")), ("expired", _("Expired"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "active":
            return queryset.filter(expires_at__gt=timezone.now())
        if self.value() == "expired":
            return queryset.filter(expires_at__lte=timezone.now())
        return queryset


@admin.register(StockReservation)
class StockReservationAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("token", "product", "variation", "quantity", "expires_at", "created_at")
    list_select_related = ("product", "variation")
    list_filter = (ReservationStateFilter,)
    search_fields = ("token", "product__sku", "variation__sku")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Releasing a stuck hold by hand is allowed; nothing else is.
        return admin.ModelAdmin.has_delete_permission(self, request, obj)


@admin.register(StockAdjustment)
class StockAdjustmentAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """The stock audit trail: written by the inventory services, never edited."""

    list_display = (
        "product",
        "variation",
        "delta",
        "quantity_after",
        "reason",
        "actor",
        "created_at",
    )
    list_select_related = ("product", "variation", "actor")
    list_filter = ("reason",)
    search_fields = ("product__sku", "product__name_en", "variation__sku", "note")
    date_hierarchy = "created_at"


@admin.register(InventoryAlert)
class InventoryAlertAdmin(admin.ModelAdmin):
    list_display = (
        "product",
        "variation",
        "kind",
        "quantity_at_alert",
        "created_at",
        "resolved_at",
    )
    list_select_related = ("product", "variation")
    list_filter = ("kind", ("resolved_at", admin.EmptyFieldListFilter))
    search_fields = ("product__sku", "product__name_en", "variation__sku")
    readonly_fields = ("product", "variation", "kind", "quantity_at_alert", "created_at")
    actions = ("resolve",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Mark selected alerts resolved"), permissions=["change"])
    def resolve(self, request: HttpRequest, queryset: QuerySet[InventoryAlert]) -> None:
        count = queryset.filter(resolved_at__isnull=True).update(resolved_at=timezone.now())
        self.message_user(request, _("%d alert(s) resolved.") % count)


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ("topic", "status", "attempts", "available_at", "sent_at", "created_at")
    list_filter = ("status", "topic")
    search_fields = ("topic", "dedupe_key", "last_error")
    date_hierarchy = "created_at"
    readonly_fields = (
        "topic",
        "payload",
        "dedupe_key",
        "status",
        "attempts",
        "available_at",
        "sent_at",
        "last_error",
        "created_at",
    )
    actions = ("retry_now",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Retry selected messages now"), permissions=["change"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        count = queryset.exclude(status=OutboxStatus.SENT).update(
            status=OutboxStatus.PENDING, available_at=timezone.now()
        )
        self.message_user(request, _("%d message(s) queued for delivery.") % count)
