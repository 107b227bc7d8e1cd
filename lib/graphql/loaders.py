"""Per-request batching: what products and categories need beyond the listing query costs
one query per kind for the whole request, never one per product.

graphql-core resolves a list depth-first, one item after another, so a classic dataloader
(which waits for the whole level) has nothing to wait on in synchronous execution. Instead
every product a resolver hands out is recorded, and the first product that needs its images
(or variations) fetches them for every recorded product at once with Django's
`prefetch_related_objects`, which skips products that already have them (a product detail
from `product_get` arrives with both prefetched).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db.models import Prefetch, QuerySet, prefetch_related_objects
from django.http import HttpRequest

from db.models import Category, Product, ProductImage, ProductVariation
from lib.catalog.selectors import category_tree
from lib.i18n import Language, request_language
from lib.inventory import with_available


def images_queryset() -> QuerySet[ProductImage]:
    return ProductImage.objects.all()  # in display order (the model's ordering)


def variations_queryset() -> QuerySet[ProductVariation]:
    """The rows and order of a product detail's variations (`product_get`)."""
    return with_available(ProductVariation.objects.filter(is_active=True), variation=True).order_by(
        "variation_type", "variation_value_en"
    )


RELATED: dict[str, Callable[[], QuerySet]] = {
    "images": images_queryset,
    "variations": variations_queryset,
}


def is_prefetched(product: Product, lookup: str) -> bool:
    return lookup in getattr(product, "_prefetched_objects_cache", {})


class ProductBatch:
    """Every product instance this request returned, to prefetch relations for all at once."""

    def __init__(self) -> None:
        self.products: dict[int, Product] = {}  # by identity: one row may come twice

    def add(self, products: Iterable[Product]) -> None:
        for product in products:
            self.products[id(product)] = product

    def related(self, product: Product, lookup: str) -> list:
        """`product.<lookup>` rows; the first miss fetches them for every recorded product."""
        if not is_prefetched(product, lookup):
            self.products[id(product)] = product
            pending = [item for item in self.products.values() if not is_prefetched(item, lookup)]
            prefetch_related_objects(pending, Prefetch(lookup, queryset=RELATED[lookup]()))
        return list(getattr(product, lookup).all())


class CategoryIndex:
    """The active category tree, read once per request (one query) on first use."""

    def __init__(self) -> None:
        self.loaded = False
        self.roots: list[Category] = []
        self.by_id: dict = {}
        self.by_slug: dict[str, Category] = {}
        self.trails: dict = {}

    def load(self) -> CategoryIndex:
        if not self.loaded:
            self.roots = category_tree()
            stack: list[tuple[Category, list[Category]]] = [(root, []) for root in self.roots]
            while stack:
                node, above = stack.pop()
                trail = [*above, node]
                self.by_id[node.id] = node
                self.by_slug[node.slug] = node
                self.trails[node.id] = trail
                stack.extend((child, trail) for child in node.tree_children)
            self.loaded = True
        return self

    def tree(self) -> list[Category]:
        return self.load().roots

    def get(self, slug: str) -> Category | None:
        return self.load().by_slug.get(slug)

    def children(self, category: Category) -> list[Category]:
        node = self.load().by_id.get(category.id)
        return node.tree_children if node is not None else []

    def breadcrumb(self, category: Category) -> list[Category]:
        """Root to `category`; a hidden ancestor ends the trail (shoppers never see it)."""
        return self.load().trails.get(category.id, [category])


@dataclass
class GraphQLContext:
    """What resolvers share during one request (`info.context`)."""

    request: HttpRequest
    language: Language
    products: ProductBatch = field(default_factory=ProductBatch)
    categories: CategoryIndex = field(default_factory=CategoryIndex)

    @classmethod
    def for_request(cls, request: HttpRequest) -> GraphQLContext:
        return cls(request=request, language=request_language(request))
