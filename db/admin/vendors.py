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
    ordering = ("name",)
    prepopulated_fields = {"slug": ("name",)}
    inlines = (VendorMemberInline,)
    actions = ("approve", "suspend")

    @admin.action(description=_("Approve selected vendors"), permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet[Vendor]) -> None:
        """Pending vendors become active; suspended ones are reinstated through the same
        service as the API (members signed in again, products back on the store)."""
        from lib.vendors.onboarding import vendor_status_set

        suspended = list(
            queryset.filter(status=VendorStatus.SUSPENDED).values_list("pk", flat=True)
        )
        for vendor_id in suspended:
            vendor_status_set(vendor_id=vendor_id, status=VendorStatus.ACTIVE)
        count = queryset.filter(status=VendorStatus.PENDING).update(
            status=VendorStatus.ACTIVE, updated_at=timezone.now()
        )
        self.message_user(request, _("%d vendor(s) approved.") % (count + len(suspended)))

    @admin.action(description=_("Suspend selected vendors"), permissions=["change"])
    def suspend(self, request: HttpRequest, queryset: QuerySet[Vendor]) -> None:
        """Through the same service as the API: members signed out and unable to act for
        the vendor, its products off the store."""
        from lib.vendors.onboarding import vendor_status_set

        active = list(queryset.filter(status=VendorStatus.ACTIVE).values_list("pk", flat=True))
        for vendor_id in active:
            vendor_status_set(vendor_id=vendor_id, status=VendorStatus.SUSPENDED)
        self.message_user(request, _("%d vendor(s) suspended.") % len(active))


@admin.register(VendorMember)
class VendorMemberAdmin(admin.ModelAdmin):
    list_display = ("vendor", "user", "role", "created_at")
    list_select_related = ("vendor", "user")
    list_filter = ("role",)
    search_fields = ("vendor__name", "user__email")
    ordering = ("vendor", "-created_at")
    autocomplete_fields = ("vendor", "user")
