"""Field resolvers of the storefront schema, over the catalog selectors.

Lists come from `lib.catalog.selectors` (the REST functions' own reads); what a page needs
beyond them goes through the request's batches (`lib.graphql.loaders`), so the number of
queries does not grow with the page size.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

from django.db.models import QuerySet
from graphql import GraphQLResolveInfo

from db.models import Category, Product, ProductVariation
from lib.catalog import selectors
from lib.catalog.schemas import localized
from lib.errors import ApiError, NotFound
from lib.graphql.loaders import GraphQLContext, ProductBatch
from lib.money import format_bdt
from lib.pagination import MAX_PAGE_SIZE

Resolver = Callable[..., Any]
DEFAULT_PAGE_SIZE = 20
MAX_SEARCH_LENGTH = 100
CURSOR_PREFIX = "offset:"


def sort_name(ordering: str) -> str:
    """`"-price"` -> `PRICE_DESC`: the listing's orderings as GraphQL enum values."""
    name = ordering.removeprefix("-").replace("-", "_").upper()
    return f"{name}_DESC" if ordering.startswith("-") else name


SORTS = {sort_name(ordering): ordering for ordering in selectors.ORDERINGS}


def context_of(info: GraphQLResolveInfo) -> GraphQLContext:
    return info.context


def invalid(field_name: str, message: str) -> ApiError:
    return ApiError("validation_error", status=422, fields={field_name: [message]})


# --- cursors: opaque to clients, an offset underneath -----------------------------------


def cursor_encode(offset: int) -> str:
    return base64.urlsafe_b64encode(f"{CURSOR_PREFIX}{offset}".encode()).decode()


def cursor_decode(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        offset = int(text.removeprefix(CURSOR_PREFIX)) if text.startswith(CURSOR_PREFIX) else -1
    except (binascii.Error, UnicodeError, ValueError):
        offset = -1
    if offset < 0:
        raise invalid("after", "Not a cursor of this list; use a page's endCursor.")
    return offset


@dataclass
class ProductPage:
    """One page of a product listing; the total is counted only when asked for."""

    queryset: QuerySet[Product]
    offset: int
    first: int
    batch: ProductBatch = field(repr=False)

    @cached_property
    def rows(self) -> list[Product]:
        # One row past the page tells whether another page follows, without counting.
        rows = list(self.queryset[self.offset : self.offset + self.first + 1])
        self.batch.add(rows[: self.first])
        return rows

    @property
    def items(self) -> list[Product]:
        return self.rows[: self.first]

    @cached_property
    def total_count(self) -> int:
        return self.queryset.count()

    def page_info(self) -> dict[str, Any]:
        last = self.offset + len(self.items) - 1
        return {
            "hasNextPage": len(self.rows) > self.first,
            "hasPreviousPage": self.offset > 0,
            "startCursor": cursor_encode(self.offset) if self.items else None,
            "endCursor": cursor_encode(last) if self.items else None,
        }

    def edges(self) -> list[dict[str, Any]]:
        return [
            {"cursor": cursor_encode(self.offset + index), "node": product}
            for index, product in enumerate(self.items)
        ]


# --- Query ------------------------------------------------------------------------------


def resolve_categories(_: None, info: GraphQLResolveInfo) -> list[Category]:
    return context_of(info).categories.tree()


def resolve_category(_: None, info: GraphQLResolveInfo, slug: str) -> Category | None:
    return context_of(info).categories.get(slug)


def resolve_products(
    _: None,
    info: GraphQLResolveInfo,
    *,
    sort: str,
    first: int,
    after: str | None = None,
    category: str | None = None,
    search: str | None = None,
    minPrice: Decimal | None = None,
    maxPrice: Decimal | None = None,
    inStock: bool | None = None,
    featured: bool | None = None,
    vendor: str | None = None,
) -> ProductPage:
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise invalid("first", f"Must be between 1 and {MAX_PAGE_SIZE}.")
    for name, amount in (("minPrice", minPrice), ("maxPrice", maxPrice)):
        if amount is not None and amount < 0:
            raise invalid(name, "Must not be negative.")
    if search is not None and len(search) > MAX_SEARCH_LENGTH:
        raise invalid("search", f"At most {MAX_SEARCH_LENGTH} characters.")
    filters = selectors.ProductFilters(
        category=category,
        search=search,
        min_price=minPrice,
        max_price=maxPrice,
        vendor=vendor,
        featured=featured,
        in_stock=inStock,
        ordering=SORTS[sort],  # type: ignore[arg-type]
    )
    return ProductPage(
        queryset=selectors.product_list(filters=filters),
        offset=cursor_decode(after) + 1 if after else 0,
        first=first,
        batch=context_of(info).products,
    )


def resolve_product(_: None, info: GraphQLResolveInfo, slug: str) -> Product | None:
    try:
        product = selectors.product_get(slug=slug)
    except NotFound:
        return None
    context_of(info).products.add([product])
    return product


# --- shared field helpers ---------------------------------------------------------------


def attribute(name: str) -> Resolver:
    return lambda obj, info: getattr(obj, name)


def in_language(name: str) -> Resolver:
    """`name` in the caller's language, English when the Bangla text is empty."""
    return lambda obj, info: localized(obj, name, {"request": context_of(info).request})


def money_display(amount: Decimal | None, info: GraphQLResolveInfo) -> str | None:
    return None if amount is None else format_bdt(amount, context_of(info).language)


# --- Product ----------------------------------------------------------------------------


def primary_image(product: Product, info: GraphQLResolveInfo) -> Any:
    images = getattr(product, "primary_images", None)  # the listing prefetches only these
    if images is None:
        images = [image for image in product_images(product, info) if image.is_primary]
    return images[0] if images else None


def product_images(product: Product, info: GraphQLResolveInfo) -> list:
    return context_of(info).products.related(product, "images")


def product_variations(product: Product, info: GraphQLResolveInfo) -> list:
    return context_of(info).products.related(product, "variations")


def variation_price(variation: ProductVariation, info: GraphQLResolveInfo) -> Decimal:
    return variation.product.price + variation.price_adjustment


def variation_price_display(variation: ProductVariation, info: GraphQLResolveInfo) -> str | None:
    return money_display(variation_price(variation, info), info)


def category_children(category: Category, info: GraphQLResolveInfo) -> list[Category]:
    return context_of(info).categories.children(category)


def category_breadcrumb(category: Category, info: GraphQLResolveInfo) -> list[Category]:
    return context_of(info).categories.breadcrumb(category)


RESOLVERS: dict[str, dict[str, Resolver]] = {
    "Query": {
        "categories": resolve_categories,
        "category": resolve_category,
        "products": resolve_products,
        "product": resolve_product,
    },
    "ProductConnection": {
        "totalCount": lambda page, info: page.total_count,
        "pageInfo": lambda page, info: page.page_info(),
        "edges": lambda page, info: page.edges(),
        "nodes": lambda page, info: page.items,
    },
    "Category": {
        "name": in_language("name"),
        "nameEn": attribute("name_en"),
        "nameBn": attribute("name_bn"),
        "description": in_language("description"),
        "imageUrl": lambda category, info: category.image_url or None,
        "children": category_children,
        "breadcrumb": category_breadcrumb,
    },
    "Product": {
        "name": in_language("name"),
        "nameEn": attribute("name_en"),
        "nameBn": attribute("name_bn"),
        "description": in_language("description"),
        "priceDisplay": lambda product, info: money_display(product.price, info),
        "comparePrice": attribute("compare_price"),
        "comparePriceDisplay": lambda product, info: money_display(product.compare_price, info),
        "currency": lambda product, info: "BDT",
        "available": lambda product, info: max(product.available, 0),
        "inStock": lambda product, info: product.available > 0,
        "isFeatured": attribute("is_featured"),
        "tags": lambda product, info: [str(tag) for tag in product.tags or []],
        "breadcrumb": lambda product, info: category_breadcrumb(product.category, info),
        "image": primary_image,
        "images": product_images,
        "variations": product_variations,
        "reviewSummary": lambda product, info: {
            "average": product.rating_average,
            "count": product.rating_count,
        },
    },
    "Image": {
        "url": attribute("image_url"),
        "alt": in_language("alt_text"),
        "altEn": attribute("alt_text_en"),
        "altBn": attribute("alt_text_bn"),
        "isPrimary": attribute("is_primary"),
    },
    "Variation": {
        "type": attribute("variation_type"),
        "value": in_language("variation_value"),
        "valueEn": attribute("variation_value_en"),
        "valueBn": attribute("variation_value_bn"),
        "price": variation_price,
        "priceDisplay": variation_price_display,
        "available": lambda variation, info: max(variation.available, 0),
        "inStock": lambda variation, info: variation.available > 0,
    },
}
