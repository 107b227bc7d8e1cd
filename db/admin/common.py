"""What several admin areas share."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from lib.access.admin_audit import AdminAuditMixin
from lib.access.admin_scoping import VendorScopedAdmin

__all__ = ["AdminAuditMixin", "ReadOnlyMixin", "VendorScopedAdmin"]


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
