"""The shopping cart: /api/v1/cart...

A signed-in customer (Bearer token) has one cart. A guest's cart is named by the opaque token
issued on the first add, returned in the body (`token`) and the `X-Cart-Token` header; send
it back in `X-Cart-Token`. Signing in (or registering) with that header moves the guest
cart into the customer's.
"""

from uuid import UUID

from lib.runtime import make_app

from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema, Status
from pydantic import model_validator

from lib.access.context import get_access
from lib.access.permissions import Require
from lib.cart import services
from lib.cart.store import cart_clear, cart_key, guest_token_new, guest_token_valid
from lib.errors import ApiError
from lib.i18n import request_language
from lib.money import Money
from lib.schemas import CART_TOKEN, CartToken, InputSchema

router = Router(tags=["cart"], auth=Require(scope="storefront:write", user=False))


class LineAddIn(InputSchema):
    product_id: UUID | None = Field(None, description="The product, or give its `slug`")
    slug: str | None = Field(None, max_length=255)
    variation_id: UUID | None = Field(
        None, description="Required when the product comes in variations"
    )
    quantity: int = Field(1, description="Units to add (1 to CART_MAX_QTY_PER_LINE in all)")

    @model_validator(mode="after")
    def product_named(self):
        if self.product_id is None and not self.slug:
            raise ValueError("Give product_id or slug.")
        return self


class LineChangeIn(InputSchema):
    quantity: int = Field(..., description="The line's new quantity; 0 removes it")


class CartLineOut(Schema):
    id: str = Field(..., description="`product_id` or `product_id:variation_id`")
    product_id: str
    variation_id: str | None
    slug: str
    name: str
    variation_name: str
    sku: str
    image_url: str | None
    quantity: int
    unit_price: Money
    line_total: Money
    available: int = Field(..., description="Units that can be bought now")
    unavailable: bool = Field(..., description="No longer for sale (draft, inactive, deleted)")
    warning: str | None = Field(
        None, description="`unavailable`, `out_of_stock` or `insufficient_stock`"
    )


class CartOut(Schema):
    token: str | None = Field(None, description="The guest cart's token (guests only)")
    lines: list[CartLineOut]
    item_count: int = Field(..., description="Units in the lines that can be bought")
    subtotal: Money = Field(..., description="The lines that can be bought")
    has_problems: bool = Field(..., description="Some line is unavailable or short of stock")


def cart_owner(request: HttpRequest, cart_token: str | None) -> tuple[str | None, str | None]:
    """(user id, guest token) of the caller's cart: the signed-in user's, else the guest's
    named by `X-Cart-Token` (None: a guest with no cart yet)."""
    claims = get_access(request).claims
    if claims is not None:
        return claims.user_id, None
    token = (cart_token or "").strip()
    if token and not guest_token_valid(token):
        raise ApiError("cart_token_invalid", status=400, fields={CART_TOKEN: []})
    return None, token or None


def cart_out(request: HttpRequest, response: HttpResponse, user_id, token) -> dict:
    """The priced cart; a guest's token goes back in the body and the header."""
    key = cart_key(user_id=user_id, guest_token=token) if (user_id or token) else None
    view = services.cart_view(key=key, language=request_language(request))
    if token:
        response[CART_TOKEN] = token
    return {
        "token": token,
        "lines": view.lines,
        "item_count": view.item_count,
        "subtotal": view.subtotal,
        "has_problems": view.has_problems,
    }


def owner_key(
    request: HttpRequest, cart_token: str | None
) -> tuple[str | None, str | None, str | None]:
    """(user id, guest token, cart key); the key is None for a guest with no cart yet."""
    user_id, token = cart_owner(request, cart_token)
    key = cart_key(user_id=user_id, guest_token=token) if (user_id or token) else None
    return user_id, token, key


@router.get("", response=CartOut)
def view_cart(request, response: HttpResponse, cart_token: CartToken = None):
    """The cart with live prices and stock: unavailable lines are kept and flagged, lines
    short of stock carry a warning; the subtotal counts the lines that can be bought."""
    user_id, token = cart_owner(request, cart_token)
    return cart_out(request, response, user_id, token)


@router.post("/lines", response={201: CartOut})
def add_line(request, response: HttpResponse, payload: LineAddIn, cart_token: CartToken = None):
    """Add units of a product (or one of its variations); added to the line already there.
    A guest's first add issues the cart token."""
    user_id, token = cart_owner(request, cart_token)
    if user_id is None and token is None:
        token = guest_token_new()
    services.cart_add(
        key=cart_key(user_id=user_id, guest_token=token),
        quantity=payload.quantity,
        product_id=str(payload.product_id) if payload.product_id else None,
        slug=payload.slug,
        variation_id=str(payload.variation_id) if payload.variation_id else None,
    )
    return Status(201, cart_out(request, response, user_id, token))


@router.patch("/lines/{line_id}", response=CartOut)
def change_line(
    request,
    response: HttpResponse,
    line_id: str,
    payload: LineChangeIn,
    cart_token: CartToken = None,
):
    """Set a line's quantity; 0 removes the line."""
    user_id, token, key = owner_key(request, cart_token)
    if payload.quantity < 0:
        raise ApiError("validation_error", status=422, fields={"quantity": ["Must be 0 or more."]})
    if key is None:
        raise ApiError("not_found", status=404, fields={"line_id": [line_id]})
    services.cart_line_change(key=key, line_id=line_id, quantity=payload.quantity)
    return cart_out(request, response, user_id, token)


@router.delete("/lines/{line_id}", response=CartOut)
def remove_line(request, response: HttpResponse, line_id: str, cart_token: CartToken = None):
    """Remove a line (nothing happens when it is not in the cart)."""
    user_id, token, key = owner_key(request, cart_token)
    if key is not None:
        services.cart_line_delete(key=key, line_id=line_id)
    return cart_out(request, response, user_id, token)


@router.delete("", response={204: None})
def clear_cart(request, cart_token: CartToken = None):
    """Empty the cart."""
    _, _, key = owner_key(request, cart_token)
    if key is not None:
        cart_clear(key=key)
    return Status(204, None)


app = make_app("cart", [("/cart", router)], title="Zest Store cart")
