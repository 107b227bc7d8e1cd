"""A product's variations (size, colour, ...): add, edit, remove, or replace the whole set.

Each variation is a sellable item with its own SKU, price adjustment and stock. Its stock is
set here only when it is created (a "received" stock adjustment); a variation that still has
stock, or appears in orders, cannot be removed (deactivate it, or stock it out first). Edits
of one product's variations are serialised by locking the product row, which the stock
adjustments lock first too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.http import HttpRequest
from django.utils import timezone

from db.models import OrderItem, Product, ProductVariation
from lib.catalog.category_services import cache_invalidate_on_commit
from lib.catalog.sanitize import text_clean
from lib.catalog.services import (
    conflict_from_integrity_error,
    new_variation,
    opening_stock,
    prices_check,
    skus_check_free,
    variation_stock_rule_check,
    variation_values_check,
)
from lib.errors import Conflict, NotFound

# API field -> model field; stock (`quantity`) is not editable here.
VARIATION_FIELDS = {
    "variation_type": "variation_type",
    "value_en": "variation_value_en",
    "value_bn": "variation_value_bn",
    "sku": "sku",
    "price_adjustment": "price_adjustment",
    "low_stock_threshold": "low_stock_threshold",
    "is_active": "is_active",
}
TEXT_FIELDS = frozenset({"variation_value_en", "variation_value_bn"})


def product_locked(product: Product) -> Product:
    return Product.objects.select_for_update().get(pk=product.pk)


def variation_admin_get(*, product: Product, variation_id: Any) -> ProductVariation:
    variation = ProductVariation.objects.filter(product=product, pk=variation_id).first()
    if variation is None:
        raise NotFound(fields={"variation_id": [str(variation_id)]})
    return variation


def variation_apply(variation: ProductVariation, changes: Mapping[str, Any]) -> list[str]:
    """Set the API fields `changes` on `variation`; the model fields that changed."""
    changed = []
    for name, value in changes.items():
        field = VARIATION_FIELDS[name]
        if field in TEXT_FIELDS:
            value = text_clean(value or "")
        if getattr(variation, field) != value:
            setattr(variation, field, value)
            changed.append(field)
    return changed


def variations_write_done(product: Product) -> None:
    cache_invalidate_on_commit(product_ids=[product.pk], category_ids=[product.category_id])


def variation_add(
    request: HttpRequest, *, product: Product, data: Mapping[str, Any]
) -> ProductVariation:
    try:
        with transaction.atomic():
            product = product_locked(product)
            siblings = list(product.variations.all())
            if not siblings:
                variation_stock_rule_check(product, adding_variations=True)
            variation = new_variation(product, data)
            variation_values_check([*siblings, variation], field="value_en")
            prices_check(
                price=product.price,
                compare_price=None,
                adjustments=[variation.price_adjustment],
            )
            skus_check_free({"sku": variation.sku})
            variation.save()
            quantities = {variation.pk: data.get("quantity") or 0}
            opening_stock(request, product=product, quantities=quantities)
            variations_write_done(product)
    except IntegrityError as exc:
        raise conflict_from_integrity_error(exc) from exc
    variation.refresh_from_db()
    return variation


def variation_update(
    *, product: Product, variation: ProductVariation, changes: Mapping[str, Any]
) -> ProductVariation:
    """Change the given fields only (PATCH); never the stock."""
    try:
        with transaction.atomic():
            product = product_locked(product)
            changed = variation_apply(variation, changes)
            if not changed:
                return variation
            siblings = [v for v in product.variations.all() if v.pk != variation.pk]
            variation_values_check([*siblings, variation], field="value_en")
            prices_check(
                price=product.price, compare_price=None, adjustments=[variation.price_adjustment]
            )
            if "sku" in changed:
                skus_check_free({"sku": variation.sku}, variation_pks=[variation.pk])
            variation.save(update_fields=[*changed, "updated_at"])
            variations_write_done(product)
    except IntegrityError as exc:
        raise conflict_from_integrity_error(exc) from exc
    return variation


def variations_removable_check(variations: Sequence[ProductVariation]) -> None:
    """409 unless none of `variations` holds stock or was ever ordered."""
    if not variations:
        return
    stocked = sorted(v.sku for v in variations if v.quantity or v.allocated)
    if stocked:
        raise Conflict("variation_has_stock", fields={"sku": stocked})
    ordered = OrderItem.objects.filter(variation__in=variations).values_list(
        "variation__sku", flat=True
    )
    if ordered:
        raise Conflict("variation_has_orders", fields={"sku": sorted(set(ordered))})


def variation_delete(*, product: Product, variation: ProductVariation) -> None:
    """Remove a variation without stock and never ordered (409 otherwise)."""
    with transaction.atomic():
        product_locked(product)
        variation.refresh_from_db()
        variations_removable_check([variation])
        try:
            with transaction.atomic():
                variation.delete()
        except (ProtectedError, IntegrityError) as exc:
            raise Conflict("variation_has_orders", fields={"sku": [variation.sku]}) from exc
        variations_write_done(product)


def variations_replace(
    request: HttpRequest, *, product: Product, variations: Sequence[Mapping[str, Any]]
) -> list[ProductVariation]:
    """Make the product's variations exactly `variations`, matched by SKU: a listed SKU the
    product has is updated (its stock kept), a new one is created with its `quantity`, and a
    variation not listed is removed (refused, with nothing changed, if it still has stock or
    was ever ordered)."""
    try:
        with transaction.atomic():
            product = product_locked(product)
            existing = {variation.sku: variation for variation in product.variations.all()}
            listed = {data["sku"] for data in variations}
            removed = [v for sku, v in existing.items() if sku not in listed]
            variations_removable_check(removed)
            variation_stock_rule_check(product, adding_variations=not existing and bool(listed))
            final, created, updated, changed_fields = [], [], [], set()
            for data in variations:
                variation = existing.get(data["sku"])
                if variation is None:
                    variation = new_variation(product, data)
                    created.append((variation, data))
                else:
                    changes = {k: v for k, v in data.items() if k in VARIATION_FIELDS}
                    changed = variation_apply(variation, changes)
                    if changed:
                        variation.updated_at = timezone.now()  # bulk_update skips auto_now
                        updated.append(variation)
                        changed_fields.update(changed)
                final.append(variation)
            variation_values_check(final)
            prices_check(
                price=product.price,
                compare_price=None,
                adjustments=[v.price_adjustment for v in final],
            )
            skus_check_free(
                {f"variations.{final.index(v)}.sku": v.sku for v, _ in created},
                variation_pks=[v.pk for v in existing.values()],
            )
            if removed:
                ProductVariation.objects.filter(pk__in=[v.pk for v in removed]).delete()
            if updated:
                ProductVariation.objects.bulk_update(updated, [*changed_fields, "updated_at"])
            ProductVariation.objects.bulk_create([v for v, _ in created])
            quantities = {v.pk: data.get("quantity") or 0 for v, data in created}
            opening_stock(request, product=product, quantities=quantities)
            variations_write_done(product)
    except IntegrityError as exc:
        raise conflict_from_integrity_error(exc) from exc
    except ProtectedError as exc:  # ordered meanwhile
        raise Conflict("variation_has_orders", fields={"sku": [v.sku for v in removed]}) from exc
    return final
