"""The admin's authentication backend: password sign-in by email (Django's model backend),
with permissions taken from the user's role (`lib.access.admin_permissions`) instead of
per-user and group rows, so a permission check costs no query."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend

from lib.access.admin_permissions import admin_allowed, role_admin_permissions


class RoleBackend(ModelBackend):
    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if obj is not None or not admin_allowed(user_obj):
            return set()
        return set(role_admin_permissions(user_obj.role))

    def get_user_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        return self.get_all_permissions(user_obj, obj)

    def get_group_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        return set()

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        return admin_allowed(user_obj) and perm in role_admin_permissions(user_obj.role)

    def has_module_perms(self, user_obj: Any, app_label: str) -> bool:
        prefix = f"{app_label}."
        return admin_allowed(user_obj) and any(
            perm.startswith(prefix) for perm in role_admin_permissions(user_obj.role)
        )
