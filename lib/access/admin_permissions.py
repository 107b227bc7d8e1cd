"""Who may do what in the Django admin: the store's roles mapped to Django model permissions,
in this one place.

Grants are given per *area* (the module of `db.models` a model lives in: "catalog",
"orders", ...) or per model (its `model_name`, which wins over its area). A model whose
module and name no role mentions is reachable by administrators only: models added later
(notifications, chat, loyalty, site pages, ...) are denied to every other role until a line
here grants them. The permissions of a role are computed once per process from the
installed models, so checking one costs no query.

Vendors' owners and staff reach their own vendor's rows only: `VENDOR_PATHS` says how a
model's rows lead to their vendor (`lib.access.admin_site` scopes every admin of those
models by it).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.apps import apps
from django.db.models import Model

from db.models import UserRole, VendorMember
from lib.access.permissions import ROLE_PERMISSIONS

VIEW = frozenset({"view"})
VIEW_CHANGE = frozenset({"view", "change"})
VIEW_ADD = frozenset({"view", "add"})
ALL = frozenset({"view", "add", "change", "delete"})
APP_LABEL = "db"

# Roles that may sign in to the admin at all (an active account is required too).
ADMIN_ROLES = frozenset(
    {UserRole.ADMIN, UserRole.STAFF, UserRole.SUPPORT, UserRole.VENDOR_OWNER, UserRole.VENDOR_STAFF}
)
VENDOR_ROLES = frozenset({UserRole.VENDOR_OWNER, UserRole.VENDOR_STAFF})

# Admin pages that are not models (reviews live in the document store).
MODERATE_REVIEWS = "moderate_reviews"
Grants = dict[str, frozenset[str]]

# The project's permissions (lib.access.permissions.ROLE_PERMISSIONS) as admin grants.
PERMISSION_GRANTS: dict[str, Grants] = {
    "catalog:manage": {"catalog": ALL},
    "inventory:manage": {
        "stockadjustment": VIEW_ADD,  # through the inventory service, with a reason
        "stockreservation": frozenset({"view", "delete"}),
        "inventoryalert": VIEW_CHANGE,
    },
    "users:read": {
        "user": VIEW,
        "userprofile": VIEW,
        "address": VIEW,
        "socialaccount": VIEW,
        "notifications": VIEW,  # feed entries, deliveries (failed ones), preferences
    },
    "orders:read": {"order": VIEW, "orderitem": VIEW, "orderstatusevent": VIEW},
    "orders:manage": {
        "order": VIEW_CHANGE,  # status moves through the order state machine
        "orderitem": VIEW,
        "orderstatusevent": VIEW,
        "fraudreview": VIEW,
    },
    "reviews:moderate": {MODERATE_REVIEWS: ALL},
    "chat:answer": {"chat": ALL},
    "vendor:catalog": {
        "product": ALL,
        "productvariation": ALL,
        "productimage": ALL,
        "stockadjustment": VIEW_ADD,
    },
    "vendor:orders": {"orderitem": VIEW, "vendororder": VIEW, "vendororderline": VIEW},
    "vendors:manage": {"vendors": ALL},
    "analytics:read": {"analytics": VIEW},
}
# What a role does in the admin beyond its API permissions.
ROLE_EXTRA_GRANTS: dict[str, Grants] = {
    UserRole.STAFF: {
        "user": VIEW_CHANGE,  # customers
        "userprofile": VIEW_CHANGE,
        "address": ALL,
        "discount": ALL,
        "discountredemption": VIEW,
        MODERATE_REVIEWS: ALL,
        "couriers": VIEW,
        "payments": VIEW,
        "vendor": VIEW,
        "notificationdelivery": VIEW_CHANGE,  # "retry now" on failed deliveries
        "loyalty": ALL,  # the ledger itself stays read-only (its admin refuses changes)
        "referrals": VIEW_CHANGE,  # approve affiliates and commissions
        "site": ALL,  # banners, featured collections, policy pages
        "storesettings": VIEW,  # store-wide switches (COD, maintenance) are an administrator's
    },
}
# How a vendor-owned model's rows lead to their vendor.
VENDOR_PATHS: dict[str, str] = {
    "product": "vendor",
    "productvariation": "product__vendor",
    "productimage": "product__vendor",
    "stockadjustment": "product__vendor",
    "orderitem": "vendor",
    "vendororder": "vendor",
    "vendororderline": "vendor_order__vendor",
}


def model_area(model: type[Model]) -> str:
    """The area of a model: the last part of its module (`db.models.catalog` -> "catalog")."""
    return model.__module__.rsplit(".", 1)[-1]


def role_grants(role: str) -> Grants:
    """The role's grants merged: model name or area -> actions."""
    merged: dict[str, frozenset[str]] = {}
    sources = [PERMISSION_GRANTS.get(name, {}) for name in sorted(ROLE_PERMISSIONS.get(role, ()))]
    sources.append(ROLE_EXTRA_GRANTS.get(role, {}))
    for grants in sources:
        for target, actions in grants.items():
            merged[target] = merged.get(target, frozenset()) | actions
    return merged


def model_actions(role: str, model: type[Model]) -> frozenset[str]:
    """What `role` may do with `model` (a model grant wins over its area's)."""
    if role == UserRole.ADMIN:
        return ALL
    grants = role_grants(role)
    name = model._meta.model_name
    if name in grants:
        return grants[name]
    return grants.get(model_area(model), frozenset())


@cache
def role_admin_permissions(role: str) -> frozenset[str]:
    """Every Django permission ("db.change_product") the role holds in the admin, computed
    once per process from the installed models."""
    if role not in ADMIN_ROLES:
        return frozenset()
    permissions = {
        f"{model._meta.app_label}.{action}_{model._meta.model_name}"
        for model in apps.get_models()
        for action in model_actions(role, model)
    }
    grants = ALL if role == UserRole.ADMIN else role_grants(role).get(MODERATE_REVIEWS, ())
    if grants:
        permissions.add(f"{APP_LABEL}.{MODERATE_REVIEWS}")
    return frozenset(permissions)


def admin_allowed(user: Any) -> bool:
    """May this account sign in to the admin? Active, and an administrator (superuser) or
    a role of the store's staff or of a vendor's team."""
    return bool(
        getattr(user, "is_active", False)
        and (getattr(user, "is_superuser", False) or getattr(user, "role", None) in ADMIN_ROLES)
    )


def admin_vendor_ids(user: Any) -> tuple[str, ...] | None:
    """The vendors whose rows the user manages in the admin; `None` means every row (a role
    of the store's own staff). One query per request at most (kept on the user object)."""
    if user.is_superuser or user.role not in VENDOR_ROLES:
        return None
    cached = getattr(user, "_admin_vendor_ids", None)
    if cached is None:
        rows = VendorMember.objects.filter(user_id=user.pk).order_by("created_at")
        cached = tuple(str(vendor_id) for vendor_id in rows.values_list("vendor_id", flat=True))
        user._admin_vendor_ids = cached
    return cached
