"""What the recommendations job knows about the catalog: one pass over the active products."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from lib.catalog.selectors import ProductFilters, category_index, product_filter
from lib.recommendations.text import product_terms, text_normalize


@dataclass(slots=True)
class Item:
    id: str
    category_id: str
    tags: frozenset[str]
    terms: Counter[str]
    # Active, in an active category and in stock: may be recommended. Every active product
    # gets recommendations, sold out or not (a shopper on it wants alternatives).
    sellable: bool
    popularity: float


@dataclass(slots=True)
class CatalogSnapshot:
    items: dict[str, Item]
    parents: dict[str, str | None]  # category id -> its parent's id

    def lineage(self, category_id: str) -> list[str]:
        """The category and its ancestors, leaf first."""
        trail: list[str] = []
        node: str | None = category_id
        while node is not None and node not in trail:
            trail.append(node)
            node = self.parents.get(node)
        return trail

    def sellable_ids(self) -> set[str]:
        return {item.id for item in self.items.values() if item.sellable}


def tags_normalize(tags: object) -> frozenset[str]:
    if not isinstance(tags, list):
        return frozenset()
    return frozenset(
        text_normalize(tag).strip() for tag in tags if isinstance(tag, str) and tag.strip()
    )


def catalog_snapshot_load() -> CatalogSnapshot:
    """The products the storefront shows (active, category and its ancestors active), their
    words, tags and stock: two queries, streamed so descriptions are dropped as soon as they
    are tokenised."""
    categories = category_index()
    rows = (
        product_filter(filters=ProductFilters(), categories=categories)
        .values_list(
            "id",
            "category_id",
            "name_en",
            "name_bn",
            "description_en",
            "description_bn",
            "tags",
            "available",
            "popularity",
        )
        .order_by()
    )
    items: dict[str, Item] = {}
    for (
        pk,
        category_id,
        name_en,
        name_bn,
        desc_en,
        desc_bn,
        tags,
        available,
        popularity,
    ) in rows.iterator(chunk_size=2000):
        item_id = str(pk)
        items[item_id] = Item(
            id=item_id,
            category_id=str(category_id),
            tags=tags_normalize(tags),
            terms=product_terms(names=(name_en, name_bn), descriptions=(desc_en, desc_bn)),
            sellable=available > 0,
            popularity=popularity,
        )
    return CatalogSnapshot(items=items, parents=categories.parents)
