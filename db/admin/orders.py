"""Admin for orders: totals and payments are read-only, staff move the status only."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from db.admin.common import ReadOnlyMixin, VendorScopedAdmin
from db.models import (
    Order,
    OrderItem,
    OrderStatus,
    OrderStatusEvent,
    Payment,
    PaymentEvent,
    PaymentStatus,
)
from lib.access.admin_audit import admin_action_log
from lib.errors import ApiError, translate
from lib.money import format_bdt
from lib.orders.state import TRANSITIONS, order_transition
from lib.payments.refunds import payment_refund
from lib.payments.selectors import order_kept

ADMIN_NOTE = "Changed in the admin."
S = OrderStatus
# "Advance": the next step of an order on its way to the customer.
NEXT_STATUS: dict[str, str] = {
    S.PLACED: S.PROCESSING,
    S.PAID: S.PROCESSING,
    S.PROCESSING: S.SHIPPED,
    S.SHIPPED: S.OUT_FOR_DELIVERY,
    S.OUT_FOR_DELIVERY: S.DELIVERED,
}


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


class OrderAdminForm(forms.ModelForm):
    """The status offers only the moves the order state machine allows from where it is."""

    class Meta:
        model = Order
        fields = ("status",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields.get("status")
        if field is not None and self.instance.pk:
            current = self.instance.status
            allowed = {current, *TRANSITIONS.get(current, ())}
            field.choices = [(value, label) for value, label in field.choices if value in allowed]


class RefundForm(forms.Form):
    payment = forms.ModelChoiceField(queryset=Payment.objects.none(), label=_("Payment"))
    amount = forms.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    reason = forms.CharField(max_length=255, label=_("Reason"))
    # Made when the form is shown: sending the same form twice refunds once.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, min_length=8, max_length=128)


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    form = OrderAdminForm
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
    # Totals and payment state are computed by the store; staff move the status only, and
    # only through the order state machine (`lib.orders.state.order_transition`).
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
        "payment_timeline",
    )
    inlines = (OrderItemInline, OrderStatusEventInline, PaymentInline)
    actions = ("advance_status", "cancel_orders")
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
        (_("Payment"), {"fields": ("payment_method", "payment_status", "payment_timeline")}),
        (_("Shipping"), {"fields": ("shipping_address", "shipping_snapshot")}),
        (_("System"), {"fields": ("idempotency_key", "created_at", "updated_at")}),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # orders are placed through checkout, which prices and reserves stock

    @admin.display(description=_("customer"), ordering="user__email")
    def customer(self, obj: Order) -> str:
        return obj.user.email if obj.user_id else obj.guest_email or obj.guest_phone

    @admin.display(description=_("payment events"))
    def payment_timeline(self, obj: Order) -> str:
        events = (
            PaymentEvent.objects.filter(payment__order_id=obj.pk)
            .select_related("payment")
            .order_by("created_at")
        )
        return render_to_string("admin/db/order/payment_timeline.html", {"events": events})

    def save_model(self, request: HttpRequest, obj: Order, form: Any, change: bool) -> None:
        wanted = obj.status
        if change and "status" in form.changed_data:
            obj.status = form.initial.get("status", obj.status)
        super().save_model(request, obj, form, change)
        if change and wanted != obj.status:
            order_transition(order=obj, to_status=wanted, actor_id=request.user.pk, note=ADMIN_NOTE)

    # --- actions ---------------------------------------------------------------------------

    def orders_move(
        self, request: HttpRequest, queryset: QuerySet[Order], target: Callable[[Order], str | None]
    ) -> None:
        moved, refused = 0, []
        for order in queryset.order_by("pk"):
            to_status = target(order)
            if to_status is None:
                refused.append(order.number)
                continue
            try:
                order_transition(
                    order=order, to_status=to_status, actor_id=request.user.pk, note=ADMIN_NOTE
                )
            except ApiError:
                refused.append(order.number)
            else:
                moved += 1
        if moved:
            self.message_user(request, _("%d order(s) moved.") % moved, messages.SUCCESS)
        if refused:
            self.message_user(
                request,
                _("Not allowed from their status: %s") % ", ".join(refused),
                messages.WARNING,
            )

    @admin.action(
        description=_("Advance selected orders to their next status"), permissions=["change"]
    )
    def advance_status(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self.orders_move(request, queryset, lambda order: NEXT_STATUS.get(order.status))

    @admin.action(description=_("Cancel selected orders"), permissions=["change"])
    def cancel_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self.orders_move(request, queryset, lambda order: OrderStatus.CANCELLED)

    # --- invoice and refund pages ----------------------------------------------------------

    def get_urls(self) -> list:
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/invoice/", view(self.invoice_view), name="db_order_invoice"),
            path("<path:object_id>/refund/", view(self.refund_view), name="db_order_refund"),
            *super().get_urls(),
        ]

    def order_or_404(self, request: HttpRequest, object_id: str) -> Order:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        order = self.get_object(request, object_id)
        if order is None:
            raise Http404
        return order

    def invoice_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        order = self.order_or_404(request, object_id)
        items = order.items.select_related("variation").order_by("created_at")
        context = {
            **self.admin_site.each_context(request),
            "order": order,
            "items": [
                (item, format_bdt(item.unit_price), format_bdt(item.total_price)) for item in items
            ],
            "totals": [
                (_("Subtotal"), format_bdt(order.subtotal)),
                (_("Discount"), format_bdt(-order.discount_total)),
                (_("Shipping"), format_bdt(order.shipping_total)),
                (_("Total"), format_bdt(order.total_amount)),
            ],
            "address": order.shipping_snapshot or {},
        }
        return TemplateResponse(request, "admin/db/order/invoice.html", context)

    def refund_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        order = self.order_or_404(request, object_id)
        if not self.has_change_permission(request, order):
            raise PermissionDenied
        payments = Payment.objects.filter(order=order).order_by("created_at")
        form = RefundForm(
            request.POST or None,
            initial={
                "idempotency_key": f"admin-refund-{uuid.uuid4().hex}",
                "amount": order_kept(order),
                "payment": payments.filter(status=PaymentStatus.CAPTURED).first(),
            },
        )
        form.fields["payment"].queryset = payments
        if request.method == "POST" and form.is_valid():
            try:
                outcome = payment_refund(
                    payment=form.cleaned_data["payment"],
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                    actor_id=str(request.user.pk),
                    idempotency_key=form.cleaned_data["idempotency_key"],
                )
            except ApiError as error:
                form.add_error(None, f"{error.code}: {translate(error.code, 'en')}")
            else:
                refund = outcome.refund
                admin_action_log(
                    request,
                    [order],
                    action="refund",
                    message=f"Refund {refund.amount} ({refund.status}): {refund.reason}",
                )
                self.message_user(
                    request,
                    _("Refund of %(amount)s is %(status)s.")
                    % {"amount": format_bdt(refund.amount), "status": refund.status},
                    messages.SUCCESS,
                )
                return redirect(reverse("admin:db_order_change", args=[order.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Refund order %s") % order.number,
            "order": order,
            "form": form,
            "opts": self.opts,
            "kept": format_bdt(order_kept(order)),
        }
        return TemplateResponse(request, "admin/db/order/refund.html", context)


@admin.register(OrderItem)
class OrderItemAdmin(VendorScopedAdmin, ReadOnlyMixin, admin.ModelAdmin):
    vendor_path = "vendor"
    list_display = (
        "order",
        "product_name",
        "sku",
        "vendor",
        "quantity",
        "unit_price",
        "total_price",
        "created_at",
    )
    list_select_related = ("order", "vendor")
    list_filter = (("vendor", admin.RelatedOnlyFieldListFilter),)
    search_fields = ("order__number", "sku", "product_name")
    ordering = ("-created_at",)


@admin.register(OrderStatusEvent)
class OrderStatusEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("order", "from_status", "to_status", "actor", "created_at")
    list_select_related = ("order", "actor")
    list_filter = ("to_status",)
    search_fields = ("order__number",)
    date_hierarchy = "created_at"
