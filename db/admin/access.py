"""Admin for API clients. Keys are created, rotated and revoked through the admin API
(`/api/v1/admin/api-keys`), which shows a secret once; here they can be inspected."""

from __future__ import annotations

from django.contrib import admin

from db.admin.common import ReadOnlyMixin
from db.models import ApiKey, ApiKeySecret


class ApiKeySecretInline(ReadOnlyMixin, admin.TabularInline):
    model = ApiKeySecret
    extra = 0
    fields = ("prefix", "created_at", "expires_at")


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("name", "key_id", "kind", "vendor", "revoked_at", "last_used_at", "created_at")
    list_select_related = ("vendor",)
    list_filter = ("kind", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "key_id", "vendor__name")
    ordering = ("-created_at",)
    fields = (
        "name",
        "key_id",
        "kind",
        "scopes",
        "allowed_origins",
        "vendor",
        "created_by",
        "revoked_at",
        "last_used_at",
        "created_at",
    )
    inlines = (ApiKeySecretInline,)


@admin.register(ApiKeySecret)
class ApiKeySecretAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("prefix", "api_key", "created_at", "expires_at")
    list_select_related = ("api_key",)
    search_fields = ("prefix", "api_key__key_id")
    list_filter = (("expires_at", admin.EmptyFieldListFilter),)
    ordering = ("-created_at",)
    fields = ("api_key", "prefix", "created_at", "expires_at")
