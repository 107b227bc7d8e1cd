"""Inventory rules: availability, who manages which stock, adjustments and their audit trail.

Stock lives on each variation of a product that has variations (the product's `quantity` and
`allocated` are then the sums of its variations'), and on the product itself otherwise.

Locking order, for every writer of stock: products, then variations, each in primary-key
order. Two writers touching the same rows then queue instead of deadlocking.
The low-stock report and alerts live in `lib/inventory_alerts.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import (
    Case,
    Exists,
    F,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Now
from django.http import HttpRequest

from db.models import (
    Product,
    ProductVariation,
    StockAdjustment,
    StockAdjustmentReason,
    StockReservation,
)
from lib.access.permissions import RequireEditor, managed_vendor_ids, vendor_access_check
from lib.catalog import cache as catalog_cache
from lib.errors import ApiError, Conflict, NotFound

MAX_DELTA = 1_000_000


# --- availability ----------------------------------------------------------------------


def reserved_units(*, variation: bool = False) -> Subquery:
    """Units held by unexpired reservations of the outer product (or variation) row.

    Expired reservations stop counting at once, so availability never depends on a cron.
    """
    owner = "variation" if variation else "product"
    held = (
        StockReservation.objects.filter(**{owner: OuterRef("pk")}, expires_at__gt=Now())
        .values(owner)
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    if not variation:
        held = held.filter(variation__isnull=True)
    return Coalesce(Subquery(held, output_field=IntegerField()), 0)


def with_available(queryset: QuerySet, *, variation: bool = False) -> QuerySet:
    """Annotate `available` = on hand - allocated - unexpired reservations."""
    return queryset.annotate(
        available=F("quantity") - F("allocated") - reserved_units(variation=variation)
    )


# --- who may manage which stock ----------------------------------------------------------


INVENTORY_STAFF_PERMISSION = "inventory:manage"
# Route auth of the inventory admin: staff with `inventory:manage` (every product), or a
# vendor's owner or staff (`vendor:catalog`: that vendor's products only).
INVENTORY_EDITOR = RequireEditor(INVENTORY_STAFF_PERMISSION)


def inventory_vendor_ids(request: HttpRequest) -> tuple[str, ...] | None:
    """Whose stock the caller manages (`None`: every product's)."""
    return managed_vendor_ids(request, staff_permission=INVENTORY_STAFF_PERMISSION)


def product_access_check(request: HttpRequest, product: Product) -> None:
    """403 unless the caller may manage `product` (the store's own products: staff only)."""
    vendor_access_check(request, str(product.vendor_id) if product.vendor_id else "")


def of_vendors(queryset: QuerySet, vendor_ids: Iterable[str] | None, *, path: str) -> QuerySet:
    """Rows whose product belongs to one of `vendor_ids` (None: no restriction)."""
    return queryset if vendor_ids is None else queryset.filter(**{f"{path}__in": vendor_ids})


# --- adjustments -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StockChange:
    """One line of an adjustment: `delta` units on a product (or one of its variations)."""

    product_id: UUID | str
    delta: int
    reason: str
    variation_id: UUID | str | None = None
    note: str = ""


def stock_adjust(
    *,
    product: Product,
    variation: ProductVariation | None = None,
    delta: int,
    reason: str,
    note: str = "",
    actor_id: UUID | str | None = None,
) -> StockAdjustment:
    """Add (positive `delta`) or remove stock of a product without variations or of one
    variation, with an audit row; 409 `insufficient_stock` below what is allocated."""
    if variation is not None and variation.product_id != product.pk:
        raise NotFound(fields={"variation_id": [str(variation.pk)]})
    change = StockChange(
        product_id=product.pk,
        variation_id=variation.pk if variation is not None else None,
        delta=delta,
        reason=reason,
        note=note,
    )
    return stock_adjust_many(items=[change], actor_id=actor_id)[0]


def stock_adjust_many(
    *,
    items: Sequence[StockChange],
    actor_id: UUID | str | None = None,
    authorize: Callable[[Product], None] | None = None,
) -> list[StockAdjustment]:
    """Apply every change or none, in one transaction: the rows are locked (products, then
    variations, in primary-key order), each result is checked against what is allocated,
    quantities move with F() and one audit row is written per change. A variation's change
    moves its product's total too. `authorize(product)` may refuse a product (raise).

    A constant number of queries whatever the number of items."""
    for change in items:
        stock_change_validate(change)
    with transaction.atomic():
        products, variations = stock_rows_lock(items)
        if authorize is not None:
            for product in products.values():
                authorize(product)
        product_deltas: dict[Any, int] = {}
        variation_deltas: dict[Any, int] = {}
        adjustments = []
        for change in items:
            product = products[str(change.product_id)]
            variation = variations.get(str(change.variation_id)) if change.variation_id else None
            if change.variation_id and (variation is None or variation.product_id != product.pk):
                raise NotFound(fields={"variation_id": [str(change.variation_id)]})
            if variation is None and product.has_variations:
                raise ApiError("variation_required", status=422, fields={"sku": [product.sku]})
            for row, deltas in ((variation, variation_deltas), (product, product_deltas)):
                if row is not None:
                    stock_row_move(row, change.delta)
                    deltas[row.pk] = deltas.get(row.pk, 0) + change.delta
            adjustments.append(
                StockAdjustment(
                    product=product,
                    variation=variation,
                    delta=change.delta,
                    quantity_after=(variation or product).quantity,
                    reason=change.reason,
                    note=change.note,
                    actor_id=actor_id,
                )
            )
        quantities_add(Product, product_deltas)
        quantities_add(ProductVariation, variation_deltas)
        StockAdjustment.objects.bulk_create(adjustments)
        touched = list(products.values())
        transaction.on_commit(
            lambda: catalog_cache.catalog_cache_invalidate(
                product_ids=[str(product.pk) for product in touched],
                category_ids=sorted({str(product.category_id) for product in touched}),
            )
        )
    return adjustments


def stock_change_validate(change: StockChange) -> None:
    if change.delta == 0 or abs(change.delta) > MAX_DELTA:
        message = f"A change of stock is a non-zero whole number up to {MAX_DELTA}."
        raise ApiError("validation_error", status=422, fields={"delta": [message]})
    if change.reason not in StockAdjustmentReason.values:
        message = f"One of: {', '.join(StockAdjustmentReason.values)}."
        raise ApiError("validation_error", status=422, fields={"reason": [message]})
    if len(change.note) > StockAdjustment._meta.get_field("note").max_length:
        raise ApiError("validation_error", status=422, fields={"note": ["Too long."]})


def stock_rows_lock(items: Sequence[StockChange]) -> tuple[dict, dict]:
    """Lock the products, then the variations, of `items` in primary-key order (two
    queries); each keyed by str(pk). 404 for any that does not exist."""
    product_ids = sorted({str(change.product_id) for change in items})
    variation_ids = sorted({str(change.variation_id) for change in items if change.variation_id})
    has_variations = Exists(ProductVariation.objects.filter(product=OuterRef("pk")))
    products = {
        str(product.pk): product
        for product in Product.objects.filter(pk__in=product_ids)
        .only("id", "sku", "vendor_id", "category_id", "quantity", "allocated")
        .annotate(has_variations=has_variations)
        .order_by("pk")
        .select_for_update()
    }
    missing = [pk for pk in product_ids if pk not in products]
    if missing:
        raise NotFound(fields={"product_id": missing})
    variations = {}
    if variation_ids:
        variations = {
            str(variation.pk): variation
            for variation in ProductVariation.objects.filter(pk__in=variation_ids)
            .only("id", "sku", "product_id", "quantity", "allocated")
            .order_by("pk")
            .select_for_update()
        }
    return products, variations


def stock_row_move(row: Product | ProductVariation, delta: int) -> None:
    """Apply `delta` to the locked `row` in memory, refusing to go under what is allocated."""
    after = row.quantity + delta
    if after < max(row.allocated, 0):
        removable = max(row.quantity - row.allocated, 0)
        message = (
            f"{row.sku}: {row.quantity} on hand, {row.allocated} allocated to orders; "
            f"at most {removable} can be removed."
        )
        raise Conflict("insufficient_stock", fields={"delta": [message], "sku": [row.sku]})
    row.quantity = after


def quantities_add(model: type[Product | ProductVariation], deltas: dict[Any, int]) -> None:
    """quantity += delta for every row in one UPDATE."""
    deltas = {pk: delta for pk, delta in deltas.items() if delta}
    if not deltas:
        return
    step = Case(
        *(When(pk=pk, then=Value(delta)) for pk, delta in deltas.items()),
        output_field=IntegerField(),
    )
    model.objects.filter(pk__in=list(deltas)).update(
        quantity=F("quantity") + step, updated_at=Now()
    )


@dataclass(frozen=True, slots=True)
class AdjustmentFilters:
    product_id: UUID | None = None
    variation_id: UUID | None = None
    reason: str | None = None


def stock_adjustment_list(
    *, filters: AdjustmentFilters, vendor_ids: tuple[str, ...] | None = None
) -> QuerySet[StockAdjustment]:
    """The audit trail, newest first (products and variations joined: no query per row)."""
    rows = StockAdjustment.objects.select_related("product", "variation")
    if filters.product_id:
        rows = rows.filter(product_id=filters.product_id)
    if filters.variation_id:
        rows = rows.filter(variation_id=filters.variation_id)
    if filters.reason:
        rows = rows.filter(reason=filters.reason)
    return of_vendors(rows, vendor_ids, path="product__vendor_id").order_by("-created_at", "-id")
