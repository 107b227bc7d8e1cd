"""Admin for the store itself: settings (one row), home-page banners, featured collections and
policy pages. Every save or deletion forgets the cached snapshot once it commits, so the
storefront sees the change on its next read."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from db.models import FeaturedCollection, HomeBanner, SitePage, StoreSettings
from db.models.site import STORE_SETTINGS_ID
from lib.errors import ApiError, translate
from lib.site.services import site_changed, site_image_read, site_image_store, site_page_clean


class SiteChangesMixin:
    """Saves and deletions (one by one or in bulk) refresh the storefront's cached copy.
    Addresses typed without a scheme (logo, banner, social links) are taken as https."""

    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)  # type: ignore[misc]
        site_changed()

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        super().delete_model(request, obj)  # type: ignore[misc]
        site_changed()

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        super().delete_queryset(request, queryset)  # type: ignore[misc]
        site_changed()


class HttpsURLField(forms.URLField):
    """An address typed without a scheme is taken as https."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("assume_scheme", "https")
        super().__init__(**kwargs)


class ImageUploadForm(forms.ModelForm):
    """A model form with an optional image upload that replaces the row's `url_field`: checked
    like product images, stored in Blob storage when the row is saved."""

    url_field = ""
    folder = ""
    upload = forms.FileField(
        required=False, help_text="JPEG, PNG, WebP or AVIF; replaces the URL above when given."
    )

    def clean_upload(self) -> Any:
        upload = self.cleaned_data.get("upload")
        if not upload:
            return None
        try:
            return site_image_read(upload)
        except ApiError as exc:
            raise forms.ValidationError(translate(exc.code, "en")) from None

    def save(self, commit: bool = True) -> Any:
        image = self.cleaned_data.get("upload")
        if image is not None:
            setattr(self.instance, self.url_field, site_image_store(image, folder=self.folder))
        return super().save(commit=commit)


class StoreSettingsForm(ImageUploadForm):
    url_field = "logo_url"
    folder = "logo"

    class Meta:
        model = StoreSettings
        fields = ("logo_url",)  # and the fieldsets' fields (the admin adds them)
        field_classes = {"logo_url": HttpsURLField}


@admin.register(StoreSettings)
class StoreSettingsAdmin(SiteChangesMixin, admin.ModelAdmin):
    """One row: the list goes straight to it (created with the defaults on first visit)."""

    form = StoreSettingsForm
    fieldsets = (
        ("Store", {"fields": ("name_en", "name_bn", "tagline_en", "tagline_bn")}),
        ("Logo", {"fields": ("logo_url", "upload")}),
        ("Contact", {"fields": ("phone", "email", "address_en", "address_bn")}),
        (
            "Social links",
            {"fields": ("facebook_url", "instagram_url", "youtube_url", "tiktok_url")},
        ),
        ("WhatsApp", {"fields": ("whatsapp_phone",)}),
        ("Theme", {"fields": ("primary_colour", "secondary_colour", "accent_colour")}),
        (
            "Checkout (empty amounts use the environment defaults COD_FEE, COD_MAX_TOTAL)",
            {"fields": ("free_shipping_threshold", "cod_enabled", "cod_fee", "cod_max_total")},
        ),
        (
            "Maintenance",
            {
                "fields": (
                    "maintenance_mode",
                    "maintenance_message_en",
                    "maintenance_message_bn",
                    "maintenance_retry_after",
                )
            },
        ),
    )
    readonly_fields = ("updated_at",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        StoreSettings.objects.get_or_create(pk=STORE_SETTINGS_ID)
        url = reverse(f"{self.admin_site.name}:db_storesettings_change", args=[STORE_SETTINGS_ID])
        return HttpResponseRedirect(url)


class HomeBannerForm(ImageUploadForm):
    url_field = "image_url"
    folder = "banners"

    class Meta:
        model = HomeBanner
        fields = ("image_url",)  # and the fieldsets' fields (the admin adds them)
        field_classes = {"image_url": HttpsURLField}


SCHEDULE_FIELDS = ("is_active", "position", "starts_at", "ends_at")


@admin.register(HomeBanner)
class HomeBannerAdmin(SiteChangesMixin, admin.ModelAdmin):
    form = HomeBannerForm
    list_display = ("title_en", "position", "is_active", "starts_at", "ends_at")
    list_editable = ("position", "is_active")
    list_filter = ("is_active",)
    search_fields = ("title_en", "title_bn")
    fieldsets = (
        (None, {"fields": ("title_en", "title_bn", "subtitle_en", "subtitle_bn", "link_url")}),
        ("Image", {"fields": ("image_url", "upload")}),
        ("Schedule (entered in Asia/Dhaka time)", {"fields": SCHEDULE_FIELDS}),
    )


@admin.register(FeaturedCollection)
class FeaturedCollectionAdmin(SiteChangesMixin, admin.ModelAdmin):
    list_display = ("title_en", "slug", "category", "position", "is_active", "starts_at")
    list_editable = ("position", "is_active")
    list_filter = ("is_active",)
    list_select_related = ("category",)
    search_fields = ("title_en", "title_bn", "slug")
    prepopulated_fields = {"slug": ("title_en",)}
    autocomplete_fields = ("category", "products")
    fieldsets = (
        (None, {"fields": ("title_en", "title_bn", "slug")}),
        ("Products (hand-picked, or a category)", {"fields": ("products", "category")}),
        ("Schedule (entered in Asia/Dhaka time)", {"fields": SCHEDULE_FIELDS}),
    )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        site_changed()


@admin.register(SitePage)
class SitePageAdmin(SiteChangesMixin, admin.ModelAdmin):
    """Bodies are HTML, sanitised on save (the product description rules)."""

    list_display = ("title_en", "slug", "is_published", "position", "updated_at")
    list_editable = ("is_published", "position")
    list_filter = ("is_published",)
    search_fields = ("title_en", "title_bn", "slug")
    prepopulated_fields = {"slug": ("title_en",)}
    readonly_fields = ("updated_at",)

    def save_model(self, request: HttpRequest, obj: SitePage, form: Any, change: bool) -> None:
        site_page_clean(obj)
        super().save_model(request, obj, form, change)
