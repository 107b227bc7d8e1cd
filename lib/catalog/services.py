"""Managing products: who may, creating them with their variations, editing and deleting.

Staff (`catalog:manage`) manage every product; vendor owners and staff (`vendor:catalog`)
manage only their own vendors' products (`product_manage_check`). Stock is set here only as a
new item's opening quantity, through the inventory's adjustments ("received", on the audit
trail); a product with variations keeps its stock on them. Variations are edited in
`variation_services`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.http import HttpRequest

from db.models import (
    Category,
    OrderItem,
    Product,
    ProductVariation,
    StockAdjustmentReason,
)
from lib.access import permissions
from lib.access.context import get_access
from lib.access.permissions import RequireEditor, has_permission, vendor_access_check
from lib.catalog.category_services import (
    cache_invalidate_on_commit,
    model_apply,
    slug_check_free,
    slug_unique,
)
from lib.catalog.sanitize import text_clean
from lib.errors import ApiError, Conflict, Forbidden, NotFound
from lib.inventory import StockChange, stock_adjust_many

logger = logging.getLogger("zest.catalog")

STAFF_PERMISSION = "catalog:manage"
VENDOR_PERMISSION = permissions.VENDOR_CATALOG_PERMISSION
PRODUCT_FIELDS = frozenset(
    {"category", "vendor", "name_en", "name_bn", "slug", "description_en", "description_bn"}
    | {"price", "compare_price", "cost_price", "sku", "low_stock_threshold", "tags"}
    | {"is_active", "is_featured", "seo_title_en", "seo_title_bn", "seo_description_en"}
    | {"seo_description_bn", "seo_keywords"}
)
STAFF_ONLY_FIELDS = frozenset({"is_featured"})


# --- who may manage what -----------------------------------------------------------------


# Route auth of product management (staff, or vendor members for their vendors' products).
CATALOG_EDITOR = RequireEditor(STAFF_PERMISSION)


def editor_is_staff(request: HttpRequest) -> bool:
    claims = get_access(request).claims
    return claims is not None and has_permission(claims.role, STAFF_PERMISSION)


def managed_vendor_ids(request: HttpRequest) -> tuple[str, ...] | None:
    return permissions.managed_vendor_ids(request, staff_permission=STAFF_PERMISSION)


def product_manage_check(request: HttpRequest, *, vendor_id: Any) -> None:
    """403 unless the caller may manage products of `vendor_id` (`None`: the store's own,
    staff only). The one place that decides it, for reads and writes alike."""
    if vendor_id is None:
        if managed_vendor_ids(request) is not None:
            raise Forbidden(fields={"vendor": ["Only staff manage the store's own products."]})
        return
    if not editor_is_staff(request):
        claims = get_access(request).claims
        if claims is None or not has_permission(claims.role, VENDOR_PERMISSION):
            raise Forbidden(fields={"vendor": [str(vendor_id)]})
    vendor_access_check(request, str(vendor_id))


def product_vendor_for_new(request: HttpRequest, *, vendor_id: Any) -> Any:
    """The vendor a new product belongs to. A vendor member with exactly one vendor may leave
    it out; otherwise it is required (staff: `None` = the store's own product)."""
    if vendor_id is None and not editor_is_staff(request):
        vendors = managed_vendor_ids(request) or ()
        if len(vendors) != 1:
            raise ApiError("vendor_required", status=422, fields={"vendor": list(vendors)})
        vendor_id = vendors[0]
    product_manage_check(request, vendor_id=vendor_id)
    return vendor_id


def staff_only_fields_check(
    request: HttpRequest, data: Mapping[str, Any], *, product: Product | None = None
) -> None:
    """403 when a vendor member changes a field only staff set (featuring a product)."""
    current = product or Product()
    touched = sorted(f for f in STAFF_ONLY_FIELDS if f in data and data[f] != getattr(current, f))
    if touched and not editor_is_staff(request):
        raise Forbidden(fields={field: ["Only staff can set this."] for field in touched})


def actor_id(request: HttpRequest) -> str | None:
    claims = get_access(request).claims
    return claims.user_id if claims else None


# --- validation shared with variations ------------------------------------------------


def validation_error(field: str, message: str) -> ApiError:
    return ApiError("validation_error", status=422, fields={field: [message]})


def prices_check(
    *, price: Decimal, compare_price: Decimal | None, adjustments: Iterable[Decimal] = ()
) -> None:
    if compare_price is not None and compare_price < price:
        raise ApiError(
            "compare_price_below_price",
            status=422,
            fields={"compare_price": [f"Must be at least the price ({price})."]},
        )
    lowest = min(adjustments, default=Decimal(0))
    if price + lowest < 0:
        raise validation_error(
            "price", f"A variation would cost less than zero ({price} + {lowest})."
        )


def skus_check_free(
    skus: Mapping[str, str], *, product_pk: Any = None, variation_pks: Iterable[Any] = ()
) -> None:
    """409 when a SKU (`{"field.path": sku}`) is used twice here or by another product or
    variation: SKUs identify sellable items across both tables. Two queries."""
    seen: dict[str, str] = {}
    clashes: dict[str, list[str]] = {}
    for field, sku in skus.items():
        if sku in seen:
            clashes[field] = [f"The SKU '{sku}' is given twice ({seen[sku]})."]
        seen.setdefault(sku, field)
    taken = set(
        Product.objects.filter(sku__in=seen).exclude(pk=product_pk).values_list("sku", flat=True)
    )
    taken |= set(
        ProductVariation.objects.filter(sku__in=seen)
        .exclude(pk__in=list(variation_pks))
        .values_list("sku", flat=True)
    )
    for field, sku in skus.items():
        if sku in taken:
            clashes.setdefault(field, [f"The SKU '{sku}' is already in use."])
    if clashes:
        raise Conflict("sku_taken", fields=clashes)


def conflict_from_integrity_error(exc: IntegrityError) -> Conflict:
    """A unique value taken by a concurrent writer between our check and our insert."""
    constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", "") or str(exc)
    if "slug" in constraint:
        return Conflict("slug_taken", fields={"slug": ["Already in use."]})
    if "sku" in constraint:
        return Conflict("sku_taken", fields={"sku": ["Already in use."]})
    return Conflict(fields={"__all__": ["A value is already in use."]})


def tags_clean(tags: Iterable[str]) -> list[str]:
    """Trimmed, NFC, without blanks or case-insensitive repeats, in the given order."""
    cleaned: dict[str, str] = {}
    for tag in tags:
        tag = text_clean(tag)
        if tag:
            cleaned.setdefault(tag.casefold(), tag)
    return list(cleaned.values())


def category_check_exists(category_id: Any) -> None:
    if not Category.objects.filter(pk=category_id).exists():
        raise validation_error("category", f"No category {category_id}.")


def opening_stock(request: HttpRequest, *, product: Product, quantities: Mapping[Any, int]) -> None:
    """Record new items' opening stock (`{variation id or None: units}`) as "received"
    adjustments, which move the product's total with its variations'."""
    items = [
        StockChange(
            product_id=product.pk,
            variation_id=variation_id,
            delta=units,
            reason=StockAdjustmentReason.RECEIVED,
            note="Opening stock",
        )
        for variation_id, units in quantities.items()
        if units > 0
    ]
    if items:
        stock_adjust_many(items=items, actor_id=actor_id(request))


def variation_stock_rule_check(product: Product, *, adding_variations: bool) -> None:
    """A product's first variations cannot be added while it holds stock of its own: the
    units would belong to no variation (stock them out with an adjustment first)."""
    holds_stock = product.quantity or product.allocated
    if adding_variations and holds_stock and not product.variations.exists():
        raise Conflict("product_has_own_stock", fields={"quantity": [str(product.quantity)]})


def new_variation(product: Product, data: Mapping[str, Any]) -> ProductVariation:
    return ProductVariation(
        product=product,
        variation_type=data["variation_type"],
        variation_value_en=text_clean(data["value_en"]),
        variation_value_bn=text_clean(data.get("value_bn") or ""),
        sku=data["sku"],
        price_adjustment=data.get("price_adjustment") or Decimal("0.00"),
        quantity=0,  # opening stock arrives through `opening_stock`
        low_stock_threshold=data.get("low_stock_threshold", 3),
        is_active=data.get("is_active", True),
    )


def variation_values_check(variations: Sequence[ProductVariation], *, field: str = "") -> None:
    """409 when two variations share a type and (English) value; the clash is reported on
    `field`, else on `variations.<index>.value_en`."""
    seen: set[tuple[str, str]] = set()
    for index, variation in enumerate(variations):
        key = (variation.variation_type, variation.variation_value_en.casefold())
        if key in seen:
            message = f"{variation.variation_type} '{variation.variation_value_en}' exists."
            raise Conflict(
                "variation_exists", fields={field or f"variations.{index}.value_en": [message]}
            )
        seen.add(key)


# --- products ------------------------------------------------------------------------


def product_admin_get(request: HttpRequest, *, product_id: Any) -> Product:
    """A product the caller may manage (404 when unknown, 403 when another vendor's)."""
    product = Product.objects.filter(pk=product_id).first()
    if product is None:
        raise NotFound(fields={"id": [str(product_id)]})
    product_manage_check(request, vendor_id=product.vendor_id)
    return product


def product_create(
    request: HttpRequest, *, data: Mapping[str, Any], variations: Sequence[Mapping[str, Any]] = ()
) -> Product:
    """Create a product and its variations in one transaction: all or nothing."""
    data = dict(data)
    staff_only_fields_check(request, data)
    vendor_id = product_vendor_for_new(request, vendor_id=data.pop("vendor", None))
    category_id = data.pop("category")
    quantity = data.pop("quantity", 0) or 0
    if quantity and variations:
        message = "A product with variations keeps its stock on them."
        raise ApiError("variation_required", status=422, fields={"quantity": [message]})
    category_check_exists(category_id)
    product = Product(vendor_id=vendor_id, category_id=category_id)
    data["tags"] = tags_clean(data.get("tags") or [])
    model_apply(product, data)
    rows = [new_variation(product, variation) for variation in variations]
    variation_values_check(rows)
    prices_check(
        price=product.price,
        compare_price=product.compare_price,
        adjustments=[row.price_adjustment for row in rows],
    )
    skus = {"sku": product.sku} | {f"variations.{i}.sku": row.sku for i, row in enumerate(rows)}
    skus_check_free(skus)
    if product.slug:
        slug_check_free(Product, slug=product.slug)
    else:
        product.slug = slug_unique(Product, source=product.name_en, fallback="product")
    try:
        with transaction.atomic():
            product.save()
            ProductVariation.objects.bulk_create(rows)
            opening = {None: quantity} | {
                row.pk: given.get("quantity") or 0
                for row, given in zip(rows, variations, strict=True)
            }
            opening_stock(request, product=product, quantities=opening)
            cache_invalidate_on_commit(product_ids=[product.pk], category_ids=[category_id])
    except IntegrityError as exc:
        raise conflict_from_integrity_error(exc) from exc
    return product


def product_update(
    request: HttpRequest, *, product: Product, changes: Mapping[str, Any]
) -> Product:
    """Change the given fields only (PATCH). Moving it to another vendor needs access to both."""
    unknown = set(changes) - PRODUCT_FIELDS
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    changes = dict(changes)
    staff_only_fields_check(request, changes, product=product)
    old_category_id = product.category_id
    if "category" in changes:
        changes["category_id"] = changes.pop("category")
        if changes["category_id"] != old_category_id:
            category_check_exists(changes["category_id"])
    if "vendor" in changes:
        changes["vendor_id"] = changes.pop("vendor")
        if changes["vendor_id"] != product.vendor_id:
            product_manage_check(request, vendor_id=changes["vendor_id"])
    if "tags" in changes:
        changes["tags"] = tags_clean(changes["tags"] or [])
    if changes.get("slug") is None:
        changes.pop("slug", None)
    changed = model_apply(product, changes)
    if not changed:
        return product
    if {"price", "compare_price"} & set(changed):
        adjustments = product.variations.values_list("price_adjustment", flat=True)
        prices_check(
            price=product.price, compare_price=product.compare_price, adjustments=adjustments
        )
    if "sku" in changed:
        skus_check_free({"sku": product.sku}, product_pk=product.pk)
    if "slug" in changed:
        slug_check_free(Product, slug=product.slug, exclude_pk=product.pk)
    try:
        with transaction.atomic():
            product.save(update_fields=[*changed, "updated_at"])
            cache_invalidate_on_commit(
                product_ids=[product.pk], category_ids={old_category_id, product.category_id}
            )
    except IntegrityError as exc:
        raise conflict_from_integrity_error(exc) from exc
    return product


def product_delete(*, product: Product) -> None:
    """Delete a product never ordered, with its variations and images, and then its image
    files. One that appears in orders is kept (409): set it to draft instead."""
    product_id, category_id = product.pk, product.category_id
    with transaction.atomic():
        # Locked, as image uploads lock it: no image arrives unseen while it goes.
        list(Product.objects.select_for_update().filter(pk=product_id).values_list("pk"))
        if OrderItem.objects.filter(product=product_id).exists():
            raise Conflict("product_has_orders", fields={"id": [str(product_id)]})
        images = product.images.exclude(blob_pathname="").values_list("blob_pathname", flat=True)
        pathnames = list(images)
        try:
            with transaction.atomic():
                product.delete()
        except (ProtectedError, IntegrityError) as exc:  # ordered meanwhile
            raise Conflict("product_has_orders", fields={"id": [str(product_id)]}) from exc
        transaction.on_commit(lambda: blobs_delete(pathnames), robust=True)
        cache_invalidate_on_commit(product_ids=[product_id], category_ids=[category_id])


def blobs_delete(pathnames: Iterable[str]) -> None:
    """Remove image files; one that cannot be removed now is logged, the rest still go."""
    for pathname in pathnames:
        try:
            default_storage.delete(pathname)
        except Exception:
            logger.exception("could not delete blob %s", pathname)
