"""Catalog reads: /api/v1/categories and /api/v1/products."""

from decimal import Decimal
from typing import Literal

from lib.runtime import make_app

from ninja import Field, Query, Router, Schema

from lib.catalog import selectors
from lib.catalog.schemas import (
    CategoryDetailOut,
    CategoryNodeOut,
    ProductDetailOut,
    ProductPageOut,
)
from lib.pagination import PageParams, paginate

categories = Router(tags=["catalog"])
products = Router(tags=["catalog"])


class ProductQuery(PageParams):
    category: str | None = Field(None, description="Category slug; includes its subcategories")
    q: str | None = Field(None, max_length=100, description="Search in English and Bangla names")
    min_price: Decimal | None = Field(None, ge=0, decimal_places=2)
    max_price: Decimal | None = Field(None, ge=0, decimal_places=2)
    vendor: str | None = Field(None, description="Vendor slug")
    featured: bool | None = None
    in_stock: bool | None = None
    ordering: Literal["newest", "price", "-price", "name"] = "newest"


class CategoryTreeOut(Schema):
    items: list[CategoryNodeOut]


@categories.get("", response=CategoryTreeOut)
def list_categories(request):
    """The whole active category tree, nested."""
    return {"items": selectors.category_tree()}


@categories.get("/{slug}", response=CategoryDetailOut)
def get_category(request, slug: str):
    return selectors.category_get(slug=slug)


@products.get("", response=ProductPageOut)
def list_products(request, query: Query[ProductQuery]):
    filters = selectors.ProductFilters(
        category=query.category,
        search=query.q,
        min_price=query.min_price,
        max_price=query.max_price,
        vendor=query.vendor,
        featured=query.featured,
        in_stock=query.in_stock,
        ordering=query.ordering,
    )
    return paginate(selectors.product_list(filters=filters), query)


@products.get("/{slug}", response=ProductDetailOut)
def get_product(request, slug: str):
    product = selectors.product_get(slug=slug)
    product.breadcrumb = selectors.category_breadcrumb(product.category)
    return product


app = make_app(
    "catalog",
    [("/categories", categories), ("/products", products)],
    title="Zest Store catalog",
)
