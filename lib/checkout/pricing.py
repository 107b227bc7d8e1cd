"""Server-side prices of cart lines: the only prices checkout ever charges.

A variation's price is its product's plus the variation's adjustment. Lines that cannot be
sold (unknown or inactive product or variation, a product in variations with none chosen,
not enough stock right now) are flagged with `problem` rather than dropped, so a quote can
warn about them and placement can refuse them. Two queries whatever the number of lines.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Exists, F, OuterRef

from db.models import Product, ProductVariation, VendorStatus
from lib.inventory import with_available
from lib.money import quantize_bdt

UNAVAILABLE = "unavailable"  # unknown or inactive product or variation
VARIATION_REQUIRED = "variation_required"  # the product comes in variations, none was chosen
OUT_OF_STOCK = "out_of_stock"  # fewer units available than requested


@dataclass(slots=True)
class PricedLine:
    product: Product
    variation: ProductVariation | None
    quantity: int
    unit_price: Decimal
    line_total: Decimal
    category_id: Any
    vendor_id: Any
    available: int = 0
    problem: str = ""

    @property
    def product_id(self) -> str:
        return str(self.product.pk)

    @property
    def variation_id(self) -> str | None:
        return str(self.variation.pk) if self.variation is not None else None

    @property
    def sku(self) -> str:
        return (self.variation or self.product).sku


def as_uuid(value: Any) -> str | None:
    try:
        return str(uuid.UUID(str(value)))
    except (TypeError, ValueError):
        return None


def line_problem(product: Product, variation_id: str | None, variation: Any) -> str:
    """Why the line cannot be sold at all ("" when it can, stock aside). `product` carries
    `vendor_status` (None for the store's own)."""
    if not product.is_active or product.vendor_status == VendorStatus.SUSPENDED:
        return UNAVAILABLE
    if variation_id is None:
        return VARIATION_REQUIRED if product.has_variations else ""
    if variation is None or str(variation.product_id) != str(product.pk):
        return UNAVAILABLE
    return "" if variation.is_active else UNAVAILABLE


def lines_price(lines: list[Any]) -> list[PricedLine]:
    """Price `lines` (CartLine: product_id, variation_id, quantity). Lines of unknown
    products are left out; every other line comes back, flagged when it cannot be sold.
    Identical lines (same product and variation) are merged."""
    merged: dict[tuple[str, str | None], int] = {}
    for line in lines:
        product_id = as_uuid(line.product_id)
        variation_id = as_uuid(line.variation_id) if line.variation_id else None
        if product_id is None or int(line.quantity) < 1:
            continue
        key = (product_id, variation_id)
        merged[key] = merged.get(key, 0) + int(line.quantity)
    if not merged:
        return []
    has_variations = Exists(ProductVariation.objects.filter(product=OuterRef("pk")))
    products = {
        str(row.pk): row
        for row in with_available(Product.objects.filter(pk__in={p for p, _ in merged})).annotate(
            has_variations=has_variations, vendor_status=F("vendor__status")
        )
    }
    variation_ids = {v for _, v in merged if v}
    variations = {}
    if variation_ids:
        variations = {
            str(row.pk): row
            for row in with_available(
                ProductVariation.objects.filter(pk__in=variation_ids), variation=True
            )
        }
    priced = []
    for (product_id, variation_id), quantity in merged.items():
        product = products.get(product_id)
        if product is None:
            continue
        variation = variations.get(variation_id) if variation_id else None
        problem = line_problem(product, variation_id, variation)
        unit_price = product.price + (variation.price_adjustment if variation else Decimal(0))
        unit_price = quantize_bdt(max(unit_price, Decimal(0)))
        available = max((variation or product).available, 0)
        if not problem and available < quantity:
            problem = OUT_OF_STOCK
        priced.append(
            PricedLine(
                product=product,
                variation=variation,
                quantity=quantity,
                unit_price=unit_price,
                line_total=quantize_bdt(unit_price * quantity),
                category_id=product.category_id,
                vendor_id=product.vendor_id,
                available=available,
                problem=problem,
            )
        )
    return priced
