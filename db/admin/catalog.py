"""Admin for the catalog: categories, products, their images and variations."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from db.models import Category, Product, ProductImage, ProductVariation

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
