"""Who may act for a vendor.

A vendor's members reach it through their token's `vnd` claim (which leaves suspended vendors
out, so a suspended vendor's members cannot act anywhere); staff holding `vendors:manage`
reach every vendor. Per-vendor roles (owner or staff) are read from `VendorMember`, since one
user may own one vendor and work for another.
"""

from __future__ import annotations

from django.http import HttpRequest

from db.models import Vendor, VendorMember, VendorRole
from lib.access.context import AccessClaims
from lib.access.permissions import Require, has_permission, vendor_access_check
from lib.errors import ApiError, Forbidden, NotFound

STAFF_PERMISSION = "vendors:manage"
MEMBER_PERMISSION = "vendor:orders"  # owners and staff of a vendor
OWNER_PERMISSION = "vendor:manage"  # owners of a vendor (their role on it is checked too)
KEY_SCOPE = "vendor:manage"


class RequireVendorAccess(Require):
    """Route auth of /vendors/{vendor_id}/...: staff (`vendors:manage`) or a holder of
    `permission`, through a key with the `vendor:manage` scope. The vendor itself is checked
    by `vendor_for_request`."""

    def __init__(self, permission: str = MEMBER_PERMISSION) -> None:
        self.member_permission = permission
        super().__init__(scope=KEY_SCOPE)

    def __call__(self, request: HttpRequest) -> AccessClaims:
        claims = super().__call__(request)
        assert isinstance(claims, AccessClaims)
        if not (
            has_permission(claims.role, STAFF_PERMISSION)
            or has_permission(claims.role, self.member_permission)
        ):
            wanted = [f"{STAFF_PERMISSION} or {self.member_permission}"]
            raise ApiError("forbidden", status=403, fields={"permissions": wanted})
        return claims


STAFF_ACCESS = Require(STAFF_PERMISSION, scope=KEY_SCOPE)
MEMBER_ACCESS = RequireVendorAccess()
OWNER_ACCESS = RequireVendorAccess(OWNER_PERMISSION)


def is_vendor_staff(claims: AccessClaims) -> bool:
    return has_permission(claims.role, STAFF_PERMISSION)


def vendor_for_request(request: HttpRequest, vendor_id: str) -> str:
    """`vendor_id` when the caller may act for it (403 otherwise, the same answer whether
    or not the vendor exists, so ids cannot be probed)."""
    vendor_access_check(request, str(vendor_id))
    return str(vendor_id)


def vendor_owner_check(*, claims: AccessClaims, vendor_id: str) -> None:
    """403 unless the caller owns `vendor_id` (staff pass)."""
    if is_vendor_staff(claims):
        return
    owns = VendorMember.objects.filter(
        vendor_id=vendor_id, user_id=claims.user_id, role=VendorRole.OWNER
    ).exists()
    if not owns:
        raise Forbidden(fields={"role": [VendorRole.OWNER]})


def vendor_get(*, vendor_id: str) -> Vendor:
    vendor = Vendor.objects.filter(pk=vendor_id).first()
    if vendor is None:
        raise NotFound(fields={"vendor": [str(vendor_id)]})
    return vendor
