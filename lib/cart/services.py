"""What the cart endpoints do: add with validation against the catalog, change, remove, and
the priced view (live prices and stock, two queries whatever the number of lines)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Exists, F, FilteredRelation, OuterRef, Q

from db.models import Product, ProductVariation
from lib.cart.store import (
    CartLine,
    cart_line_add,
    cart_line_remove,
    cart_line_set,
    cart_lines,
    line_field,
    line_parse,
)
from lib.conf import config
from lib.engagement.analytics import analytics_record
from lib.errors import ApiError, NotFound
from lib.i18n import Language
from lib.inventory import with_available
from lib.money import quantize_bdt

ZERO = Decimal("0.00")


def quantity_invalid(message: str) -> ApiError:
    return ApiError("validation_error", status=422, fields={"quantity": [message]})


def quantity_check(quantity: int) -> None:
    limit = config.cart_max_qty_per_line
    if not 1 <= quantity <= limit:
        raise quantity_invalid(f"Choose between 1 and {limit}.")


# --- adding and changing lines ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sellable:
    """The product (or variation) a line would hold, with the units that can be sold now."""

    product_id: str
    variation_id: str | None
    available: int

    @property
    def field(self) -> str:
        return line_field(self.product_id, self.variation_id)


def sellable_get(
    *, product_id: str | None = None, slug: str | None = None, variation_id: str | None = None
) -> Sellable:
    """Two queries at most. 404 for an unknown or unlisted product or variation; 422 when the
    product comes in variations and none was chosen."""
    products = Product.objects.filter(pk=product_id) if product_id else Product.objects
    if slug:
        products = products.filter(slug=slug)
    has_variations = Exists(ProductVariation.objects.filter(product=OuterRef("pk")))
    product = (
        with_available(products.only("id", "is_active", "quantity", "allocated"))
        .annotate(has_variations=has_variations)
        .first()
    )
    if product is None or not product.is_active:
        raise NotFound(fields={"product_id": [str(product_id or slug)]})
    if variation_id is None:
        if product.has_variations:
            raise ApiError("variation_required", status=422, fields={"variation_id": []})
        return Sellable(str(product.pk), None, max(product.available, 0))
    variation = (
        with_available(
            ProductVariation.objects.filter(pk=variation_id, product=product), variation=True
        )
        .only("id", "is_active", "quantity", "allocated")
        .first()
    )
    if variation is None or not variation.is_active:
        raise NotFound(fields={"variation_id": [str(variation_id)]})
    return Sellable(str(product.pk), str(variation.pk), max(variation.available, 0))


def cart_add(
    *,
    key: str,
    quantity: int,
    product_id: str | None = None,
    slug: str | None = None,
    variation_id: str | None = None,
) -> int:
    """Add units to the cart (merging into the line already there); the line's new quantity.
    422 with field errors over the per-line limit or over what is in stock."""
    quantity_check(quantity)
    item = sellable_get(product_id=product_id, slug=slug, variation_id=variation_id)
    limit = config.cart_max_qty_per_line
    added, after = cart_line_add(
        key=key, field=item.field, quantity=quantity, cap=min(limit, item.available)
    )
    if not added:
        if after + quantity > limit:
            raise quantity_invalid(f"At most {limit} per item; the cart already holds {after}.")
        raise quantity_invalid(f"Only {item.available} available; the cart already holds {after}.")
    # After the add succeeded, so refused adds are not counted (a second round trip).
    analytics_record(product_id=item.product_id, event="cart_add", count=quantity)
    return after


def line_of(line_id: str) -> str:
    parsed = line_parse(line_id)
    if parsed is None:
        raise NotFound(fields={"line_id": [line_id]})
    return line_field(*parsed)


def cart_line_change(*, key: str, line_id: str, quantity: int) -> None:
    """Set a line's quantity (0 removes it); 404 when the cart has no such line."""
    field = line_of(line_id)
    if quantity == 0:
        if not cart_line_remove(key=key, field=field):
            raise NotFound(fields={"line_id": [line_id]})
        return
    quantity_check(quantity)
    product_id, variation_id = line_parse(field)  # type: ignore[misc]
    item = sellable_get(product_id=product_id, variation_id=variation_id)
    if quantity > item.available:
        raise quantity_invalid(f"Only {item.available} available.")
    if not cart_line_set(key=key, field=field, quantity=quantity):
        raise NotFound(fields={"line_id": [line_id]})


def cart_line_delete(*, key: str, line_id: str) -> None:
    """Remove a line; removing one that is not there is not an error."""
    cart_line_remove(key=key, field=line_of(line_id))


# --- the priced view -------------------------------------------------------------------


@dataclass(slots=True)
class ViewLine:
    id: str
    product_id: str
    variation_id: str | None
    quantity: int
    slug: str = ""
    name: str = ""
    variation_name: str = ""
    sku: str = ""
    image_url: str | None = None
    unit_price: Decimal = ZERO
    line_total: Decimal = ZERO
    available: int = 0
    unavailable: bool = False
    warning: str | None = None


@dataclass(slots=True)
class CartView:
    lines: list[ViewLine] = field(default_factory=list)
    subtotal: Decimal = ZERO
    item_count: int = 0
    has_problems: bool = False


def products_of(lines: list[CartLine]) -> tuple[dict[str, Product], dict[str, ProductVariation]]:
    """The lines' products (with the primary image and whether they have variations) and
    variations, each with `available`: two queries, one when no line has a variation."""
    product_ids = sorted({line.product_id for line in lines})
    variation_ids = sorted({line.variation_id for line in lines if line.variation_id})
    products = (
        with_available(Product.objects.filter(pk__in=product_ids))
        .alias(primary_image=FilteredRelation("images", condition=Q(images__is_primary=True)))
        .annotate(
            primary_image_url=F("primary_image__image_url"),
            has_variations=Exists(ProductVariation.objects.filter(product=OuterRef("pk"))),
        )
        .only(
            "id", "slug", "name_en", "name_bn", "sku", "price", "is_active", "quantity", "allocated"
        )
    )
    variations = {}
    if variation_ids:
        variations = {
            str(variation.pk): variation
            for variation in with_available(
                ProductVariation.objects.filter(pk__in=variation_ids), variation=True
            )
        }
    return {str(product.pk): product for product in products}, variations


def cart_view(*, key: str | None, language: Language = "en") -> CartView:
    """The priced cart (an empty one for `key=None`): one KV read and two queries."""
    lines = cart_lines(key=key) if key else []
    view = CartView()
    if lines:
        products, variations = products_of(lines)
        for line in lines:
            row = view_line(line, products.get(line.product_id), variations, language)
            view.lines.append(row)
            if row.unavailable:
                view.has_problems = True
                continue
            view.has_problems |= row.warning is not None
            view.subtotal += row.line_total
            view.item_count += row.quantity
    view.subtotal = quantize_bdt(view.subtotal)
    return view


def view_line(
    line: CartLine,
    product: Product | None,
    variations: dict[str, ProductVariation],
    language: Language,
) -> ViewLine:
    row = ViewLine(
        id=line.field,
        product_id=line.product_id,
        variation_id=line.variation_id,
        quantity=line.quantity,
    )
    if product is None:  # deleted: kept and flagged so the shopper sees what went
        row.unavailable = True
        row.warning = "unavailable"
        return row
    row.slug, row.sku = product.slug, product.sku
    row.name = (product.name_bn if language == "bn" else "") or product.name_en
    row.image_url = product.primary_image_url
    price, available, listed = product.price, product.available, product.is_active
    if line.variation_id:
        variation = variations.get(line.variation_id)
        if variation is None or variation.product_id != product.pk:
            listed = False
        else:
            value = (variation.variation_value_bn if language == "bn" else "") or (
                variation.variation_value_en
            )
            row.variation_name = f"{variation.axis_label}: {value}"
            row.sku = variation.sku
            price += variation.price_adjustment
            available = variation.available
            listed = listed and variation.is_active
    elif product.has_variations:
        listed = False  # stock is kept per variation: this line can no longer be bought
    row.available = max(available, 0)
    row.unit_price = quantize_bdt(price)
    row.line_total = quantize_bdt(price * line.quantity)
    if not listed:
        row.unavailable = True
        row.warning = "unavailable"
    elif row.available < line.quantity:
        row.warning = "out_of_stock" if row.available == 0 else "insufficient_stock"
    return row
