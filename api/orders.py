"""Orders after placement: a customer's orders and cancellation, guest tracking, and the
staff and vendor console. /api/v1/orders/... and /api/v1/admin/orders/..."""

from datetime import date, datetime
from typing import Any
from uuid import UUID

from lib.runtime import make_app

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from db.models import Order, OrderStatus
from lib.access.context import AccessClaims, get_access
from lib.access.permissions import Require, has_permission, managed_vendor_ids
from lib.errors import ApiError
from lib.i18n import request_language
from lib.money import Money
from lib.orders import selectors, state
from lib.pagination import PageParams
from lib.schemas import ErrorOut, InputSchema

ADMIN_SCOPES = ("orders:manage", "vendor:manage")
READ_PERMISSIONS = ("orders:read", state.VENDOR_PERMISSION)


class RequireOrderConsole(Require):
    """Staff, support (read) or a vendor's members, through a key for orders or a vendor."""

    def __call__(self, request: HttpRequest) -> AccessClaims:
        access = get_access(request)
        if access.api_key is None:
            raise ApiError("api_key_required", status=401)
        if not any(scope in access.api_key.scopes for scope in ADMIN_SCOPES):
            raise ApiError("scope_denied", status=403, fields={"scope": list(ADMIN_SCOPES)})
        claims = super().__call__(request)
        assert isinstance(claims, AccessClaims)
        if not any(has_permission(claims.role, p) for p in READ_PERMISSIONS):
            raise ApiError("forbidden", status=403, fields={"permissions": list(READ_PERMISSIONS)})
        return claims


customer = Router(tags=["orders"], auth=Require("orders:own", scope="storefront:write"))
tracking = Router(tags=["orders"], auth=Require(scope="storefront:read", user=False))
console = Router(tags=["admin: orders"], auth=RequireOrderConsole())


# --- schemas -------------------------------------------------------------------------


class OrderSummaryOut(Schema):
    number: str
    status: OrderStatus
    status_label: str
    payment_method: str
    payment_status: str
    total: Money
    item_count: int
    placed_at: datetime


class OrderPageOut(Schema):
    items: list[OrderSummaryOut]
    count: int
    page: int
    page_size: int
    pages: int


class OrderItemOut(Schema):
    product_id: UUID
    variation_id: UUID | None
    vendor_id: UUID | None
    name: str
    sku: str
    quantity: int
    unit_price: Money
    total_price: Money


class TimelineEntryOut(Schema):
    status: OrderStatus
    label: str
    note: str
    at: datetime


class OrderTrackingOut(Schema):
    courier: str = Field(..., description="pathao, steadfast or redx")
    courier_name: str
    tracking_code: str = Field(..., description="What to enter on the courier's tracking page")
    tracking_url: str = Field(..., description="The courier's public tracking page")


class OrderDetailOut(OrderSummaryOut):
    subtotal: Money
    discount_total: Money
    shipping_total: Money
    cod_fee: Money
    total_amount: Money
    items: list[OrderItemOut]
    timeline: list[TimelineEntryOut]
    delivery_estimate: dict[str, Any]
    shipping_address: dict[str, Any]
    tracking: OrderTrackingOut | None = Field(
        None, description="The courier carrying the order, once it is booked"
    )


class AdminOrderOut(OrderSummaryOut):
    customer_email: str
    fraud_score: int


class AdminOrderPageOut(OrderPageOut):
    items: list[AdminOrderOut]


class AdminOrderQuery(PageParams):
    status: OrderStatus | None = None
    vendor: UUID | None = Field(None, description="Orders with items of this vendor")
    date_from: date | None = Field(None, description="Placed on or after (inclusive)")
    date_to: date | None = Field(None, description="Placed on or before (inclusive)")


class TrackIn(InputSchema):
    number: str = Field(..., min_length=1, max_length=32)
    phone: str = Field(..., min_length=1, max_length=32, description="The phone of the order")


class CancelIn(InputSchema):
    note: str = Field("", max_length=1000, description="Why, in the customer's words")


class TransitionIn(InputSchema):
    to_status: OrderStatus
    note: str = Field("", max_length=1000)


def detail(request, order: Order, **options) -> dict[str, Any]:
    return selectors.order_detail(order, request_language(request), **options)


# --- customers -----------------------------------------------------------------------


@customer.get("", response=OrderPageOut)
def list_orders(request, query: Query[PageParams]):
    """The signed-in customer's orders, newest first."""
    return selectors.customer_orders(
        user_id=request.auth.user_id, params=query, language=request_language(request)
    )


@customer.get("/{number}", response=OrderDetailOut)
def get_order(request, number: str):
    """One of the customer's orders with its items and tracking timeline."""
    return detail(request, selectors.customer_order(user_id=request.auth.user_id, number=number))


@customer.post("/{number}/cancel", response={200: OrderDetailOut, 409: ErrorOut})
def cancel_order(request, number: str, payload: CancelIn | None = None):
    """Cancel an order that has not shipped yet; its stock goes back on sale."""
    user_id = request.auth.user_id
    order = selectors.customer_order(user_id=user_id, number=number)
    if order.status not in state.CUSTOMER_CANCELLABLE:
        raise state.forbidden_transition(order.status, OrderStatus.CANCELLED)
    state.order_transition(
        order=order,
        to_status=OrderStatus.CANCELLED,
        actor_id=user_id,
        note=payload.note if payload else "",
    )
    return detail(request, selectors.customer_order(user_id=user_id, number=number))


@tracking.post("/track", response=OrderDetailOut)
def track_order(request, payload: TrackIn):
    """Track an order by its number and the phone it was placed with (guests too). Any
    mismatch answers 404, whether or not the order exists."""
    order = selectors.order_track(number=payload.number.strip(), phone=payload.phone)
    return detail(request, order, address=False)


# --- staff and vendors ---------------------------------------------------------------


def console_vendor_ids(request) -> tuple[str, ...] | None:
    return managed_vendor_ids(request, staff_permission="orders:read")


@console.get("", response=AdminOrderPageOut)
def admin_list_orders(request, query: Query[AdminOrderQuery]):
    """Every order for staff and support; a vendor's members see orders with its items."""
    return selectors.admin_orders(
        vendor_ids=console_vendor_ids(request),
        params=query,
        language=request_language(request),
        status=query.status,
        vendor=str(query.vendor) if query.vendor else None,
        date_from=query.date_from,
        date_to=query.date_to,
    )


@console.get("/{number}", response=OrderDetailOut)
def admin_get_order(request, number: str):
    """One order (a vendor sees only its own items of it)."""
    return detail(
        request, selectors.admin_order(number=number, vendor_ids=console_vendor_ids(request))
    )


@console.post("/{number}/transition", response={200: OrderDetailOut, 409: ErrorOut})
def admin_transition(request, number: str, payload: TransitionIn):
    """Move an order on: staff any allowed step, the owning vendor the fulfilment steps."""
    vendor_ids = console_vendor_ids(request)
    order = selectors.admin_order(number=number, vendor_ids=vendor_ids)
    state.order_transition_authorize(
        request, claims=request.auth, order=order, to_status=payload.to_status
    )
    state.order_transition(
        order=order, to_status=payload.to_status, actor_id=request.auth.user_id, note=payload.note
    )
    return detail(request, selectors.admin_order(number=number, vendor_ids=vendor_ids))


app = make_app(
    "orders",
    [("/orders", tracking), ("/orders", customer), ("/admin/orders", console)],
    title="Zest Store orders",
)
