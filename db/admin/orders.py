"""Admin for orders: totals and payments are read-only, staff move the status only."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from db.admin.common import ReadOnlyMixin
from db.models import Order, OrderItem, OrderStatusEvent, Payment


class OrderItemInline(ReadOnlyMixin, admin.TabularInline):
    model = OrderItem
    extra = 0
    fields = ("product_name", "sku", "variation", "vendor", "quantity", "unit_price", "total_price")

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderItem]:
        return super().get_queryset(request).select_related("variation", "vendor")


class OrderStatusEventInline(ReadOnlyMixin, admin.TabularInline):
    model = OrderStatusEvent
    extra = 0
    fields = ("created_at", "from_status", "to_status", "actor", "note")

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderStatusEvent]:
        return super().get_queryset(request).select_related("actor")


class PaymentInline(ReadOnlyMixin, admin.TabularInline):
    model = Payment
    extra = 0
    fields = ("provider", "amount", "currency", "status", "transaction_id", "created_at")
    show_change_link = True


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = (
        "number",
        "customer",
        "status",
        "payment_status",
        "payment_method",
        "total_amount",
        "placed_at",
    )
    list_select_related = ("user",)
    list_filter = ("status", "payment_status", "payment_method")
    search_fields = ("number", "guest_email", "guest_phone", "user__email", "user__phone")
    date_hierarchy = "placed_at"
    ordering = ("-placed_at",)
    # Totals and payment state are computed by the store; staff move the status only.
    readonly_fields = (
        "number",
        "user",
        "guest_email",
        "guest_phone",
        "payment_method",
        "payment_status",
        "currency",
        "subtotal",
        "discount_total",
        "shipping_total",
        "total_amount",
        "shipping_address",
        "shipping_snapshot",
        "idempotency_key",
        "placed_at",
        "created_at",
        "updated_at",
    )
    inlines = (OrderItemInline, OrderStatusEventInline, PaymentInline)
    fieldsets = (
        (None, {"fields": ("number", "status", "placed_at")}),
        (_("Customer"), {"fields": ("user", "guest_email", "guest_phone")}),
        (
            _("Totals (BDT)"),
            {
                "fields": (
                    ("subtotal", "discount_total", "shipping_total", "total_amount"),
                    "currency",
                )
            },
        ),
        (_("Payment"), {"fields": ("payment_method", "payment_status")}),
        (_("Shipping"), {"fields": ("shipping_address", "shipping_snapshot")}),
        (_("System"), {"fields": ("idempotency_key", "created_at", "updated_at")}),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # orders are placed through checkout, which prices and reserves stock

    @admin.display(description=_("customer"), ordering="user__email")
    def customer(self, obj: Order) -> str:
        return obj.user.email if obj.user_id else obj.guest_email or obj.guest_phone

    def save_model(self, request: HttpRequest, obj: Order, form: ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and "status" in form.changed_data:
            OrderStatusEvent.objects.create(
                order=obj,
                from_status=form.initial.get("status", ""),
                to_status=obj.status,
                actor=request.user,
                note="Changed in the admin.",
            )


@admin.register(OrderItem)
class OrderItemAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("order", "product_name", "sku", "quantity", "unit_price", "total_price")
    list_select_related = ("order",)
    search_fields = ("order__number", "sku", "product_name")


@admin.register(OrderStatusEvent)
class OrderStatusEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("order", "from_status", "to_status", "actor", "created_at")
    list_select_related = ("order", "actor")
    list_filter = ("to_status",)
    search_fields = ("order__number",)
    date_hierarchy = "created_at"
