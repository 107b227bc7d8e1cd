"""Catalog reads for the storefront: category tree, product listing and detail."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from django.db.models import Prefetch, Q, QuerySet

from db.models import Category, Product, ProductImage, ProductVariation
from lib.errors import NotFound
from lib.inventory import with_available

ProductOrdering = Literal["newest", "price", "-price", "name"]
ORDERINGS: dict[str, tuple[str, ...]] = {
    "newest": ("-created_at", "id"),
    "price": ("price", "id"),
    "-price": ("-price", "id"),
    "name": ("name_en", "id"),
}


@dataclass(frozen=True, slots=True)
class ProductFilters:
    category: str | None = None
    search: str | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    vendor: str | None = None
    featured: bool | None = None
    in_stock: bool | None = None
    ordering: ProductOrdering = "newest"


def category_tree() -> list[Category]:
    """Every active category, nested under its parent (`tree_children`), in one query."""
    categories = list(Category.objects.filter(is_active=True).order_by("sort_order", "name_en"))
    by_id = {category.id: category for category in categories}
    roots = []
    for category in categories:
        category.tree_children = []
    for category in categories:
        parent = by_id.get(category.parent_id)
        (parent.tree_children if parent else roots).append(category)
    return roots


def category_get(*, slug: str) -> Category:
    category = Category.objects.filter(slug=slug, is_active=True).first()
    if category is None:
        raise NotFound(fields={"slug": [slug]})
    return category


def category_descendant_ids(category: Category) -> list:
    """The category and everything below it (one query for the whole active tree)."""
    children: dict = {}
    for pk, parent_id in Category.objects.filter(is_active=True).values_list("id", "parent_id"):
        children.setdefault(parent_id, []).append(pk)
    ids, frontier = [category.id], [category.id]
    while frontier:
        frontier = [child for pk in frontier for child in children.get(pk, [])]
        ids.extend(frontier)
    return ids


def product_list(*, filters: ProductFilters) -> QuerySet[Product]:
    products = with_available(Product.objects.filter(is_active=True, category__is_active=True))
    if filters.category:
        products = products.filter(
            category_id__in=category_descendant_ids(category_get(slug=filters.category))
        )
    if filters.search:
        term = filters.search.strip()
        products = products.filter(
            Q(name_en__icontains=term) | Q(name_bn__icontains=term) | Q(sku__iexact=term)
        )
    if filters.min_price is not None:
        products = products.filter(price__gte=filters.min_price)
    if filters.max_price is not None:
        products = products.filter(price__lte=filters.max_price)
    if filters.vendor:
        products = products.filter(vendor__slug=filters.vendor)
    if filters.featured is not None:
        products = products.filter(is_featured=filters.featured)
    if filters.in_stock is not None:
        products = (
            products.filter(available__gt=0)
            if filters.in_stock
            else products.filter(available__lte=0)
        )
    primary_images = ProductImage.objects.filter(is_primary=True)
    return (
        products.select_related("category")
        .prefetch_related(Prefetch("images", queryset=primary_images, to_attr="primary_images"))
        .order_by(*ORDERINGS[filters.ordering])
    )


def product_get(*, slug: str) -> Product:
    variations = with_available(
        ProductVariation.objects.filter(is_active=True), variation=True
    ).order_by("variation_type", "variation_value_en")
    product = (
        with_available(Product.objects.filter(slug=slug, is_active=True))
        .select_related("category", "vendor")
        .prefetch_related("images", Prefetch("variations", queryset=variations))
        .first()
    )
    if product is None:
        raise NotFound(fields={"slug": [slug]})
    return product


def category_breadcrumb(category: Category) -> list[Category]:
    """Root-to-leaf trail of a category, from one query over the (small) category table."""
    by_id = Category.objects.in_bulk()
    trail: list[Category] = []
    node = by_id.get(category.id)
    while node is not None and len(trail) < len(by_id):
        trail.insert(0, node)
        node = by_id.get(node.parent_id)
    return trail
