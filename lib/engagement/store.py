"""The engagement collections in MongoDB and their indexes.

Indexes are created once per process, on first use (`create_index` is idempotent, so every
cold start may ask again). Only what both MongoDB Atlas and the wire-protocol test server
support is used: no `$avg`, no projections relied upon, no `listCollections`.
"""

from __future__ import annotations

import threading
from typing import Any

from pymongo import ASCENDING, DESCENDING

from lib.documents import get_documents_db

REVIEWS = "product_reviews"
REVIEW_VOTES = "review_votes"
PRODUCT_ANALYTICS = "product_analytics"

INDEXES: dict[str, list[tuple[list[tuple[str, int]], dict[str, Any]]]] = {
    REVIEWS: [
        # One review per user per product.
        ([("product_id", ASCENDING), ("user_id", ASCENDING)], {"unique": True}),
        # The storefront's sorts over a product's published reviews.
        ([("product_id", ASCENDING), ("status", ASCENDING), ("created_at", DESCENDING)], {}),
        ([("product_id", ASCENDING), ("status", ASCENDING), ("helpful_votes", DESCENDING)], {}),
        ([("product_id", ASCENDING), ("status", ASCENDING), ("rating", DESCENDING)], {}),
        # The moderation queue.
        ([("status", ASCENDING), ("created_at", DESCENDING)], {}),
    ],
    REVIEW_VOTES: [
        # One helpful vote per user per review.
        ([("review_id", ASCENDING), ("user_id", ASCENDING)], {"unique": True}),
    ],
    PRODUCT_ANALYTICS: [
        ([("product_id", ASCENDING)], {"unique": True}),
    ],
}

_lock = threading.Lock()
_ready: set[str] = set()  # names of databases whose indexes this process has ensured


def engagement_db() -> Any:
    """The documents database, with the engagement indexes in place."""
    db = get_documents_db()
    if db.name not in _ready:
        with _lock:
            if db.name not in _ready:
                for collection, indexes in INDEXES.items():
                    for keys, options in indexes:
                        db[collection].create_index(keys, **options)
                _ready.add(db.name)
    return db


def reviews_collection() -> Any:
    return engagement_db()[REVIEWS]


def votes_collection() -> Any:
    return engagement_db()[REVIEW_VOTES]


def analytics_collection() -> Any:
    return engagement_db()[PRODUCT_ANALYTICS]
