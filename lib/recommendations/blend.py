"""The blended list of each product, and the popular lists used as fallbacks.

blend(p, q) = w_fbt x bought_together(p, q) + w_similar x similar(p, q) + w_popular x pop(q)

over the candidates q that were bought with p, are similar to p, or are among the most
popular of p's category; pop(q) = log(1 + popularity) / log(1 + highest popularity), in
[0, 1] like the other two signals. A product never ordered has no bought-together part, so
the same formula falls back to similar and popular items of its category. The reason given
for an item is the relation that contributed most to its score (bought together or
similar); "popular" only for an item that is neither.
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from dataclasses import dataclass

from lib.conf import RecommendationConfig
from lib.recommendations.content import Scored, rank_key
from lib.recommendations.snapshot import CatalogSnapshot

# Stored one letter per item; served as the full reason.
REASONS = {"f": "bought_together", "s": "similar", "p": "popular"}


@dataclass(frozen=True, slots=True)
class Weights:
    fbt: float
    similar: float
    popular: float

    @classmethod
    def from_config(cls, settings: RecommendationConfig) -> Weights:
        total = settings.weight_bought_together + settings.weight_similar + settings.weight_popular
        if total <= 0:
            raise ValueError("the recommendation weights must not all be zero")
        return cls(
            settings.weight_bought_together / total,
            settings.weight_similar / total,
            settings.weight_popular / total,
        )


def popularity_scale(snapshot: CatalogSnapshot) -> dict[str, float]:
    """Popularity of each sellable product on a log scale, 1 for the most popular."""
    values = {i.id: max(i.popularity, 0.0) for i in snapshot.items.values() if i.sellable}
    top = math.log1p(max(values.values(), default=0.0))
    if top <= 0:
        return dict.fromkeys(values, 0.0)
    return {product_id: math.log1p(value) / top for product_id, value in values.items()}


def popular_lists(
    snapshot: CatalogSnapshot, scale: dict[str, float], *, weight: float, limit: int
) -> tuple[Scored, dict[str, Scored]]:
    """The most popular sellable products of the store, and of each category (its
    descendants included), scored as the blend scores them: weight x pop. A product nobody
    viewed or bought is not called popular."""
    scored_products = [(product_id, score) for product_id, score in scale.items() if score > 0]
    by_category: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for product_id, score in scored_products:
        for category_id in snapshot.lineage(snapshot.items[product_id].category_id):
            by_category[category_id].append((product_id, score))

    def top(scored: list[tuple[str, float]]) -> Scored:
        best = heapq.nlargest(limit, scored, key=rank_key)
        return [(pid, round(weight * score, 4)) for pid, score in best]

    return top(scored_products), {c: top(scored) for c, scored in by_category.items()}


def blend_one(
    product_id: str,
    *,
    fbt: Scored,
    similar: Scored,
    category_popular: Scored,
    scale: dict[str, float],
    weights: Weights,
    limit: int,
) -> list[tuple[str, float, str]]:
    """The blended list of one product: [(id, score, reason letter)], best first."""
    parts: dict[str, list[float]] = {}
    for other_id, _ in category_popular:
        parts[other_id] = [0.0, 0.0]
    for other_id, score in fbt:
        parts.setdefault(other_id, [0.0, 0.0])[0] = weights.fbt * score
    for other_id, score in similar:
        parts.setdefault(other_id, [0.0, 0.0])[1] = weights.similar * score
    parts.pop(product_id, None)
    scored = []
    for other_id, (from_fbt, from_similar) in parts.items():
        from_popular = weights.popular * scale.get(other_id, 0.0)
        if from_fbt or from_similar:
            reason = "f" if from_fbt >= from_similar else "s"
        elif from_popular:
            reason = "p"
        else:
            continue
        scored.append((other_id, round(from_fbt + from_similar + from_popular, 4), reason))
    return heapq.nlargest(limit, scored, key=lambda item: (item[1], item[0]))


def blend_all(
    *,
    snapshot: CatalogSnapshot,
    fbt: dict[str, Scored],
    similar: dict[str, Scored],
    settings: RecommendationConfig,
) -> tuple[dict[str, dict], Scored, dict[str, Scored]]:
    """Every product's stored entry, the store's popular list and each category's."""
    weights = Weights.from_config(settings)
    scale = popularity_scale(snapshot)
    popular, by_category = popular_lists(
        snapshot, scale, weight=weights.popular, limit=settings.max_items
    )
    entries = {}
    for product_id, item in snapshot.items.items():
        product_fbt, product_similar = fbt.get(product_id, []), similar.get(product_id, [])
        entries[product_id] = {
            "fbt": product_fbt,
            "similar": product_similar,
            "blend": blend_one(
                product_id,
                fbt=product_fbt,
                similar=product_similar,
                category_popular=by_category.get(item.category_id, []),
                scale=scale,
                weights=weights,
                limit=settings.max_items,
            ),
        }
    return entries, popular, by_category
