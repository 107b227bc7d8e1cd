"""The checkout quote: every amount an order will be charged, computed by one function.

`quote_compute` is called by `POST /checkout/quote` and again by placement inside its
transaction, so what a customer is shown is exactly what they are charged.

A coupon code the customer entered either applies or refuses the whole request (422
`coupon_invalid`, each refused code listed as `"<CODE>: <reason code>"` under
`fields.coupon_codes`): an order is never placed at a price the customer did not expect.
Automatic promotions that do not apply are skipped without a word.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from lib.checkout.pricing import PricedLine, lines_price
from lib.errors import ApiError
from lib.loyalty.redeem import NO_REDEMPTION, points_redemption_price
from lib.money import quantize_bdt
from lib.site.selectors import CheckoutSettings, checkout_settings

ZERO = Decimal("0.00")
WALLETS = ("bkash", "nagad", "rocket", "upay", "sslcommerz")


@dataclass
class Quote:
    lines: list[PricedLine]
    subtotal: Decimal
    items_discount: Decimal
    shipping: Any  # ShippingQuote
    shipping_rate: Decimal
    shipping_discount: Decimal
    cod_fee: Decimal
    total: Decimal
    applied: list[Any] = field(default_factory=list)
    stock_warnings: list[dict[str, Any]] = field(default_factory=list)
    points_redeemed: int = 0
    points_discount: Decimal = ZERO

    @property
    def discount_total(self) -> Decimal:
        """Everything taken off the items: discounts and points."""
        return quantize_bdt(self.items_discount + self.points_discount)

    @property
    def sellable(self) -> list[PricedLine]:
        return [line for line in self.lines if not line.problem]

    @property
    def shipping_total(self) -> Decimal:
        return quantize_bdt(self.shipping_rate - self.shipping_discount)

    def delivery_estimate(self) -> dict[str, Any]:
        earliest, latest = self.shipping.estimate()
        return {
            "days_min": self.shipping.days_min,
            "days_max": self.shipping.days_max,
            "earliest": earliest.isoformat(),
            "latest": latest.isoformat(),
        }

    def out(self) -> dict[str, Any]:
        ship = self.shipping
        return {
            "lines": [
                {
                    "product_id": line.product_id,
                    "variation_id": line.variation_id,
                    "sku": line.sku,
                    "name": line.product.name_en,
                    "name_bn": line.product.name_bn,
                    "quantity": line.quantity,
                    "unit_price": line.unit_price,
                    "line_total": line.line_total,
                    "problem": line.problem or None,
                }
                for line in self.lines
            ],
            "subtotal": self.subtotal,
            "items_discount": self.items_discount,
            "shipping": {
                "zone": ship.zone_code,
                "zone_name": ship.zone_name,
                "rate": self.shipping_rate,
                "free": bool(ship.free),
            },
            "shipping_discount": self.shipping_discount,
            "points_redeemed": self.points_redeemed,
            "points_discount": self.points_discount,
            "cod_fee": self.cod_fee,
            "total": self.total,
            "delivery_estimate": self.delivery_estimate(),
            "applied_discounts": [
                {
                    "discount_id": str(a.discount_id),
                    "code": a.code,
                    "name": a.name,
                    "amount": a.amount,
                }
                for a in self.applied
            ],
            "stock_warnings": self.stock_warnings,
        }


COUPON_CODES_FIELD = "coupon_codes"  # the checkout body's field


def coupon_refused(errors: dict[str, list[str]]) -> ApiError:
    """422 `coupon_invalid`: `{"coupon_codes": ["OLD: coupon_expired", ...]}`."""
    reasons = [f"{code}: {reason}" for code, items in errors.items() for reason in items]
    return ApiError("coupon_invalid", status=422, fields={COUPON_CODES_FIELD: reasons})


def cod_fee_for(payment_method: str, charges: CheckoutSettings) -> Decimal:
    return charges.cod_fee if payment_method == "cod" else ZERO


def quote_compute(
    *,
    lines: list[Any],
    district_id: int,
    codes: list[str],
    payment_method: str,
    customer_key: str | None,
    redeem_points: int = 0,
    user_id: str | None = None,
) -> Quote:
    """Price `lines` (CartLine) shipped to `district_id`; 422 `cart_empty` without a line,
    422 `coupon_invalid` when one of `codes` cannot be used; `redeem_points` of `user_id`
    taken off the items after discounts (`lib.loyalty.redeem`)."""
    from lib.checkout.shipping import shipping_quote
    from lib.discounts import discounts_apply

    priced = lines_price(lines)
    if not priced:
        raise ApiError("cart_empty", status=422)
    sellable = [line for line in priced if not line.problem]
    subtotal = quantize_bdt(sum((line.line_total for line in sellable), ZERO))
    charges = checkout_settings()
    shipping = shipping_quote(
        district_id=district_id,
        subtotal=subtotal,
        store_threshold=charges.free_shipping_threshold,
    )
    rate = ZERO if shipping.free else quantize_bdt(shipping.rate)
    result = discounts_apply(
        lines=sellable, shipping=rate, codes=list(codes), customer_key=customer_key
    )
    if result.errors:
        raise coupon_refused(result.errors)
    items_discount = min(quantize_bdt(result.items_discount), subtotal)
    shipping_discount = min(quantize_bdt(result.shipping_discount), rate)
    fee = cod_fee_for(payment_method, charges)
    points = NO_REDEMPTION
    if redeem_points:
        points = points_redemption_price(
            user_id=user_id, points=redeem_points, base=subtotal - items_discount
        )
    total = quantize_bdt(subtotal - items_discount - points.amount + rate - shipping_discount + fee)
    warnings = [
        {
            "product_id": line.product_id,
            "variation_id": line.variation_id,
            "sku": line.sku,
            "problem": line.problem,
            "requested": line.quantity,
            "available": line.available,
        }
        for line in priced
        if line.problem
    ]
    return Quote(
        lines=priced,
        subtotal=subtotal,
        items_discount=items_discount,
        shipping=shipping,
        shipping_rate=rate,
        shipping_discount=shipping_discount,
        cod_fee=fee,
        total=total,
        applied=list(result.applied),
        stock_warnings=warnings,
        points_redeemed=points.points,
        points_discount=points.amount,
    )


def as_dict(value: Any) -> dict[str, Any]:
    """A dataclass or pydantic object as a JSON-friendly dict."""
    if dataclasses.is_dataclass(value):
        data = dataclasses.asdict(value)
    elif hasattr(value, "model_dump"):
        data = value.model_dump()
    else:
        data = dict(vars(value))
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in data.items()}
