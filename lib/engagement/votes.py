"""Helpful votes on reviews: one per shopper per review (`review_votes`), never on one's own.

A vote is a row in `review_votes` (unique on review and user) plus `$inc` of the review's
`helpful_votes`; taking it back deletes the row and decrements. Only the request that really
inserted or deleted the row moves the counter, so repeats and races change nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from lib.engagement.reviews import PUBLISHED, review_object_id
from lib.engagement.store import reviews_collection, votes_collection
from lib.errors import ApiError, NotFound


@dataclass(frozen=True, slots=True)
class HelpfulVote:
    review_id: str
    helpful_votes: int
    voted: bool


def review_vote_add(*, review_id: str, user_id: str) -> HelpfulVote:
    """Mark a published review helpful; voting again changes nothing."""
    reviews = reviews_collection()
    object_id = review_object_id(review_id)
    review = reviews.find_one({"_id": object_id, "status": PUBLISHED})
    if review is None:
        raise NotFound(fields={"review_id": [review_id]})
    if review["user_id"] == user_id:
        raise ApiError("review_own_vote", status=403)
    try:
        votes_collection().insert_one(
            {"review_id": review_id, "user_id": user_id, "created_at": timezone.now()}
        )
    except DuplicateKeyError:
        return HelpfulVote(review_id, review.get("helpful_votes", 0), voted=True)
    after = reviews.find_one_and_update(
        {"_id": object_id}, {"$inc": {"helpful_votes": 1}}, return_document=ReturnDocument.AFTER
    )
    return HelpfulVote(review_id, helpful_count(after), voted=True)


def review_vote_remove(*, review_id: str, user_id: str) -> HelpfulVote:
    """Take back a helpful vote; taking back one never given changes nothing."""
    reviews = reviews_collection()
    object_id = review_object_id(review_id)
    removed = votes_collection().delete_one({"review_id": review_id, "user_id": user_id})
    if removed.deleted_count:
        after = reviews.find_one_and_update(
            {"_id": object_id},
            {"$inc": {"helpful_votes": -1}},
            return_document=ReturnDocument.AFTER,
        )
    else:
        after = reviews.find_one({"_id": object_id})
    if after is None:
        raise NotFound(fields={"review_id": [review_id]})
    return HelpfulVote(review_id, helpful_count(after), voted=False)


def helpful_count(review: dict | None) -> int:
    return max((review or {}).get("helpful_votes", 0), 0)
