"""Stock promised to orders: allocation at placement, release on cancel, removal on shipping.

Rows are locked products first, then variations, each in primary-key order (the rule of
`lib/inventory.py`), so concurrent checkouts of the same items queue instead of deadlocking,
and availability (on hand - allocated - unexpired reservations) is read under the lock.
Each function runs a constant number of queries whatever the number of lines.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Case, F, IntegerField, Value, When
from django.db.models.functions import Now

from db.models import (
    OrderItem,
    Product,
    ProductVariation,
    StockAdjustment,
    StockAdjustmentReason,
)
from lib.catalog import cache as catalog_cache
from lib.errors import Conflict
from lib.inventory import with_available


def line_ids(line: Any) -> tuple[str, str | None, int]:
    """(product id, variation id or None, quantity) of a CartLine, PricedLine or OrderItem."""
    product = getattr(line, "product_id", None) or getattr(line, "product", None).pk
    variation = getattr(line, "variation_id", None)
    if variation is None and getattr(line, "variation", None) is not None:
        variation = line.variation.pk
    return str(product), (str(variation) if variation else None), int(line.quantity)


def totals_of(lines: Iterable[Any]) -> tuple[dict[str, int], dict[str, int]]:
    """Units per product and per variation (a variation's units count on its product too)."""
    products: dict[str, int] = {}
    variations: dict[str, int] = {}
    for line in lines:
        product_id, variation_id, quantity = line_ids(line)
        products[product_id] = products.get(product_id, 0) + quantity
        if variation_id:
            variations[variation_id] = variations.get(variation_id, 0) + quantity
    return products, variations


def rows_lock(product_ids, variation_ids) -> tuple[dict, dict]:
    """Lock products then variations in pk order, annotated with `available` (two queries)."""
    products = {
        str(row.pk): row
        for row in with_available(Product.objects.filter(pk__in=sorted(product_ids)))
        .only("id", "sku", "category_id", "quantity", "allocated")
        .order_by("pk")
        .select_for_update(of=("self",))
    }
    variations = {}
    if variation_ids:
        variations = {
            str(row.pk): row
            for row in with_available(
                ProductVariation.objects.filter(pk__in=sorted(variation_ids)), variation=True
            )
            .only("id", "sku", "product_id", "quantity", "allocated")
            .order_by("pk")
            .select_for_update(of=("self",))
        }
    return products, variations


def step(deltas: dict[str, int]) -> Case:
    return Case(
        *(When(pk=pk, then=Value(delta)) for pk, delta in deltas.items()),
        output_field=IntegerField(),
    )


def invalidate_on_commit(products: dict) -> None:
    product_ids = list(products)
    category_ids = sorted({str(row.category_id) for row in products.values()})
    transaction.on_commit(
        lambda: catalog_cache.catalog_cache_invalidate(
            product_ids=product_ids, category_ids=category_ids
        )
    )


def order_stock_allocate(*, lines: Iterable[Any]) -> None:
    """Promise the units of `lines` to an order (inside the caller's transaction), or 409
    `out_of_stock` naming every SKU short of stock. Four queries."""
    lines = list(lines)
    product_units, variation_units = totals_of(lines)
    with transaction.atomic():
        products, variations = rows_lock(product_units, variation_units)
        short: dict[str, list[str]] = {}
        sellable_variation_of = {pk: row.product_id for pk, row in variations.items()}
        products_via_variation = {str(pid) for pid in sellable_variation_of.values()}
        for pk, units in variation_units.items():
            row = variations.get(pk)
            available = max(row.available, 0) if row is not None else 0
            if available < units:
                sku = row.sku if row is not None else pk
                short[sku] = [f"{units} requested, {available} available."]
        for pk, units in product_units.items():
            row = products.get(pk)
            if row is None:
                short[pk] = [f"{units} requested, 0 available."]
            elif pk not in products_via_variation and max(row.available, 0) < units:
                short[row.sku] = [f"{units} requested, {max(row.available, 0)} available."]
        if short:
            raise Conflict("out_of_stock", fields={"sku": sorted(short), **short})
        Product.objects.filter(pk__in=list(product_units)).update(
            allocated=F("allocated") + step(product_units), updated_at=Now()
        )
        if variation_units:
            ProductVariation.objects.filter(pk__in=list(variation_units)).update(
                allocated=F("allocated") + step(variation_units), updated_at=Now()
            )
        invalidate_on_commit(products)


def order_items(order) -> list[OrderItem]:
    return list(
        OrderItem.objects.filter(order=order).only("product_id", "variation_id", "quantity")
    )


def order_stock_release(*, order) -> None:
    """Give back what `order` holds (cancellation, payment timeout). Never below zero."""
    product_units, variation_units = totals_of(order_items(order))
    if not product_units:
        return
    with transaction.atomic():
        products, variations = rows_lock(product_units, variation_units)
        product_units = {pk: min(n, products[pk].allocated) for pk, n in product_units.items()}
        variation_units = {
            pk: min(n, variations[pk].allocated) for pk, n in variation_units.items()
        }
        Product.objects.filter(pk__in=list(product_units)).update(
            allocated=F("allocated") - step(product_units), updated_at=Now()
        )
        if variation_units:
            ProductVariation.objects.filter(pk__in=list(variation_units)).update(
                allocated=F("allocated") - step(variation_units), updated_at=Now()
            )
        invalidate_on_commit(products)


def order_stock_ship(*, order, actor_id=None) -> None:
    """The units leave the warehouse: on hand and allocated go down together, audited as
    "sold" adjustments (one per order line)."""
    items = order_items(order)
    product_units, variation_units = totals_of(items)
    if not product_units:
        return
    with transaction.atomic():
        products, variations = rows_lock(product_units, variation_units)
        adjustments = []
        for item in items:
            product_id, variation_id, quantity = line_ids(item)
            row = variations[variation_id] if variation_id else products[product_id]
            row.quantity -= quantity
            adjustments.append(
                StockAdjustment(
                    product_id=product_id,
                    variation_id=variation_id,
                    delta=-quantity,
                    quantity_after=row.quantity,
                    reason=StockAdjustmentReason.SOLD,
                    note=f"Order {order.number}",
                    actor_id=actor_id,
                )
            )
        for model, units in ((Product, product_units), (ProductVariation, variation_units)):
            if units:
                model.objects.filter(pk__in=list(units)).update(
                    quantity=F("quantity") - step(units),
                    allocated=F("allocated") - step(units),
                    updated_at=Now(),
                )
        StockAdjustment.objects.bulk_create(adjustments)
        invalidate_on_commit(products)
