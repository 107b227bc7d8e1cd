"""Admin for vendors and their members; staff approve and suspend vendors."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from db.models import Vendor, VendorMember, VendorStatus


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
