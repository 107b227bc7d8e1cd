"""Admin for what the store runs by itself: stock reservations, inventory alerts, the outbox."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from db.admin.common import ReadOnlyMixin, VendorScopedAdmin
from db.models import (
    InventoryAlert,
    OutboxMessage,
    OutboxStatus,
    StockAdjustment,
    StockReservation,
)
from lib.access.admin_permissions import admin_vendor_ids
from lib.errors import ApiError, translate
from lib.inventory import stock_adjust


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
    ordering = ("-created_at",)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Releasing a stuck hold by hand is allowed; nothing else is.
        return admin.ModelAdmin.has_delete_permission(self, request, obj)


class StockAdjustmentForm(forms.ModelForm):
    """A change of stock, applied by the inventory service (rows locked, never below what is
    allocated, one audit row) when the form is valid; the reason is required."""

    class Meta:
        model = StockAdjustment
        fields = ("product", "variation", "delta", "reason", "note")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.actor_id = kwargs.pop("actor_id", None)
        super().__init__(*args, **kwargs)
        self.adjustment: StockAdjustment | None = None
        if "reason" in self.fields:
            self.fields["reason"].required = True

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors or not data.get("product"):
            return data
        try:
            self.adjustment = stock_adjust(
                product=data["product"],
                variation=data.get("variation"),
                delta=data["delta"],
                reason=data["reason"],
                note=data.get("note", ""),
                actor_id=self.actor_id,
            )
        except ApiError as error:
            details = "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in error.fields.items())
            message = translate(error.code, "en") + (f" ({details})" if details else "")
            raise forms.ValidationError(message) from None
        return data


@admin.register(StockAdjustment)
class StockAdjustmentAdmin(VendorScopedAdmin, ReadOnlyMixin, admin.ModelAdmin):
    """The stock audit trail: written by the inventory services, never edited. Adding one
    here adjusts the stock through the same service."""

    vendor_path = "product__vendor"
    form = StockAdjustmentForm
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
    ordering = ("-created_at",)
    autocomplete_fields = ("product", "variation")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Not read-only for adding: a vendor role without a vendor still may not.
        return admin.ModelAdmin.has_add_permission(self, request) and (
            admin_vendor_ids(request.user) != ()
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return super().get_readonly_fields(request, obj) if obj is not None else []

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return list(StockAdjustmentForm.Meta.fields)
        return [field.name for field in StockAdjustment._meta.fields if field.name != "id"]

    def get_form(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, **kwargs)
        actor_id = request.user.pk

        class ActorForm(form):
            def __init__(self, *args: Any, **options: Any) -> None:
                super().__init__(*args, actor_id=actor_id, **options)

        return ActorForm

    def save_form(self, request: HttpRequest, form: Any, change: bool) -> Any:
        return form.adjustment  # already applied by the service when the form was cleaned

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        pass

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        pass  # an adjustment has no related rows


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
    ordering = ("-created_at",)
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
    ordering = ("-created_at",)
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
