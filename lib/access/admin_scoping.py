"""Vendors see and change their own rows only: `VendorScopedAdmin` filters a model admin's
rows, its foreign-key choices and what a vendor saves by the path from the model to its
vendor (`vendor_path`, from `lib.access.admin_permissions.VENDOR_PATHS`)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from lib.access.admin_audit import AdminAuditMixin
from lib.access.admin_permissions import VENDOR_PATHS, admin_vendor_ids


def vendor_rows(queryset: QuerySet, vendor_ids: tuple[str, ...] | None, path: str) -> QuerySet:
    """`queryset` narrowed to the rows of `vendor_ids` (None: unchanged)."""
    if vendor_ids is None:
        return queryset
    return queryset.filter(**{f"{path}__in": vendor_ids})


def vendor_choices(model: type[Model], vendor_ids: tuple[str, ...]) -> QuerySet | None:
    """The rows of `model` a vendor may pick in a form; None when `model` is not theirs to
    narrow (a category, say)."""
    from db.models import Vendor

    if model is Vendor:
        return Vendor.objects.filter(pk__in=vendor_ids)
    path = VENDOR_PATHS.get(model._meta.model_name)
    if path is None:
        return None
    return vendor_rows(model._default_manager.all(), vendor_ids, path)


class VendorScopedAdmin:
    """Mix into a ModelAdmin (before it) of a vendor-owned model."""

    vendor_path: str = "vendor"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        return vendor_rows(queryset, admin_vendor_ids(request.user), self.vendor_path)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        vendor_ids = admin_vendor_ids(request.user)
        if vendor_ids is not None:
            choices = vendor_choices(db_field.related_model, vendor_ids)
            if choices is not None:
                kwargs["queryset"] = choices
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_autocomplete_fields(self, request: HttpRequest) -> tuple[str, ...]:
        # A vendor picks from short lists of their own rows: the autocomplete views would
        # search models (vendors, categories) whose admins they may not open.
        if admin_vendor_ids(request.user) is not None:
            return ()
        return tuple(super().get_autocomplete_fields(request))

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        if admin_vendor_ids(request.user) == ():
            return False  # a vendor role without a vendor
        return super().has_add_permission(request, *args)

    def save_model(self, request: HttpRequest, obj: Model, form: Any, change: bool) -> None:
        vendor_ids = admin_vendor_ids(request.user)
        # Other paths lead through a foreign key whose choices are already the vendor's.
        owner = str(getattr(obj, "vendor_id", "") or "")
        if vendor_ids is not None and self.vendor_path == "vendor" and owner not in vendor_ids:
            if not vendor_ids:
                raise PermissionDenied
            obj.vendor_id = vendor_ids[0]  # a vendor's row is always theirs
        super().save_model(request, obj, form, change)


def admin_class_wrap(model: type[Model], admin_class: type[admin.ModelAdmin]) -> type:
    """The admin class the site registers for `model`: audited, and vendor-scoped when the
    model is vendor-owned."""
    bases: list[type] = []
    attributes: dict[str, Any] = {}
    if not issubclass(admin_class, AdminAuditMixin):
        bases.append(AdminAuditMixin)
    path = VENDOR_PATHS.get(model._meta.model_name)
    if path is not None and not issubclass(admin_class, VendorScopedAdmin):
        bases.append(VendorScopedAdmin)
        attributes["vendor_path"] = path
    if not bases:
        return admin_class
    attributes["__module__"] = admin_class.__module__
    return type(admin_class.__name__, (*bases, admin_class), attributes)
