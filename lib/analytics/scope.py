"""Who sees which sales: staff holding `analytics:read` see the whole shop (or one vendor they
name); a vendor's owner and staff (`vendor:analytics`) see only their own vendors' lines, and
naming another vendor is refused. An API key bound to a vendor narrows either to it."""

from __future__ import annotations

from django.http import HttpRequest

from lib.access.context import AccessClaims, get_access
from lib.access.permissions import Require, has_permission
from lib.errors import ApiError

SHOP_PERMISSION = "analytics:read"
VENDOR_PERMISSION = "vendor:analytics"


class RequireAnalytics(Require):
    """A signed-in user holding `analytics:read` or `vendor:analytics`."""

    def __init__(self) -> None:
        super().__init__()

    def __call__(self, request: HttpRequest) -> AccessClaims:
        claims = super().__call__(request)
        assert isinstance(claims, AccessClaims)
        if not (
            has_permission(claims.role, SHOP_PERMISSION)
            or has_permission(claims.role, VENDOR_PERMISSION)
        ):
            wanted = [f"{SHOP_PERMISSION} or {VENDOR_PERMISSION}"]
            raise ApiError("forbidden", status=403, fields={"permissions": wanted})
        return claims


def analytics_vendor_ids(request: HttpRequest, vendor: str | None) -> tuple[str, ...] | None:
    """The vendors whose sales the caller reads; None is the whole shop (store and vendors).
    `vendor` is the vendor the caller asked for (403 when it is not theirs)."""
    access = get_access(request)
    claims = access.claims
    if claims is None:
        raise ApiError("unauthenticated", status=401)
    wanted = str(vendor) if vendor else None
    if has_permission(claims.role, SHOP_PERMISSION):
        scope: tuple[str, ...] | None = (wanted,) if wanted else None
    elif has_permission(claims.role, VENDOR_PERMISSION):
        if wanted and wanted not in claims.vendor_ids:
            raise ApiError("forbidden", status=403, fields={"vendor": [wanted]})
        scope = (wanted,) if wanted else tuple(claims.vendor_ids)
    else:
        raise ApiError("forbidden", status=403, fields={"permissions": [SHOP_PERMISSION]})
    key_vendor = access.api_key.vendor_id if access.api_key else None
    if key_vendor is not None:
        if scope is not None and key_vendor not in scope:
            raise ApiError("forbidden", status=403, fields={"vendor": [wanted or key_vendor]})
        scope = (key_vendor,)
    return scope
