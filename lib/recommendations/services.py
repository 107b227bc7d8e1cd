"""The recommendations job: compute every list, store them as a new generation, serve it."""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.utils import timezone

from lib.conf import config
from lib.recommendations.blend import blend_all
from lib.recommendations.content import similarity_compute
from lib.recommendations.copurchase import copurchase_compute
from lib.recommendations.popularity import popularity_compute, popularity_save
from lib.recommendations.snapshot import catalog_snapshot_load
from lib.recommendations.store import (
    generation_new,
    reco_generation_activate,
    reco_generation_write,
)

logger = logging.getLogger("zest.recommendations")


class Stopwatch:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(time.perf_counter() - started, 3)


def recommendations_build(*, now: datetime | None = None) -> dict:
    """Recompute popularity (written to `Product.popularity`) and the bought-together,
    similar and blended lists, and store them as a new generation, not yet served."""
    now = now or timezone.now()
    settings = config.recommendations
    clock = Stopwatch()
    with clock.phase("load"):
        snapshot = catalog_snapshot_load()
    with clock.phase("popularity"):
        scores, state = popularity_compute(
            snapshot=snapshot, now=now, half_life_days=settings.half_life_days
        )
        popularity_updated = popularity_save(snapshot=snapshot, scores=scores, state=state, now=now)
    sellable = snapshot.sellable_ids()
    with clock.phase("bought_together"):
        copurchases = copurchase_compute(
            since=now - timedelta(days=settings.order_window_days),
            min_support=settings.min_support,
            max_basket=settings.max_basket,
            limit=settings.max_items,
            sellable=sellable,
        )
    with clock.phase("similar"):
        similar = similarity_compute(
            snapshot=snapshot, max_postings=settings.max_postings, limit=settings.max_items
        )
    with clock.phase("blend"):
        entries, popular, by_category = blend_all(
            snapshot=snapshot, fbt=copurchases.lists, similar=similar, settings=settings
        )
    generation = generation_new(now)
    with clock.phase("store"):
        reco_generation_write(
            generation=generation, products=entries, popular=popular, by_category=by_category
        )
    return {
        "generation": generation,
        "products": len(snapshot.items),
        "sellable": len(sellable),
        "popularity_updated": popularity_updated,
        "products_ordered": copurchases.products_ordered,
        "pairs": copurchases.pairs,
        "with_bought_together": len(copurchases.lists),
        "with_similar": len(similar),
        "seconds": clock.seconds,
    }


def recommendations_refresh(*, now: datetime | None = None) -> dict:
    """Build a new generation and serve it. Until the pointer flips at the very end,
    readers keep getting the previous generation, whole; a run that fails before leaves
    them on it."""
    result = recommendations_build(now=now)
    started = time.perf_counter()
    result["replaced"] = reco_generation_activate(generation=result["generation"])
    seconds = result["seconds"]
    seconds["store"] = round(seconds["store"] + time.perf_counter() - started, 3)
    seconds["total"] = round(sum(seconds.values()), 3)
    logger.info("recommendations refreshed: %s", result)
    return result
