"""Checkout: /api/v1/checkout (quote, place an order, one-click ordering).

Customers check out signed in (their cart, a saved address) or as guests (the cart named by
`X-Cart-Token` or explicit `lines`, a one-off address, an email or phone). Placement needs an
`Idempotency-Key` header (8-128 characters): a retry returns the same order.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from lib.runtime import make_app

from ninja import Field, Router, Schema, Status

from db.models import Order, OrderItem, PaymentProvider
from lib.access.context import get_access
from lib.checkout import placement
from lib.checkout.addresses import AddressInput, address_validate
from lib.checkout.quote import quote_compute
from lib.errors import ApiError
from lib.i18n import request_language
from lib.money import Money
from lib.schemas import CartToken, ErrorOut, IdempotencyKey, InputSchema

router = Router(tags=["checkout"])
MAX_LINES = 100


class ShippingAddressIn(InputSchema, AddressInput):
    """A one-off shipping address (guests, or a signed-in customer not using a saved one)."""


class LineIn(InputSchema):
    product_id: UUID
    variation_id: UUID | None = None
    quantity: int = Field(1, ge=1, le=1000)


class CheckoutIn(InputSchema):
    lines: list[LineIn] | None = Field(None, max_length=MAX_LINES, description="Else the cart")
    address_id: UUID | None = Field(None, description="A saved address (signed in)")
    address: ShippingAddressIn | None = None
    coupon_codes: list[str] = Field(default_factory=list, max_length=10)
    payment_method: PaymentProvider = PaymentProvider.COD
    email: str = Field("", max_length=255, description="Guests: email or phone required")
    phone: str = Field("", max_length=32)
    phone_verification: str = Field(
        "",
        max_length=512,
        description="From POST /auth/phone/verify (`guest_checkout`): proves the order's "
        "phone (`phone`, else the address's); a forged or expired one is 422",
    )
    redeem_points: int = Field(
        0,
        ge=0,
        le=10_000_000,
        description="Loyalty points to spend (signed in): 422 `points_insufficient`, "
        "`points_below_minimum` or `points_over_limit` (see GET /loyalty/preview)",
    )


class PlaceIn(CheckoutIn):
    expected_total: Decimal | None = Field(None, description="The total the customer saw")
    device_id: str = Field("", max_length=64)
    ref: str = Field("", max_length=16, description="A referral or affiliate code (`?ref=`)")
    ref_seen_at: datetime | None = Field(
        None, description="When the storefront first saw `ref` (affiliate window)"
    )


class OneClickIn(InputSchema):
    product_id: UUID
    variation_id: UUID | None = None
    quantity: int = Field(1, ge=1, le=1000)
    expected_total: Decimal | None = None
    device_id: str = Field("", max_length=64)


class QuoteLineOut(Schema):
    product_id: str
    variation_id: str | None
    sku: str
    name: str
    name_bn: str
    quantity: int
    unit_price: Money
    line_total: Money
    problem: str | None = Field(
        None, description="`unavailable`, `variation_required` or `out_of_stock`: not charged"
    )


class ShippingOut(Schema):
    zone: str
    zone_name: str
    rate: Money
    free: bool = Field(..., description="A free-shipping discount applies")


class DeliveryEstimateOut(Schema):
    days_min: int
    days_max: int
    earliest: date
    latest: date


class AppliedDiscountOut(Schema):
    discount_id: str
    code: str | None
    name: str
    amount: Money


class StockWarningOut(Schema):
    product_id: str
    variation_id: str | None
    sku: str
    problem: str
    requested: int
    available: int


class QuoteOut(Schema):
    """Every amount the order will be charged, computed as placement computes it."""

    lines: list[QuoteLineOut]
    subtotal: Money
    items_discount: Money
    shipping: ShippingOut
    shipping_discount: Money
    points_redeemed: int = Field(..., description="Loyalty points spent on this order")
    points_discount: Money
    cod_fee: Money
    total: Money
    delivery_estimate: DeliveryEstimateOut
    applied_discounts: list[AppliedDiscountOut]
    stock_warnings: list[StockWarningOut]


class PlacedItemOut(Schema):
    product_id: str
    variation_id: str | None
    sku: str
    name: str
    quantity: int
    unit_price: Money
    line_total: Money


class PlacedOrderOut(Schema):
    id: UUID
    number: str
    status: str
    payment_method: str
    payment_status: str
    subtotal: Money
    discount_total: Money
    shipping_total: Money
    cod_fee: Money
    total: Money
    payment_due_at: datetime | None = Field(
        ..., description="Wallet payments: pay before this or the order is cancelled"
    )
    delivery_estimate: DeliveryEstimateOut | None
    shipping_address: dict[str, Any]
    placed_at: datetime
    items: list[PlacedItemOut]


def cart_line(product_id, variation_id, quantity):
    from lib.cart.store import CartLine

    return CartLine(
        product_id=str(product_id),
        variation_id=str(variation_id) if variation_id else None,
        quantity=quantity,
    )


def user_id_of(request) -> str | None:
    claims = get_access(request).claims
    return str(claims.user_id) if claims else None


def source_lines(request, body: CheckoutIn, cart_token: str | None) -> tuple[list, str | None]:
    """(lines, cart key to clear after placement)."""
    if body.lines is not None:
        return [cart_line(x.product_id, x.variation_id, x.quantity) for x in body.lines], None
    from lib.cart.store import cart_key, cart_lines

    user_id = user_id_of(request)
    token = (cart_token or "").strip() or None
    if not user_id and not token:
        raise ApiError("cart_empty", status=422)
    key = cart_key(user_id=user_id, guest_token=None if user_id else token)
    return cart_lines(key=key), key


def resolve_address(request, body: CheckoutIn) -> tuple[Any, Any]:
    """(ValidAddress, saved address id or None)."""
    user_id = user_id_of(request)
    if body.address is not None:
        return address_validate(data=body.address), None
    if not user_id:
        raise ApiError("address_required", status=422)
    saved = placement.saved_address(user_id=user_id, address_id=body.address_id)
    return placement.address_of_saved(saved), saved.pk


def build_request(
    request,
    body: CheckoutIn,
    raw: dict,
    *,
    cart_token: str | None = None,
    idempotency_key: str = "",
    placing: bool = True,
) -> placement.PlaceRequest:
    user_id = user_id_of(request)
    lines, key = source_lines(request, body, cart_token)
    address, address_id = resolve_address(request, body)
    email = body.email.strip()
    guest_phone = ""
    if user_id:
        from db.models import User

        email = User.objects.filter(pk=user_id).values_list("email", flat=True).first() or ""
    else:
        if placing and not email and not body.phone.strip():
            raise ApiError("guest_contact_required", status=422, fields={"email": [], "phone": []})
        guest_phone = address.phone
        if body.phone.strip():
            from lib.access.services import phone_normalize

            try:
                guest_phone = phone_normalize(body.phone)
            except ValueError as exc:
                raise ApiError("phone_invalid", status=422, fields={"phone": []}) from exc
    return placement.PlaceRequest(
        lines=lines,
        address=address,
        address_id=address_id,
        codes=list(body.coupon_codes),
        payment_method=str(body.payment_method),
        user_id=user_id,
        email=email,
        guest_email="" if user_id else email,
        guest_phone=guest_phone,
        ip=get_access(request).ip or None,
        device_id=getattr(body, "device_id", ""),
        expected_total=getattr(body, "expected_total", None),
        idempotency_key=idempotency_key,
        fingerprint=placement.fingerprint_of(raw, user_id=user_id),
        cart_key=key,
        language=request_language(request),
        phone_verification=body.phone_verification.strip(),
        redeem_points=body.redeem_points,
        ref=getattr(body, "ref", "").strip(),
        ref_seen_at=getattr(body, "ref_seen_at", None),
    )


def order_out(order: Order) -> dict[str, Any]:
    items = OrderItem.objects.filter(order=order).order_by("sku")
    return {
        "id": str(order.pk),
        "number": order.number,
        "status": order.status,
        "payment_method": order.payment_method,
        "payment_status": order.payment_status,
        "subtotal": order.subtotal,
        "discount_total": order.discount_total,
        "shipping_total": order.shipping_total,
        "cod_fee": order.cod_fee,
        "total": order.total_amount,
        "payment_due_at": order.payment_due_at,
        "delivery_estimate": order.delivery_estimate or None,
        "shipping_address": order.shipping_snapshot,
        "placed_at": order.placed_at,
        "items": [
            {
                "product_id": str(item.product_id),
                "variation_id": str(item.variation_id) if item.variation_id else None,
                "sku": item.sku,
                "name": item.product_name,
                "quantity": item.quantity,
                "unit_price": item.unit_price,
                "line_total": item.total_price,
            }
            for item in items
        ],
    }


def placed_response(result: placement.Placed):
    return Status(200 if result.replayed else 201, order_out(result.order))


@router.post("/quote", response=QuoteOut, auth=None)
def quote(request, body: CheckoutIn, cart_token: CartToken = None):
    """Price a checkout without placing it: the cart (or `lines`) shipped to the address,
    coupons applied, with stock warnings. The same computation placement charges. A coupon
    code that cannot be used refuses the request: 422 `coupon_invalid`, each such code in
    `fields.coupon_codes` as `"CODE: reason"` (`coupon_expired`, `coupon_used_up`, ...)."""
    place = build_request(request, body, {}, cart_token=cart_token, placing=False)
    result = quote_compute(
        lines=place.lines,
        district_id=place.address.district_id,
        codes=place.codes,
        payment_method=place.payment_method,
        customer_key=placement.customer_key_of(place),
        redeem_points=place.redeem_points,
        user_id=place.user_id,
    )
    return result.out()


@router.post(
    "/orders", response={200: PlacedOrderOut, 201: PlacedOrderOut, 409: ErrorOut}, auth=None
)
def place_order(
    request, body: PlaceIn, idempotency_key: IdempotencyKey, cart_token: CartToken = None
):
    """Place an order from the cart (or `lines`): 201 with the order; a retry with the same
    `Idempotency-Key` answers 200 with the same order. 409 `price_changed` when
    `expected_total` no longer holds, `out_of_stock` when stock ran out; 422 `coupon_invalid`
    as for the quote, `variation_required` for a product in variations without one chosen."""
    place = build_request(
        request,
        body,
        body.model_dump(mode="json"),
        cart_token=cart_token,
        idempotency_key=idempotency_key,
    )
    return placed_response(placement.order_place(place))


@router.post(
    "/one-click", response={200: PlacedOrderOut, 201: PlacedOrderOut, 409: ErrorOut}, auth=None
)
def one_click(request, body: OneClickIn, idempotency_key: IdempotencyKey):
    """Buy one product now (signed in): shipped to the default address and paid the way
    the customer's last order was. Same answers as placing an order."""
    user_id = user_id_of(request)
    if not user_id:
        raise ApiError("unauthenticated", status=401)
    last = (
        Order.objects.filter(user_id=user_id)
        .order_by("-created_at")
        .values_list("payment_method", flat=True)
        .first()
    )
    checkout = PlaceIn(
        lines=[
            LineIn(
                product_id=body.product_id, variation_id=body.variation_id, quantity=body.quantity
            )
        ],
        payment_method=last or PaymentProvider.COD,
        expected_total=body.expected_total,
        device_id=body.device_id,
    )
    place = build_request(
        request, checkout, body.model_dump(mode="json"), idempotency_key=idempotency_key
    )
    return placed_response(placement.order_place(place))


app = make_app("checkout", [("checkout/", router)], title="Checkout")
