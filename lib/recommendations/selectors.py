"""Serving recommendations: one KV round trip for the lists, one product query for the cards.

Stored lists are filtered again when served: a product deactivated or sold out since the
last run is skipped (lists keep more items than a page shows, for that).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from db.models import Product
from lib.catalog.selectors import (
    CategoryIndex,
    ProductFilters,
    category_index,
    product_cards_in_order,
    product_list,
)
from lib.engagement.keys import recent_views_key
from lib.errors import NotFound
from lib.kv import get_kv
from lib.recommendations.blend import REASONS
from lib.recommendations.store import GenerationKeys, loads, reco_read

Kind = Literal["fbt", "similar", "blend"]
Candidate = tuple[str, float | None, str]  # product id, score, reason
RECENT_VIEWS = 10  # recently viewed products a "for you" list is built from
RECENCY_DECAY = 0.8  # each older view counts this much less than the one after it


@dataclass(frozen=True, slots=True)
class Recommendations:
    generation: str | None  # the run the lists come from; None before the first run
    items: list[Product]  # product cards, each with `reason` and `score`


def stored(rows: Iterable[list], reason: str | None = None) -> list[Candidate]:
    """Candidates from stored `[id, score]` or `[id, score, reason letter]` rows."""
    return [(row[0], row[1], reason or REASONS[row[2]]) for row in rows]


def products_in_order(
    candidates: Iterable[Candidate],
    *,
    exclude: set[str],
    limit: int,
    categories: CategoryIndex | None = None,
) -> list[Product]:
    """The candidates' product cards in the candidates' order, skipping `exclude`,
    duplicates, and products no longer shown or in stock: one query (and one for the
    category index, unless given)."""
    wanted: dict[str, tuple[float | None, str]] = {}
    for product_id, score, reason in candidates:
        if product_id not in exclude and product_id not in wanted:
            wanted[product_id] = (score, reason)
    cards = []
    for product in product_cards_in_order(wanted, categories=categories):
        if product.available > 0:
            product.score, product.reason = wanted[str(product.id)]
            cards.append(product)
            if len(cards) == limit:
                break
    return cards


def popular_by_sql(
    *,
    limit: int,
    exclude: set[str],
    category_id: str | None = None,
    categories: CategoryIndex | None = None,
) -> list[Product]:
    """Before the first run: the most popular products straight from the table."""
    filters = ProductFilters(in_stock=True, ordering="popularity")
    products = (
        product_list(filters=filters, categories=categories)
        .filter(popularity__gt=0)
        .exclude(id__in=exclude)
    )
    if category_id is not None:
        products = products.filter(category_id=category_id)
    cards = list(products[:limit])
    for product in cards:
        product.score, product.reason = None, "popular"
    return cards


def recommendations_for_product(*, slug: str, kind: Kind, limit: int) -> Recommendations:
    """Bought together, similar, or the blend of both with popularity. The blend falls back
    to the popular products of the category, then of the store, so it is never short while
    the store has products; the other two lists are what the data says, possibly empty."""
    categories = category_index()
    anchor = (
        Product.objects.filter(slug=slug, is_active=True)
        .exclude(category_id__in=categories.hidden)
        .values_list("id", "category_id")
        .first()
    )
    if anchor is None:
        raise NotFound(fields={"slug": [slug]})
    product_id, category_id = str(anchor[0]), str(anchor[1])
    read = reco_read(
        lambda keys: [
            ("hget", keys.product, product_id),
            ("hget", keys.category, category_id),
            ("get", keys.popular),
        ]
    )
    exclude = {product_id}
    if read.generation is None:
        items = (
            []
            if kind != "blend"
            else popular_by_sql(
                limit=limit, exclude=exclude, category_id=category_id, categories=categories
            )
        )
        return Recommendations(None, items)
    entry, category_popular, popular = (
        loads(read.replies[0], {}),
        loads(read.replies[1], []),
        loads(read.replies[2], []),
    )
    if kind == "blend":
        candidates = [
            *stored(entry.get("blend", [])),
            *stored(category_popular, "popular"),
            *stored(popular, "popular"),
        ]
    else:
        candidates = stored(entry.get(kind, []), "bought_together" if kind == "fbt" else "similar")
    return Recommendations(
        read.generation,
        products_in_order(candidates, exclude=exclude, limit=limit, categories=categories),
    )


def recommendations_for_user(*, user_id: str | None, limit: int) -> Recommendations:
    """For you: the blended lists of the products the user viewed lately, weighted by how
    recent the view, then the store's popular products. A visitor with no history gets the
    popular products. Products already viewed are left out."""
    first = [("lrange", recent_views_key(user_id), 0, RECENT_VIEWS - 1)] if user_id else []
    read = reco_read(lambda keys: [("get", keys.popular)], first=first)
    viewed = list(dict.fromkeys(str(pid) for pid in (read.first[0] if first else None) or []))
    exclude = set(viewed)
    if read.generation is None:
        return Recommendations(None, popular_by_sql(limit=limit, exclude=exclude))
    candidates = related_to_views(read.generation, viewed) if viewed else []
    candidates.extend(stored(loads(read.replies[0], []), "popular"))
    return Recommendations(
        read.generation, products_in_order(candidates, exclude=exclude, limit=limit)
    )


def related_to_views(generation: str, viewed: list[str]) -> list[Candidate]:
    """Sum of the viewed products' blended lists, the most recent view weighing most; each
    item keeps the reason of its largest contribution. One more KV round trip."""
    entries = get_kv().hmget(GenerationKeys(generation).product, *viewed)
    totals: dict[str, float] = {}
    reasons: dict[str, tuple[float, str]] = {}
    for rank, raw in enumerate(entries):
        weight = RECENCY_DECAY**rank
        for other_id, score, reason in loads(raw, {}).get("blend", []):
            contribution = weight * score
            totals[other_id] = totals.get(other_id, 0.0) + contribution
            if contribution > reasons.get(other_id, (-1.0, ""))[0]:
                reasons[other_id] = (contribution, REASONS[reason])
    ranked = sorted(totals.items(), key=lambda pair: (-pair[1], pair[0]))
    return [(pid, round(total, 4), reasons[pid][1]) for pid, total in ranked]
