"""Django admin for the whole store: staff manage users, vendors, catalog, orders and payments.

Rows that record history (payment and order status events) or that are computed by the
store (order lines and totals, payments, outbox, reservations) are read-only here.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from db.models import (
    Address,
    Category,
    InventoryAlert,
    Order,
    OrderItem,
    OrderStatusEvent,
    OutboxMessage,
    OutboxStatus,
    Payment,
    PaymentEvent,
    Product,
    ProductImage,
    ProductVariation,
    StockReservation,
    User,
    UserProfile,
    Vendor,
    VendorMember,
    VendorStatus,
)

admin.site.site_header = _("Zest Store administration")
admin.site.site_title = _("Zest Store admin")


class ReadOnlyMixin:
    """View-only in the admin: the rows are written by the store itself."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return list(self.fields or (field.name for field in self.model._meta.fields))


# Users -------------------------------------------------------------------------------------


class UserCreationForm(auth_forms.AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class UserChangeForm(auth_forms.UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class UserProfileInline(admin.StackedInline):
    model = UserProfile
    can_delete = False
    fields = ("avatar_url", "bio", "preferences", "last_login_at")


class AddressInline(admin.TabularInline):
    model = Address
    extra = 0
    fields = ("full_name", "phone", "address_line1", "area", "city", "division", "is_default")
    show_change_link = True


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    list_display = ("email", "full_name", "role", "is_active", "is_staff", "created_at")
    list_filter = ("role", "is_active", "is_staff", "is_superuser", "preferred_language")
    search_fields = ("email", "full_name", "phone")
    ordering = ("-created_at",)
    date_hierarchy = "created_at"
    readonly_fields = ("last_login", "created_at", "updated_at")
    filter_horizontal = ("groups", "user_permissions")
    inlines = (UserProfileInline, AddressInline)
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("full_name", "phone", "preferred_language")}),
        (
            _("Role and permissions"),
            {
                "fields": (
                    "role",
                    "is_active",
                    "is_staff",
                    "is_superuser",
                    "groups",
                    "user_permissions",
                )
            },
        ),
        (
            _("Dates"),
            {"fields": ("email_verified_at", "last_login", "created_at", "updated_at")},
        ),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "usable_password", "password1", "password2"),
            },
        ),
    )


@admin.register(UserProfile)
class UserProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "last_login_at", "updated_at")
    list_select_related = ("user",)
    search_fields = ("user__email", "user__full_name")
    autocomplete_fields = ("user",)


@admin.register(Address)
class AddressAdmin(admin.ModelAdmin):
    list_display = ("full_name", "phone", "city", "division", "country", "user", "is_default")
    list_select_related = ("user",)
    list_filter = ("is_default", "country", "division")
    search_fields = ("full_name", "phone", "address_line1", "area", "city", "user__email")
    autocomplete_fields = ("user",)


# Vendors -----------------------------------------------------------------------------------


class VendorMemberInline(admin.TabularInline):
    model = VendorMember
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Vendor)
class VendorAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "status", "commission_rate", "contact_email", "created_at")
    list_filter = ("status",)
    search_fields = ("name", "slug", "contact_email", "contact_phone")
    prepopulated_fields = {"slug": ("name",)}
    inlines = (VendorMemberInline,)
    actions = ("approve", "suspend")

    @admin.action(description=_("Approve selected vendors"), permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet[Vendor]) -> None:
        count = queryset.update(status=VendorStatus.ACTIVE, updated_at=timezone.now())
        self.message_user(request, _("%d vendor(s) approved.") % count)

    @admin.action(description=_("Suspend selected vendors"), permissions=["change"])
    def suspend(self, request: HttpRequest, queryset: QuerySet[Vendor]) -> None:
        count = queryset.update(status=VendorStatus.SUSPENDED, updated_at=timezone.now())
        self.message_user(request, _("%d vendor(s) suspended.") % count)


@admin.register(VendorMember)
class VendorMemberAdmin(admin.ModelAdmin):
    list_display = ("vendor", "user", "role", "created_at")
    list_select_related = ("vendor", "user")
    list_filter = ("role",)
    search_fields = ("vendor__name", "user__email")
    autocomplete_fields = ("vendor", "user")


# Catalog -----------------------------------------------------------------------------------

SEO_FIELDS = ("seo_title_en", "seo_title_bn", "seo_description_en", "seo_description_bn")


class ChildCategoryInline(admin.TabularInline):
    model = Category
    fk_name = "parent"
    extra = 0
    fields = ("name_en", "name_bn", "slug", "is_active", "sort_order")
    prepopulated_fields = {"slug": ("name_en",)}
    show_change_link = True
    verbose_name = _("subcategory")
    verbose_name_plural = _("subcategories")


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name_en", "name_bn", "parent", "slug", "is_active", "sort_order")
    list_editable = ("is_active", "sort_order")
    list_select_related = ("parent",)
    list_filter = ("is_active", ("parent", admin.EmptyFieldListFilter))
    search_fields = ("name_en", "name_bn", "slug")
    prepopulated_fields = {"slug": ("name_en",)}
    autocomplete_fields = ("parent",)
    inlines = (ChildCategoryInline,)
    fieldsets = (
        (None, {"fields": ("parent", "name_en", "name_bn", "slug", "is_active", "sort_order")}),
        (_("Content"), {"fields": ("description_en", "description_bn", "image_url")}),
        (_("SEO"), {"classes": ("collapse",), "fields": SEO_FIELDS}),
    )


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    extra = 0
    fields = (
        "image_url",
        "blob_pathname",
        "alt_text_en",
        "alt_text_bn",
        "is_primary",
        "sort_order",
    )


class ProductVariationInline(admin.TabularInline):
    model = ProductVariation
    extra = 0
    fields = (
        "variation_type",
        "variation_value_en",
        "variation_value_bn",
        "sku",
        "price_adjustment",
        "quantity",
        "allocated",
        "is_active",
    )
    readonly_fields = ("allocated",)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = (
        "name_en",
        "sku",
        "category",
        "vendor",
        "price",
        "quantity",
        "allocated",
        "is_active",
        "is_featured",
        "updated_at",
    )
    list_select_related = ("category", "vendor")
    list_filter = (
        "is_active",
        "is_featured",
        ("category", admin.RelatedOnlyFieldListFilter),
        ("vendor", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("sku", "name_en", "name_bn", "slug")
    prepopulated_fields = {"slug": ("name_en",)}
    autocomplete_fields = ("category", "vendor")
    readonly_fields = ("allocated", "created_at", "updated_at")
    date_hierarchy = "created_at"
    inlines = (ProductImageInline, ProductVariationInline)
    actions = ("activate", "deactivate")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("vendor", "category"),
                    ("name_en", "name_bn"),
                    ("slug", "sku"),
                    ("is_active", "is_featured"),
                    "tags",
                )
            },
        ),
        (_("Description"), {"fields": ("description_en", "description_bn")}),
        (_("Pricing (BDT)"), {"fields": (("price", "compare_price", "cost_price"),)}),
        (_("Inventory"), {"fields": (("quantity", "allocated", "low_stock_threshold"),)}),
        (_("SEO"), {"classes": ("collapse",), "fields": (*SEO_FIELDS, "seo_keywords")}),
        (_("Dates"), {"fields": (("created_at", "updated_at"),)}),
    )

    @admin.action(description=_("Activate selected products"), permissions=["change"])
    def activate(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        queryset.update(is_active=True, updated_at=timezone.now())

    @admin.action(description=_("Deactivate selected products"), permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        queryset.update(is_active=False, updated_at=timezone.now())


@admin.register(ProductImage)
class ProductImageAdmin(admin.ModelAdmin):
    list_display = ("product", "alt_text_en", "is_primary", "sort_order", "created_at")
    list_select_related = ("product",)
    list_filter = ("is_primary",)
    search_fields = ("product__name_en", "product__sku", "alt_text_en", "blob_pathname")
    autocomplete_fields = ("product",)


@admin.register(ProductVariation)
class ProductVariationAdmin(admin.ModelAdmin):
    list_display = (
        "sku",
        "product",
        "variation_type",
        "variation_value_en",
        "price_adjustment",
        "quantity",
        "allocated",
        "is_active",
    )
    list_select_related = ("product",)
    list_filter = ("variation_type", "is_active")
    search_fields = ("sku", "variation_value_en", "variation_value_bn", "product__name_en")
    autocomplete_fields = ("product",)
    readonly_fields = ("allocated",)


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


# Orders ------------------------------------------------------------------------------------


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


# Payments ----------------------------------------------------------------------------------


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


# Outbox ------------------------------------------------------------------------------------


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
