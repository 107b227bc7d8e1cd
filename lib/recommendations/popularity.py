"""Popularity: recent views, cart adds and sales, each losing half its weight per half-life.

- Sales come from order lines (orders not cancelled): each unit counts `SALE_WEIGHT`,
  decayed by its order's age, so they need no state.
- Views and cart adds come from the analytics counters in MongoDB (`product_analytics`),
  which are running totals. The job keeps, per product, the totals it saw last time and a
  decayed score: score = previous score x 0.5^(days since / half-life) + what was added since.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta

from django.db import transaction
from django.db.models import Sum
from django.db.models.functions import TruncDate

from db.models import OrderItem, OrderStatus, Product
from lib.catalog.cache import catalog_cache_invalidate
from lib.documents import get_documents_db
from lib.recommendations.snapshot import CatalogSnapshot
from lib.recommendations.store import engagement_state_load, engagement_state_save

logger = logging.getLogger("zest.recommendations")

ANALYTICS_COLLECTION = "product_analytics"
VIEW_WEIGHT = 1.0
CART_ADD_WEIGHT = 5.0
SALE_WEIGHT = 10.0
SALES_HORIZON_HALF_LIVES = 6  # older sales weigh under 2 % and are not read
WRITE_BATCH = 1000
NOON = time(12)

EngagementState = dict[str, tuple[int, int, float]]


def analytics_flush_if_available() -> None:
    """Move the KV analytics counters into MongoDB first, when that service is installed."""
    try:
        from lib.engagement.analytics import analytics_flush
    except ImportError as exc:
        if exc.name not in {"lib.engagement", "lib.engagement.analytics"}:
            raise
        return
    analytics_flush()


def analytics_totals() -> dict[str, tuple[int, int]]:
    """Running totals of views and cart adds per product."""
    totals = {}
    for document in get_documents_db()[ANALYTICS_COLLECTION].find({}):
        product_id = document.get("product_id")
        if product_id:
            totals[str(product_id)] = (
                int(document.get("views") or 0),
                int(document.get("cart_adds") or 0),
            )
    return totals


def decay(days: float, half_life_days: float) -> float:
    return 0.5 ** (max(days, 0.0) / half_life_days)


def engagement_advance(
    *,
    state: EngagementState,
    totals: dict[str, tuple[int, int]],
    days: float,
    half_life_days: float,
) -> EngagementState:
    """Decay last run's scores by the time passed and add the views and cart adds since.
    A total below the one seen before means the counter was reset: all of it is new."""
    factor = decay(days, half_life_days)
    advanced: EngagementState = {}
    for product_id in state.keys() | totals.keys():
        seen_views, seen_carts, score = state.get(product_id, (0, 0, 0.0))
        views, carts = totals.get(product_id, (seen_views, seen_carts))
        new_views = views - seen_views if views >= seen_views else views
        new_carts = carts - seen_carts if carts >= seen_carts else carts
        score = score * factor + VIEW_WEIGHT * new_views + CART_ADD_WEIGHT * new_carts
        if score >= 1e-3 or product_id in totals:
            advanced[product_id] = (views, carts, score)
    return advanced


def decayed_sales(*, now: datetime, half_life_days: float) -> dict[str, float]:
    """Units sold per product, each weighted by 0.5^(age in days / half-life): one query
    grouped by product and day."""
    since = now - timedelta(days=half_life_days * SALES_HORIZON_HALF_LIVES)
    rows = (
        OrderItem.objects.filter(order__placed_at__gte=since)
        .exclude(order__status=OrderStatus.CANCELLED)
        .values("product_id", day=TruncDate("order__placed_at", tzinfo=UTC))
        .annotate(units=Sum("quantity"))
        .values_list("product_id", "day", "units")
        .order_by()
    )
    sales: dict[str, float] = {}
    for product_id, day, units in rows:  # grouped: at most one row per product and day
        noon = datetime.combine(day, NOON, tzinfo=UTC)  # a day's sales, aged from its middle
        weight = decay((now - noon).total_seconds() / 86400, half_life_days)
        key = str(product_id)
        sales[key] = sales.get(key, 0.0) + units * weight
    return sales


def popularity_compute(
    *, snapshot: CatalogSnapshot, now: datetime, half_life_days: float
) -> tuple[dict[str, float], EngagementState]:
    """New popularity of every product of the snapshot, and the engagement state to keep."""
    analytics_flush_if_available()
    last_at, state = engagement_state_load()
    days = (now.timestamp() - last_at) / 86400 if last_at else 0.0
    state = engagement_advance(
        state=state, totals=analytics_totals(), days=days, half_life_days=half_life_days
    )
    sales = decayed_sales(now=now, half_life_days=half_life_days)
    scores = {
        product_id: round(
            (state[product_id][2] if product_id in state else 0.0)
            + SALE_WEIGHT * sales.get(product_id, 0.0),
            4,
        )
        for product_id in snapshot.items
    }
    return scores, state


def popularity_save(
    *,
    snapshot: CatalogSnapshot,
    scores: dict[str, float],
    state: EngagementState,
    now: datetime,
) -> int:
    """Write the scores that changed to `Product.popularity` (bulk, in batches), keep the
    engagement state, and forget cached listings of the categories concerned."""
    # Within 1 % is left alone: decay alone shrinks every score by the same factor (about
    # 0.2 % an hour), which changes no ranking and is not worth rewriting every row for.
    changed = [
        (product_id, score)
        for product_id, score in scores.items()
        if not math.isclose(
            score, snapshot.items[product_id].popularity, rel_tol=0.01, abs_tol=0.01
        )
    ]
    with transaction.atomic():
        Product.objects.bulk_update(
            [Product(id=product_id, popularity=score) for product_id, score in changed],
            ["popularity"],
            batch_size=WRITE_BATCH,
        )
        categories = categories_of(snapshot, (product_id for product_id, _ in changed))
        if categories:
            transaction.on_commit(lambda: catalog_cache_invalidate(category_ids=categories))
    # After the commit: if this write fails, the next run counts the same views again,
    # rather than losing them.
    engagement_state_save(at=now.timestamp(), state=state)
    for product_id, score in changed:
        snapshot.items[product_id].popularity = score
    return len(changed)


def categories_of(snapshot: CatalogSnapshot, product_ids: Iterable[str]) -> list[str]:
    """The categories (and their ancestors, whose listings include them) of these products."""
    found: set[str] = set()
    for product_id in product_ids:
        found.update(snapshot.lineage(snapshot.items[product_id].category_id))
    return sorted(found)
