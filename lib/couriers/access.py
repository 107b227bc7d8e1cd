"""Who may book and follow consignments: staff holding `orders:manage` (every order), and a
vendor's members (`vendor:orders`) for orders whose items are all their vendor's. Payouts
and reconciliation are the store's money: staff only."""

from __future__ import annotations

from django.http import HttpRequest

from db.models import Consignment, Order
from lib.access.context import AccessClaims, get_access
from lib.access.permissions import Require, has_permission, managed_vendor_ids
from lib.errors import ApiError, NotFound
from lib.orders.state import MANAGE_PERMISSION, VENDOR_PERMISSION, order_vendor_id

CONSOLE_SCOPES = ("orders:manage", "vendor:manage")
CONSOLE_PERMISSIONS = (MANAGE_PERMISSION, VENDOR_PERMISSION)


class RequireCourierConsole(Require):
    """Staff or a vendor's members, through a key for orders or a vendor; `staff_only`
    routes want `orders:manage`."""

    def __init__(self, *, staff_only: bool = False) -> None:
        self.staff_only = staff_only
        super().__init__()

    def __call__(self, request: HttpRequest) -> AccessClaims:
        access = get_access(request)
        if access.api_key is None:
            raise ApiError("api_key_required", status=401)
        if not any(scope in access.api_key.scopes for scope in CONSOLE_SCOPES):
            raise ApiError("scope_denied", status=403, fields={"scope": list(CONSOLE_SCOPES)})
        claims = super().__call__(request)
        assert isinstance(claims, AccessClaims)
        wanted = (MANAGE_PERMISSION,) if self.staff_only else CONSOLE_PERMISSIONS
        if not any(has_permission(claims.role, p) for p in wanted):
            raise ApiError("forbidden", status=403, fields={"permissions": list(wanted)})
        return claims


def console_vendor_ids(request: HttpRequest) -> tuple[str, ...] | None:
    """None for staff (every order), else the caller's vendors."""
    return managed_vendor_ids(request, staff_permission=MANAGE_PERMISSION)


def order_owned(order: Order, vendor_ids: tuple[str, ...] | None) -> bool:
    if vendor_ids is None:
        return True
    vendor = order_vendor_id(order)
    return vendor is not None and vendor in vendor_ids


def courier_order_get(request: HttpRequest, number: str) -> Order:
    """An order the caller may ship: 404 when unknown, 403 when it is not all theirs."""
    order = Order.objects.select_related("user").filter(number=number).first()
    if order is None:
        raise NotFound()
    if not order_owned(order, console_vendor_ids(request)):
        raise ApiError("forbidden", status=403, fields={"order": [number]})
    return order


def courier_orders_get(request: HttpRequest, numbers: list[str]) -> dict[str, Order]:
    """The orders of `numbers` the caller may ship, by number (others are left out)."""
    vendor_ids = console_vendor_ids(request)
    orders = Order.objects.select_related("user").filter(number__in=numbers)
    return {o.number: o for o in orders if order_owned(o, vendor_ids)}


def consignment_for(request: HttpRequest, consignment_pk: str) -> Consignment:
    """A consignment of an order the caller may ship: 404 otherwise (also for a vendor)."""
    consignment = Consignment.objects.select_related("order").filter(pk=consignment_pk).first()
    if consignment is None or not order_owned(consignment.order, console_vendor_ids(request)):
        raise NotFound()
    return consignment
