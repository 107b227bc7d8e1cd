"""Catalog reads for the storefront: category tree, product listing and detail.

Plain reads over the database with a fixed number of queries each; `lib.catalog.cache` serves
them from Redis. A category is shown when it and all its ancestors are active; a product when
it is active and its category is shown.
"""

from __future__ import annotations

import functools
import operator
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from django.db.models import (
    Exists,
    F,
    FilteredRelation,
    FloatField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import Cast, Coalesce, Lower, NullIf

from db.models import Category, Product, ProductImage, ProductVariation, VendorStatus
from lib.errors import NotFound
from lib.i18n import Language
from lib.inventory import with_available
from lib.pagination import CursorPageParams, KeysetOrdering, SortKey, paginate_keyset

ProductOrdering = Literal["newest", "price", "-price", "name", "popularity", "rating"]
PRODUCT_ORDERINGS: tuple[str, ...] = ProductOrdering.__args__  # type: ignore[attr-defined]
BY_ID = SortKey("id", "uuid")
ORDERINGS: dict[str, tuple[SortKey, ...]] = {
    "newest": (SortKey("created_at", "datetime", descending=True), BY_ID),
    "price": (SortKey("price", "decimal"), BY_ID),
    "-price": (SortKey("price", "decimal", descending=True), BY_ID),
    "name": (SortKey("sort_name", "str"), BY_ID),  # case-insensitive, in the caller's language
    "popularity": (SortKey("popularity", "float", descending=True), BY_ID),
    # Best average first; among equal averages, the one more people rated; unrated last.
    "rating": (
        SortKey("sort_rating", "float", descending=True),
        SortKey("rating_count", "int", descending=True),
        BY_ID,
    ),
}
MAX_SEARCH_WORDS = 8
# The detail page joins the category and this many of its ancestors for the breadcrumb;
# a deeper tree costs one more query.
BREADCRUMB_JOIN = "category__parent__parent__parent"


# --- categories --------------------------------------------------------------------------

# id, parent id, slug, name_en, name_bn, is_active, sort_order: JSON-friendly, for the cache.
CategoryRow = tuple[str, str | None, str, str, str, bool, int]


class CategoryIndex:
    """The whole category table in memory (one query, or one cached value): which categories
    are shown, slugs, subtrees and ancestors, without further queries."""

    def __init__(self, rows: Sequence[Sequence[Any]]) -> None:
        self.rows: list[CategoryRow] = [tuple(row) for row in rows]  # type: ignore[misc]
        self.parents = {row[0]: row[1] for row in self.rows}
        self.children: dict[str | None, list[str]] = {}
        for row in self.rows:
            self.children.setdefault(row[1], []).append(row[0])
        active = {row[0] for row in self.rows if row[5]}
        shown: list[str] = []
        frontier = [pk for pk in self.children.get(None, []) if pk in active]
        while frontier:  # from the roots down through active categories only
            shown.extend(frontier)
            frontier = [c for pk in frontier for c in self.children.get(pk, []) if c in active]
        self.shown = frozenset(shown)
        self.hidden = frozenset(self.parents) - self.shown
        self.slugs = {row[2]: row[0] for row in self.rows if row[0] in self.shown}

    def category_id(self, slug: str) -> str:
        """The id of the shown category with this slug; 404 otherwise."""
        if slug not in self.slugs:
            raise NotFound(fields={"slug": [slug]})
        return self.slugs[slug]

    def subtree(self, category_id: str) -> list[str]:
        """The category and every category below it."""
        ids, frontier = [category_id], [category_id]
        while frontier:
            frontier = [child for pk in frontier for child in self.children.get(pk, [])]
            ids.extend(frontier)
        return ids

    def ancestors(self, category_id: str) -> list[str]:
        """The category, its parent, grandparent, ... up to its root."""
        trail: list[str] = []
        node: str | None = category_id
        while node is not None and node not in trail and node in self.parents:
            trail.append(node)
            node = self.parents[node]
        return trail

    def tree(self) -> list[Category]:
        """Shown categories as unsaved `Category` objects, nested in `tree_children`."""
        nodes = {}
        for pk, parent_id, slug, name_en, name_bn, is_active, sort_order in self.rows:
            if pk in self.shown:
                nodes[pk] = Category(
                    id=UUID(pk),
                    parent_id=UUID(parent_id) if parent_id else None,
                    slug=slug,
                    name_en=name_en,
                    name_bn=name_bn,
                    is_active=is_active,
                    sort_order=sort_order,
                )
                nodes[pk].tree_children = []
        roots = []
        for pk, node in nodes.items():
            parent = nodes.get(self.parents[pk])
            (parent.tree_children if parent else roots).append(node)
        return roots


def category_index() -> CategoryIndex:
    """Every category, shown or not, in display order: one query."""
    rows = Category.objects.order_by("sort_order", "name_en", "id").values_list(
        "id", "parent_id", "slug", "name_en", "name_bn", "is_active", "sort_order"
    )
    return CategoryIndex(
        [(str(pk), str(parent) if parent else None, *rest) for pk, parent, *rest in rows]
    )


def category_tree() -> list[Category]:
    """Every shown category, nested under its parent (`tree_children`), in one query."""
    return category_index().tree()


def category_get(*, slug: str) -> Category:
    category = Category.objects.filter(slug=slug, is_active=True).first()
    if category is None:
        raise NotFound(fields={"slug": [slug]})
    return category


def category_breadcrumb(category: Category) -> list[Category]:
    """Root-to-leaf trail of a category. Free when its ancestors were joined in
    (`select_related("category__parent__...")`); one query for the rest otherwise."""
    trail = [category]
    by_id: dict[Any, Category] | None = None
    while trail[0].parent_id is not None and len(trail) <= 1000:
        node = trail[0]
        if Category.parent.is_cached(node):
            parent = node.parent
        else:
            if by_id is None:
                by_id = Category.objects.in_bulk()
            parent = by_id.get(node.parent_id)
        if parent is None or parent in trail:
            break
        trail.insert(0, parent)
    return trail


# --- products ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProductFilters:
    category: str | None = None
    search: str | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    vendor: str | None = None
    featured: bool | None = None
    in_stock: bool | None = None
    # (variation type, value in English or Bangla): products with such an active variation.
    # Values of one type widen the choice (size M or L); types narrow it (size M and red).
    attributes: tuple[tuple[str, str], ...] = ()
    ordering: ProductOrdering = "newest"
    # The language of `name` ordering.
    language: Language = "en"

    @property
    def browsing(self) -> bool:
        """Only a category, featured flag and ordering: the listings worth caching."""
        return not (
            self.search
            or self.min_price is not None
            or self.max_price is not None
            or self.vendor
            or self.in_stock is not None
            or self.attributes
        )


def product_ordering(filters: ProductFilters) -> KeysetOrdering:
    by_bangla_name = filters.ordering == "name" and filters.language == "bn"
    tag = f"{filters.ordering}:bn" if by_bangla_name else filters.ordering
    return KeysetOrdering(tag=tag, keys=ORDERINGS[filters.ordering])


def search_condition(text: str) -> Q:
    """Every word in a name or description (English or Bangla), or the SKU. Case-insensitive;
    the text is NFC-normalised so Bangla typed with decomposed vowel signs still matches."""
    text = unicodedata.normalize("NFC", text).strip()
    words = text.split()[:MAX_SEARCH_WORDS]
    if not words:
        return Q()
    fields = ("name_en", "name_bn", "description_en", "description_bn")

    def anywhere(word: str) -> Q:
        return functools.reduce(operator.or_, (Q(**{f"{f}__icontains": word}) for f in fields))

    every_word = functools.reduce(operator.and_, map(anywhere, words))
    return every_word | Q(sku__istartswith=text)


def attributes_condition(attributes: Sequence[tuple[str, str]]) -> Q:
    by_type: dict[str, list[str]] = {}
    for kind, value in attributes:
        by_type.setdefault(kind.strip().lower(), []).append(
            unicodedata.normalize("NFC", value).strip()
        )
    condition = Q()
    for kind, values in by_type.items():
        value_match = functools.reduce(
            operator.or_,
            (Q(variation_value_en__iexact=v) | Q(variation_value_bn=v) for v in values),
        )
        variations = ProductVariation.objects.filter(
            value_match, product=OuterRef("pk"), variation_type=kind, is_active=True
        )
        condition &= Q(Exists(variations))
    return condition


def products_listed() -> QuerySet:
    """Products shoppers may see: active, and not of a suspended vendor."""
    return Product.objects.filter(is_active=True).exclude(vendor__status=VendorStatus.SUSPENDED)


def product_filter(*, filters: ProductFilters, categories: CategoryIndex | None = None) -> QuerySet:
    """Shown products matching `filters` (not ordered), with `available`. `categories` saves
    the category query when the caller holds the index already."""
    categories = categories or category_index()
    products = products_listed()
    if categories.hidden:
        products = products.exclude(category_id__in=categories.hidden)
    if filters.category:
        subtree = categories.subtree(categories.category_id(filters.category))
        products = products.filter(category_id__in=subtree)
    if filters.search:
        products = products.filter(search_condition(filters.search))
    if filters.attributes:
        products = products.filter(attributes_condition(filters.attributes))
    if filters.min_price is not None:
        products = products.filter(price__gte=filters.min_price)
    if filters.max_price is not None:
        products = products.filter(price__lte=filters.max_price)
    if filters.vendor:
        products = products.filter(vendor__slug=filters.vendor)
    if filters.featured is not None:
        products = products.filter(is_featured=filters.featured)
    products = with_available(products)
    if filters.in_stock is not None:
        products = products.filter(**{"available__gt" if filters.in_stock else "available__lte": 0})
    return products


def product_cards(products: QuerySet, *, filters: ProductFilters) -> QuerySet:
    """`products` in the filters' ordering, with what a card needs: the category, the primary
    image (joined: `primary_image_url`, `primary_image_alt_en`, ...) and the sort keys."""
    name: Any = F("name_en")
    if filters.language == "bn":
        name = Coalesce(NullIf("name_bn", Value("")), "name_en")
    return (
        products.select_related("category")
        .alias(primary_image=FilteredRelation("images", condition=Q(images__is_primary=True)))
        .annotate(
            primary_image_url=F("primary_image__image_url"),
            primary_image_alt_en=F("primary_image__alt_text_en"),
            primary_image_alt_bn=F("primary_image__alt_text_bn"),
            sort_name=Lower(name),
            sort_rating=Coalesce(
                Cast("rating_sum", FloatField()) / NullIf("rating_count", 0),
                Value(0.0),
                output_field=FloatField(),
            ),
        )
        .order_by(*product_ordering(filters).order_by)
    )


def product_list(*, filters: ProductFilters, categories: CategoryIndex | None = None) -> QuerySet:
    """Shown products matching `filters`, ordered, ready for cards (see `product_cards`)."""
    return product_cards(product_filter(filters=filters, categories=categories), filters=filters)


def product_cards_in_order(
    ids: Iterable[str], *, categories: CategoryIndex | None = None
) -> list[Product]:
    """The shown products among `ids` as cards, in the order of `ids` (duplicates, unknown,
    draft and hidden products skipped): one query, plus one for the category index unless
    given. `ids` must be UUIDs."""
    wanted = list(dict.fromkeys(str(product_id) for product_id in ids))
    if not wanted:
        return []
    products = product_list(filters=ProductFilters(), categories=categories).filter(id__in=wanted)
    found = {str(product.id): product for product in products}
    return [found[product_id] for product_id in wanted if product_id in found]


def product_page(
    *, filters: ProductFilters, params: CursorPageParams, categories: CategoryIndex | None = None
) -> dict[str, Any]:
    """One page of `product_list`, by number or after a cursor: two queries (count, page),
    plus one for the category index when not given."""
    products = product_filter(filters=filters, categories=categories)
    return paginate_keyset(
        product_cards(products, filters=filters),
        params,
        ordering=product_ordering(filters),
        count_queryset=products,
    )


def product_primary_image(product: Product) -> ProductImage | None:
    """The primary image, from the columns `product_list` joins in, else from the images
    prefetched with the product."""
    if hasattr(product, "primary_image_url"):
        if not product.primary_image_url:
            return None
        return ProductImage(
            image_url=product.primary_image_url,
            alt_text_en=product.primary_image_alt_en or "",
            alt_text_bn=product.primary_image_alt_bn or "",
            is_primary=True,
        )
    return next((image for image in product.images.all() if image.is_primary), None)


def product_get(*, slug: str) -> Product:
    """A shown product with its images, active variations (`available` each), vendor and
    `breadcrumb`: three queries (product with category chain, images, variations)."""
    variations = with_available(
        ProductVariation.objects.filter(is_active=True), variation=True
    ).order_by("variation_type", "variation_value_en")
    product = (
        with_available(products_listed().filter(slug=slug))
        .select_related(BREADCRUMB_JOIN, "vendor")
        .prefetch_related(
            Prefetch("images", queryset=ProductImage.objects.order_by("sort_order", "created_at")),
            Prefetch("variations", queryset=variations),
        )
        .first()
    )
    if product is None:
        raise NotFound(fields={"slug": [slug]})
    product.breadcrumb = category_breadcrumb(product.category)
    shown = product.breadcrumb[0].parent_id is None and all(c.is_active for c in product.breadcrumb)
    if not shown:
        raise NotFound(fields={"slug": [slug]})
    return product
