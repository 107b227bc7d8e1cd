"""Catalog reads: /api/v1/categories and /api/v1/products."""

import re
from decimal import Decimal

from lib.runtime import make_app

from ninja import Field, Query, Router
from pydantic import field_validator

from lib.catalog import cache, selectors
from lib.catalog.schemas import (
    CategoryDetailOut,
    CategoryTreeOut,
    ProductDetailOut,
    ProductPageOut,
)
from lib.i18n import request_language
from lib.pagination import CursorPageParams

categories = Router(tags=["catalog"])
products = Router(tags=["catalog"])

ATTRIBUTE = re.compile(r"^[A-Za-z_]{1,50}:.{1,50}$")


class ProductQuery(CursorPageParams):
    category: str | None = Field(None, description="Category slug; includes its subcategories")
    q: str | None = Field(
        None,
        max_length=100,
        description="Search: every word in the name or description, English or Bangla "
        "(case-insensitive), or the start of the SKU",
    )
    min_price: Decimal | None = Field(None, ge=0, decimal_places=2)
    max_price: Decimal | None = Field(None, ge=0, decimal_places=2)
    vendor: str | None = Field(None, description="Vendor slug")
    featured: bool | None = None
    in_stock: bool | None = Field(None, description="Only what can be bought now (or only not)")
    attr: list[str] = Field(
        [],
        max_length=10,
        description="Variation `type:value`, value in English or Bangla, e.g. "
        "`attr=size:M&attr=color:Red`. Values of one type widen the choice, types narrow it.",
    )
    ordering: selectors.ProductOrdering = Field(
        "newest",
        description="`newest`, `price`, `-price`, `name` (in the response language), "
        "`popularity` (most popular first), `rating` (best average, then most reviews)",
    )

    @field_validator("attr")
    @classmethod
    def attributes_well_formed(cls, values: list[str]) -> list[str]:
        for value in values:
            if not ATTRIBUTE.match(value):
                raise ValueError(f"{value!r} is not type:value (e.g. size:M)")
        return values

    def filters(self, request) -> selectors.ProductFilters:
        return selectors.ProductFilters(
            category=self.category,
            search=self.q,
            min_price=self.min_price,
            max_price=self.max_price,
            vendor=self.vendor,
            featured=self.featured,
            in_stock=self.in_stock,
            attributes=tuple(tuple(value.split(":", 1)) for value in self.attr),
            ordering=self.ordering,
            language=request_language(request),
        )


@categories.get("", response=CategoryTreeOut)
def list_categories(request):
    """The whole shown category tree, nested."""
    return cache.category_tree_response(request)


@categories.get("/{slug}", response=CategoryDetailOut)
def get_category(request, slug: str):
    """A shown category with its description and SEO texts."""
    return selectors.category_get(slug=slug)


@products.get("", response=ProductPageOut)
def list_products(request, query: Query[ProductQuery]):
    """Shown products, filtered and sorted, in the caller's language (`Accept-Language`).

    Two ways to page: by number (`page`, `page_size`; `count` and `pages` are the totals),
    or by cursor: pass a response's `next_cursor` as `cursor` for the page after it, which
    stays right while products are added. Every response carries `next_cursor`, so a client
    can start by number and go on by cursor."""
    return cache.product_page_response(request, filters=query.filters(request), params=query)


@products.get("/{slug}", response=ProductDetailOut)
def get_product(request, slug: str):
    """A product with its images, variations, breadcrumb and SEO data."""
    return cache.product_detail_response(request, slug=slug)


app = make_app(
    "catalog",
    [("/categories", categories), ("/products", products)],
    title="Zest Store catalog",
)
