"""Coupons and automatic promotions: pricing a cart (`discounts_apply`, a pure read) and
counting their use when an order is placed (`discounts_redeem`, inside its transaction)."""

from lib.discounts.apply import (
    AppliedDiscount,
    DiscountResult,
    discount_errors_translate,
    discounts_apply,
)
from lib.discounts.redeem import discounts_redeem

__all__ = [
    "AppliedDiscount",
    "DiscountResult",
    "discount_errors_translate",
    "discounts_apply",
    "discounts_redeem",
]
