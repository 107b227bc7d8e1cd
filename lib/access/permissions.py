"""Roles, permissions and API-key scopes, checked declaratively on routes.

    @router.get("/admin/users", auth=Require("users:read"))
    @router.post("/auth/logout", auth=Require())                 # any signed-in user
    @router.post("/admin/sync", auth=Require(scope="catalog:manage", user=False))  # key only

`Require` is the route's Ninja auth: it reads what `AccessMiddleware` established (a verified
access token whose session is alive, and the calling API key) and answers 401 or 403 in the
caller's language. The user's role and vendors come from the token, so no query is needed.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security.base import AuthBase

from db.models import UserRole
from lib.access.context import AccessClaims, get_access
from lib.errors import ApiError

CUSTOMER_PERMISSIONS = frozenset({"profile:own", "orders:own"})
VENDOR_STAFF_PERMISSIONS = CUSTOMER_PERMISSIONS | {
    "vendor:catalog",
    "vendor:orders",
    "vendor:analytics",
}
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    UserRole.CUSTOMER: CUSTOMER_PERMISSIONS,
    UserRole.SUPPORT: CUSTOMER_PERMISSIONS
    | {"users:read", "orders:read", "chat:answer", "reviews:moderate"},
    UserRole.VENDOR_STAFF: VENDOR_STAFF_PERMISSIONS,
    UserRole.VENDOR_OWNER: VENDOR_STAFF_PERMISSIONS | {"vendor:manage"},
    UserRole.STAFF: CUSTOMER_PERMISSIONS
    | {
        "users:read",
        "orders:read",
        "orders:manage",
        "catalog:manage",
        "inventory:manage",
        "chat:answer",
        "analytics:read",
        "vendors:manage",
    },
}
# Admins hold every permission, present and future.
ALL_PERMISSIONS = "*"
ROLES_SEEING_ALL_VENDORS = frozenset({UserRole.ADMIN, UserRole.STAFF, UserRole.SUPPORT})


def role_permissions(role: str) -> frozenset[str]:
    if role == UserRole.ADMIN:
        return frozenset({ALL_PERMISSIONS})
    return ROLE_PERMISSIONS.get(role, frozenset())


def has_permission(role: str, permission: str) -> bool:
    granted = role_permissions(role)
    return ALL_PERMISSIONS in granted or permission in granted


class Require(AuthBase):
    """Route auth: a signed-in user holding `permissions`, called through an API key
    carrying `scope` (when given). `user=False` accepts the API key alone."""

    openapi_type = "http"
    openapi_scheme = "bearer"
    openapi_bearerFormat = "JWT"

    def __init__(self, *permissions: str, scope: str | None = None, user: bool = True) -> None:
        self.permissions = permissions
        self.scope = scope
        self.user = user
        super().__init__()
        if not user:  # the API key alone: no Bearer token to declare in the OpenAPI schema
            del self.openapi_security_schema

    def __call__(self, request: HttpRequest) -> AccessClaims | bool:
        access = get_access(request)
        if self.scope is not None:
            if access.api_key is None:
                raise ApiError("api_key_required", status=401)
            if self.scope not in access.api_key.scopes:
                raise ApiError("scope_denied", status=403, fields={"scope": [self.scope]})
        if not self.user:
            return True
        claims = access.claims
        if claims is None:
            code = f"token_{access.token_error}" if access.token_error else "unauthenticated"
            raise ApiError(code, status=401)
        missing = [p for p in self.permissions if not has_permission(claims.role, p)]
        if missing:
            raise ApiError("forbidden", status=403, fields={"permissions": missing})
        return claims


VENDOR_CATALOG_PERMISSION = "vendor:catalog"


class RequireEditor(Require):
    """Route auth for managing vendor-owned rows (products, stock, images): a signed-in user
    holding `staff_permission` (every vendor's rows and the store's own) or `vendor:catalog`
    (a vendor's owner or staff: that vendor's rows only), through a key with `scope`.
    Which vendors a caller reaches is `managed_vendor_ids`."""

    def __init__(self, staff_permission: str, *, scope: str = "catalog:manage") -> None:
        self.staff_permission = staff_permission
        super().__init__(scope=scope)

    def __call__(self, request: HttpRequest) -> AccessClaims:
        claims = super().__call__(request)
        assert isinstance(claims, AccessClaims)
        if not (
            has_permission(claims.role, self.staff_permission)
            or has_permission(claims.role, VENDOR_CATALOG_PERMISSION)
        ):
            wanted = [f"{self.staff_permission} or {VENDOR_CATALOG_PERMISSION}"]
            raise ApiError("forbidden", status=403, fields={"permissions": wanted})
        return claims


def managed_vendor_ids(request: HttpRequest, *, staff_permission: str) -> tuple[str, ...] | None:
    """The vendors whose rows the caller may manage; `None` means every row (the store's own
    included). A vendor-bound API key narrows either to its vendor."""
    access = get_access(request)
    claims = access.claims
    scope: tuple[str, ...] | None = ()
    if claims is not None and has_permission(claims.role, staff_permission):
        scope = None
    elif claims is not None and has_permission(claims.role, VENDOR_CATALOG_PERMISSION):
        scope = claims.vendor_ids
    key_vendor = access.api_key.vendor_id if access.api_key else None
    if key_vendor is not None:
        scope = (key_vendor,) if scope is None or key_vendor in scope else ()
    return scope


def vendor_access_check(request: HttpRequest, vendor_id: str) -> None:
    """403 unless the caller may act for `vendor_id`: a member of that vendor, a role that
    sees every vendor, or an API key bound to that vendor."""
    access = get_access(request)
    key_vendor = access.api_key.vendor_id if access.api_key else None
    if key_vendor is not None and key_vendor != str(vendor_id):
        raise ApiError("forbidden", status=403, fields={"vendor": [str(vendor_id)]})
    claims = access.claims
    if claims is None:
        if key_vendor == str(vendor_id):
            return
        raise ApiError("unauthenticated", status=401)
    if claims.role in ROLES_SEEING_ALL_VENDORS or str(vendor_id) in claims.vendor_ids:
        return
    raise ApiError("forbidden", status=403, fields={"vendor": [str(vendor_id)]})
