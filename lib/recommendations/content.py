"""Similar items: products alike in words (TF-IDF cosine), tags and category.

Never all pairs. For each product, candidates come from postings: the sellable products
sharing one of its `SEED_TERMS` heaviest words, one of its tags, or its leaf category (a
posting longer than `max_postings` proposes nobody). A quick estimate from what they share
keeps the `MAX_CANDIDATES` best, and only those are scored exactly. The work per product is
bounded whatever the catalog looks like.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from itertools import islice
from operator import itemgetter

from lib.recommendations.snapshot import CatalogSnapshot, Item
from lib.recommendations.text import SparseVector, cosine, tfidf_vectors

# Share of each signal in the similarity (they add up to 1, so a score is in [0, 1]).
WEIGHT_TEXT = 0.55
WEIGHT_TAGS = 0.25
WEIGHT_SAME_CATEGORY = 0.15
WEIGHT_SIBLING_CATEGORY = 0.05  # different leaf, same parent
MIN_SIMILARITY = 0.1  # below this a product is not called similar
MAX_TERMS = 32  # a product's vector keeps its heaviest words
SEED_TERMS = 8  # ...and the heaviest of those propose candidates
MAX_CANDIDATES = 100  # scored exactly per product

Scored = list[tuple[str, float]]
SCORE = itemgetter(1)


def rank_key(pair: tuple[str, float]) -> tuple[float, str]:
    """Best score first; ties broken by id so every run gives the same order."""
    return (pair[1], pair[0])


class Postings:
    """Inverted lists over the sellable products: word -> (product, weight), tag and leaf
    category -> products."""

    def __init__(
        self, snapshot: CatalogSnapshot, vectors: dict[str, SparseVector], max_postings: int
    ) -> None:
        # The vocabulary is already limited to words of at most `max_postings` products.
        self.words: dict[str, list[tuple[str, float]]] = defaultdict(list)
        tags: dict[str, list[str]] = defaultdict(list)
        categories: dict[str, list[str]] = defaultdict(list)
        for item in snapshot.items.values():
            if not item.sellable:
                continue
            for term, weight in vectors[item.id].items():
                self.words[term].append((item.id, weight))
            for tag in item.tags:
                tags[tag].append(item.id)
            categories[item.category_id].append(item.id)
        self.tags = {tag: ids for tag, ids in tags.items() if len(ids) <= max_postings}
        self.categories = {c: ids for c, ids in categories.items() if len(ids) <= max_postings}

    def candidates(self, item: Item, vector: SparseVector) -> list[str]:
        """The products most likely to be similar, by an estimate: the cosine over the
        seed words, a share of the tag weight per shared tag, the same-category weight."""
        estimate: dict[str, float] = defaultdict(float)
        for term, weight in islice(vector.items(), SEED_TERMS):
            for other_id, other_weight in self.words.get(term, ()):
                estimate[other_id] += WEIGHT_TEXT * weight * other_weight
        if item.tags:
            per_tag = WEIGHT_TAGS / len(item.tags)
            for tag in item.tags:
                for other_id in self.tags.get(tag, ()):
                    estimate[other_id] += per_tag
        for other_id in self.categories.get(item.category_id, ()):
            estimate[other_id] += WEIGHT_SAME_CATEGORY
        estimate.pop(item.id, None)
        if len(estimate) <= MAX_CANDIDATES:
            return list(estimate)
        return [pid for pid, _ in heapq.nlargest(MAX_CANDIDATES, estimate.items(), key=SCORE)]


def similarity(anchor: Item, other: Item, text: float, parents: dict[str, str | None]) -> float:
    """Weighted text cosine, tag Jaccard and category closeness of two products."""
    shared = len(anchor.tags & other.tags)
    tags = shared / (len(anchor.tags) + len(other.tags) - shared) if shared else 0.0
    if anchor.category_id == other.category_id:
        category = WEIGHT_SAME_CATEGORY
    elif parents.get(anchor.category_id) and (
        parents.get(anchor.category_id) == parents.get(other.category_id)
    ):
        category = WEIGHT_SIBLING_CATEGORY
    else:
        category = 0.0
    return WEIGHT_TEXT * text + WEIGHT_TAGS * tags + category


def similarity_compute(
    *, snapshot: CatalogSnapshot, max_postings: int, limit: int
) -> dict[str, Scored]:
    """The `limit` most similar sellable products of every product, best first."""
    vectors = tfidf_vectors(
        {item.id: item.terms for item in snapshot.items.values()},
        max_df=max_postings,
        max_terms=MAX_TERMS,
    )
    postings = Postings(snapshot, vectors, max_postings)
    items, parents = snapshot.items, snapshot.parents
    similar: dict[str, Scored] = {}
    for item in items.values():
        vector = vectors[item.id]
        scored = []
        for other_id in postings.candidates(item, vector):
            score = similarity(item, items[other_id], cosine(vector, vectors[other_id]), parents)
            if score >= MIN_SIMILARITY:
                scored.append((other_id, score))
        if scored:
            best = heapq.nlargest(limit, scored, key=rank_key)
            similar[item.id] = [(other_id, round(score, 4)) for other_id, score in best]
    return similar
