"""Documents round-trip through the configured MongoDB (the wire-protocol server in CI)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from lib.conf import config
from lib.documents import get_documents_db, get_mongo_client, mongo_ping


def test_client_is_created_once_per_process():
    assert get_mongo_client() is get_mongo_client()
    assert get_documents_db().name == config.mongodb_db


def test_ping_reports_latency():
    assert 0 <= mongo_ping() < 5000


def test_review_round_trips_with_bangla_text_and_utc_time(documents):
    created = datetime(2026, 11, 26, 6, 30, tzinfo=UTC)
    documents.reviews.insert_one(
        {
            "product_id": "6b0c1e7e-0000-4000-8000-000000000001",
            "user_id": "u-1",
            "rating": 5,
            "review_text": "খুব ভালো চাল, দ্রুত ডেলিভারি",
            "images": ["reviews/1.png"],
            "helpful_votes": 0,
            "created_at": created,
        }
    )
    found = documents.reviews.find_one({"user_id": "u-1"})
    assert found["review_text"] == "খুব ভালো চাল, দ্রুত ডেলিভারি"
    assert found["created_at"] == created
    assert found["created_at"].tzinfo is not None


def test_counters_upsert_and_increment_atomically(documents):
    for _ in range(3):
        documents.product_analytics.update_one(
            {"product_id": "p-1"},
            {"$inc": {"views": 1, "cart_adds": 0}, "$set": {"last_updated": datetime.now(UTC)}},
            upsert=True,
        )
    after = documents.product_analytics.find_one_and_update(
        {"product_id": "p-1"},
        {"$inc": {"purchases": 2}},
        return_document=ReturnDocument.AFTER,
    )
    assert (after["views"], after["purchases"]) == (3, 2)
    assert documents.product_analytics.count_documents({}) == 1


def test_unique_index_rejects_duplicates(documents):
    documents.reviews.create_index([("product_id", 1), ("user_id", 1)], unique=True)
    documents.reviews.insert_one({"product_id": "p", "user_id": "u", "rating": 4})
    with pytest.raises(DuplicateKeyError):
        documents.reviews.insert_one({"product_id": "p", "user_id": "u", "rating": 1})


def test_sort_skip_limit_and_group_sum(documents):
    documents.activity.insert_many(
        [{"user_id": f"u{i % 3}", "activity_type": "view", "n": i} for i in range(10)]
    )
    page = list(documents.activity.find({}).sort("n", -1).skip(2).limit(3))
    assert [doc["n"] for doc in page] == [7, 6, 5]
    totals = {
        row["_id"]: row["total"]
        for row in documents.activity.aggregate(
            [{"$group": {"_id": "$user_id", "total": {"$sum": "$n"}}}]
        )
    }
    assert totals == {"u0": 0 + 3 + 6 + 9, "u1": 1 + 4 + 7, "u2": 2 + 5 + 8}
