"""Recently viewed products of each signed-in shopper: `user:{id}:recent_views` in Redis.

The list holds product ids, newest first, without duplicates, capped at `RECENT_LIMIT`, and
expires after `RECENT_TTL_SECONDS` without a view. Recording a view counts it for analytics
in the same round trip (one MULTI/EXEC transaction, so two tabs viewing at once cannot leave
a duplicate behind).
"""

from __future__ import annotations

import uuid

from db.models import Product
from lib.catalog.selectors import product_cards_in_order
from lib.engagement.analytics import analytics_record
from lib.engagement.keys import recent_views_key
from lib.kv import get_kv

RECENT_LIMIT = 20
RECENT_TTL_SECONDS = 90 * 86400


def product_view_record(*, product_id: str, user_id: str | None = None) -> None:
    """Count a view of the product and, for a signed-in shopper, put it first in their
    recently viewed list: one KV round trip either way."""
    product_id = str(product_id)
    if user_id is None:
        analytics_record(product_id=product_id, event="view")
        return
    key = recent_views_key(user_id)
    transaction = get_kv().multi()
    analytics_record(product_id=product_id, event="view", kv=transaction)
    transaction.lrem(key, 0, product_id)
    transaction.lpush(key, product_id)
    transaction.ltrim(key, 0, RECENT_LIMIT - 1)
    transaction.expire(key, RECENT_TTL_SECONDS)
    transaction.exec()


def recent_views_ids(*, user_id: str) -> list[str]:
    return list(get_kv().lrange(recent_views_key(user_id), 0, RECENT_LIMIT - 1) or [])


def recent_views_products(*, user_id: str) -> list[Product]:
    """The shopper's recently viewed products still on sale, newest first, as cards."""
    ids = [pid for pid in recent_views_ids(user_id=user_id) if is_uuid(pid)]
    return product_cards_in_order(ids)


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
