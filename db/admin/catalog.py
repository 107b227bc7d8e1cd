"""Admin for the catalog: categories, products, their images and variations."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import admin
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from db.admin.common import VendorScopedAdmin
from db.models import Category, Product, ProductImage, ProductVariation
from lib.catalog.images import image_read
from lib.errors import ApiError, translate

SEO_FIELDS = ("seo_title_en", "seo_title_bn", "seo_description_en", "seo_description_bn")
# English and Bangla side by side in the forms.
SEO_ROWS = (("seo_title_en", "seo_title_bn"), ("seo_description_en", "seo_description_bn"))


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
        (
            None,
            {"fields": ("parent", ("name_en", "name_bn"), "slug", ("is_active", "sort_order"))},
        ),
        (_("Content"), {"fields": (("description_en", "description_bn"), "image_url")}),
        (_("SEO"), {"classes": ("collapse",), "fields": SEO_ROWS}),
    )


class ProductImageForm(forms.ModelForm):
    """An image row whose file may be uploaded here: checked like the images API does, then
    stored through the default storage (Vercel Blob when configured)."""

    upload = forms.FileField(required=False, label=_("upload"))

    class Meta:
        model = ProductImage
        fields = (
            "upload",
            "image_url",
            "blob_pathname",
            "alt_text_en",
            "alt_text_bn",
            "is_primary",
            "sort_order",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("image_url", "blob_pathname"):
            if name in self.fields:
                self.fields[name].required = False

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        upload = data.get("upload")
        self.image_file = None
        if upload:
            try:
                self.image_file = image_read(upload)
            except ApiError as error:
                raise forms.ValidationError({"upload": translate(error.code, "en")}) from None
        elif not data.get("image_url") and not self.instance.image_url:
            raise forms.ValidationError({"upload": _("Upload an image or give its address.")})
        return data

    def save(self, commit: bool = True) -> ProductImage:
        image = self.image_file
        if image is not None:
            name = default_storage.save(
                f"products/{self.instance.product_id}/{uuid.uuid4().hex}.{image.extension}",
                ContentFile(image.data),
            )
            self.instance.image_url = default_storage.url(name)
            self.instance.blob_pathname = name
        return super().save(commit)


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    form = ProductImageForm
    extra = 0
    fields = (
        "upload",
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
class ProductAdmin(VendorScopedAdmin, admin.ModelAdmin):
    vendor_path = "vendor"
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
    ordering = ("-created_at",)
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
        (_("Description"), {"fields": (("description_en", "description_bn"),)}),
        (_("Pricing (BDT)"), {"fields": (("price", "compare_price", "cost_price"),)}),
        (_("Inventory"), {"fields": (("quantity", "allocated", "low_stock_threshold"),)}),
        (_("SEO"), {"classes": ("collapse",), "fields": (*SEO_ROWS, "seo_keywords")}),
        (_("Dates"), {"fields": (("created_at", "updated_at"),)}),
    )

    @admin.action(description=_("Activate selected products"), permissions=["change"])
    def activate(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        queryset.update(is_active=True, updated_at=timezone.now())

    @admin.action(description=_("Deactivate selected products"), permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        queryset.update(is_active=False, updated_at=timezone.now())


@admin.register(ProductImage)
class ProductImageAdmin(VendorScopedAdmin, admin.ModelAdmin):
    vendor_path = "product__vendor"
    form = ProductImageForm
    list_display = ("product", "alt_text_en", "is_primary", "sort_order", "created_at")
    list_select_related = ("product",)
    list_filter = ("is_primary",)
    search_fields = ("product__name_en", "product__sku", "alt_text_en", "blob_pathname")
    autocomplete_fields = ("product",)
    ordering = ("product", "sort_order")
    fieldsets = (
        (None, {"fields": ("product", "upload", ("image_url", "blob_pathname"))}),
        (_("Text"), {"fields": (("alt_text_en", "alt_text_bn"), ("is_primary", "sort_order"))}),
    )


@admin.register(ProductVariation)
class ProductVariationAdmin(VendorScopedAdmin, admin.ModelAdmin):
    vendor_path = "product__vendor"
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
    ordering = ("product", "sku")
    fieldsets = (
        (None, {"fields": ("product", ("variation_type", "sku"), "is_active")}),
        (_("Value"), {"fields": (("variation_value_en", "variation_value_bn"),)}),
        (
            _("Price and stock"),
            {"fields": (("price_adjustment", "quantity", "allocated", "low_stock_threshold"),)},
        ),
    )
