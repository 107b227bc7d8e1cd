"""Product reviews in MongoDB (`product_reviews`): one per shopper per product.

A review's rating counts towards its product only while it is published. `Product.rating_count`
and `rating_sum` follow every change with `F()` updates, so listings show averages without
touching MongoDB. Each change learns the review's previous state atomically
(`find_one_and_update` returning the document before the change), so concurrent edits,
moderation and deletes adjust the counters exactly once. Should a counter update ever fail
after the review changed, `product_rating_recount` rebuilds both counters from the reviews.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Literal

from bson import ObjectId
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from db.models import OrderItem, Product, User
from db.models.orders import OrderPaymentStatus, OrderStatus
from lib.catalog.cache import catalog_cache_invalidate
from lib.engagement.store import reviews_collection, votes_collection
from lib.engagement.text import image_urls_clean, review_text_clean, text_language
from lib.errors import Conflict, NotFound
from lib.i18n import Language

PUBLISHED = "published"
HIDDEN = "hidden"
# Set while the owner's delete is under way: never listed, never counted.
DELETING = "deleting"
ReviewStatus = Literal["published", "hidden"]
ReviewSort = Literal["newest", "helpful", "highest", "lowest"]
NEWEST_FIRST = [("created_at", -1), ("_id", -1)]
SORTS: dict[str, list[tuple[str, int]]] = {
    "newest": NEWEST_FIRST,
    "helpful": [("helpful_votes", -1), *NEWEST_FIRST],
    "highest": [("rating", -1), *NEWEST_FIRST],
    "lowest": [("rating", 1), *NEWEST_FIRST],
}
RATINGS = range(1, 6)


@dataclass(frozen=True, slots=True)
class Review:
    id: str
    product_id: str
    user_id: str
    author_name: str
    rating: int
    review_text: str
    images: list[str]
    helpful_votes: int
    verified_purchase: bool
    status: str
    language: str
    created_at: datetime
    updated_at: datetime
    moderation: dict[str, Any] | None

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Review:
        return cls(
            id=str(doc["_id"]),
            product_id=doc["product_id"],
            user_id=doc["user_id"],
            author_name=doc.get("author_name", ""),
            rating=doc["rating"],
            review_text=doc.get("review_text", ""),
            images=list(doc.get("images", [])),
            helpful_votes=max(doc.get("helpful_votes", 0), 0),
            verified_purchase=doc.get("verified_purchase", False),
            status=doc.get("status", PUBLISHED),
            language=doc.get("language", "en"),
            created_at=doc["created_at"],
            updated_at=doc.get("updated_at", doc["created_at"]),
            moderation=doc.get("moderation"),
        )


@dataclass(frozen=True, slots=True)
class ReviewSummary:
    count: int
    average: float | None
    histogram: dict[int, int]


@dataclass(frozen=True, slots=True)
class ReviewPage:
    items: list[Review]
    count: int
    page: int
    page_size: int
    pages: int
    summary: ReviewSummary


# --- reads ---------------------------------------------------------------------------


def product_id_get(*, slug: str) -> str:
    """The id of the active product with this slug: one SQL query."""
    product_id = Product.objects.filter(slug=slug, is_active=True).values_list("id", flat=True)
    found = product_id.first()
    if found is None:
        raise NotFound(fields={"slug": [slug]})
    return str(found)


def review_summary(*, product_id: str) -> ReviewSummary:
    """Count, average and a 1..5 histogram of the product's published reviews."""
    rows = reviews_collection().aggregate(
        [
            {"$match": {"product_id": product_id, "status": PUBLISHED}},
            {"$group": {"_id": "$rating", "count": {"$sum": 1}}},
        ]
    )
    histogram = dict.fromkeys(RATINGS, 0)
    for row in rows:
        if row["_id"] in histogram:
            histogram[row["_id"]] = row["count"]
    count = sum(histogram.values())
    total = sum(rating * n for rating, n in histogram.items())
    return ReviewSummary(
        count=count, average=round(total / count, 2) if count else None, histogram=histogram
    )


def review_list(
    *, product_id: str, sort: ReviewSort, rating: int | None, page: int, page_size: int
) -> ReviewPage:
    """A page of the product's published reviews and their summary: two MongoDB reads."""
    summary = review_summary(product_id=product_id)
    count = summary.histogram.get(rating, 0) if rating else summary.count
    offset = (page - 1) * page_size
    items: list[Review] = []
    if offset < count:
        query: dict[str, Any] = {"product_id": product_id, "status": PUBLISHED}
        if rating:
            query["rating"] = rating
        cursor = reviews_collection().find(query).sort(SORTS[sort]).skip(offset).limit(page_size)
        items = [Review.from_document(doc) for doc in cursor]
    return ReviewPage(
        items=items,
        count=count,
        page=page,
        page_size=page_size,
        pages=math.ceil(count / page_size) if count else 0,
        summary=summary,
    )


def review_get_own(*, product_id: str, user_id: str) -> Review:
    """The shopper's own review of a product, published or hidden."""
    doc = reviews_collection().find_one(
        {"product_id": product_id, "user_id": user_id, "status": {"$in": [PUBLISHED, HIDDEN]}}
    )
    if doc is None:
        raise NotFound()
    return Review.from_document(doc)


def review_object_id(review_id: str) -> ObjectId:
    if not ObjectId.is_valid(review_id):
        raise NotFound(fields={"review_id": [review_id]})
    return ObjectId(review_id)


# --- writes --------------------------------------------------------------------------


def review_author(*, user_id: str, product_id: str) -> tuple[str, bool]:
    """The reviewer's display name and whether they bought the product (an order of theirs
    with it that was delivered or paid, and not cancelled or refunded): one SQL query."""
    purchases = (
        OrderItem.objects.filter(product_id=product_id, order__user_id=OuterRef("pk"))
        .filter(
            Q(order__status=OrderStatus.DELIVERED)
            | Q(order__payment_status=OrderPaymentStatus.PAID)
        )
        .exclude(order__status__in=[OrderStatus.CANCELLED, OrderStatus.REFUNDED])
    )
    row = (
        User.objects.filter(pk=user_id)
        .annotate(verified=Exists(purchases))
        .values_list("full_name", "verified")
        .first()
    )
    if row is None:
        return "", False
    return display_name(row[0]), row[1]


def display_name(full_name: str) -> str:
    """Show "Rahim Uddin" as "Rahim U.": personal enough, without identifying anyone."""
    words = full_name.split()
    if len(words) < 2:
        return words[0] if words else ""
    return f"{words[0]} {words[-1][0]}."


def review_create(
    *,
    product_id: str,
    user_id: str,
    rating: int,
    review_text: str,
    images: list[str],
    language: Language | None,
    request_language: Language,
) -> Review:
    text, image_urls = review_text_clean(review_text), image_urls_clean(images)
    author_name, verified = review_author(user_id=user_id, product_id=product_id)
    now = timezone.now()
    doc = {
        "product_id": product_id,
        "user_id": user_id,
        "author_name": author_name,
        "rating": rating,
        "review_text": text,
        "images": image_urls,
        "helpful_votes": 0,
        "verified_purchase": verified,
        "status": PUBLISHED,
        "language": language or text_language(text, default=request_language),
        "created_at": now,
        "updated_at": now,
    }
    reviews = reviews_collection()
    try:
        doc["_id"] = reviews.insert_one(doc).inserted_id
    except DuplicateKeyError:
        # A delete that died half-way leaves its review marked; it no longer counts.
        leftover = {"product_id": product_id, "user_id": user_id, "status": DELETING}
        if not reviews.delete_one(leftover).deleted_count:
            raise Conflict("review_exists", fields={"product": [product_id]}) from None
        doc.pop("_id", None)
        doc["_id"] = reviews.insert_one(doc).inserted_id
    try:
        product_rating_adjust(product_id=product_id, count=1, total=rating)
    except Exception:
        reviews.delete_one({"_id": doc["_id"]})  # so that a retry is not refused as a duplicate
        raise
    return Review.from_document(doc)


def review_update(
    *,
    review_id: str,
    user_id: str,
    rating: int | None = None,
    review_text: str | None = None,
    images: list[str] | None = None,
    language: Language | None = None,
    request_language: Language,
) -> Review:
    """Edit the shopper's own review (a hidden one stays hidden)."""
    changes: dict[str, Any] = {}
    if rating is not None:
        changes["rating"] = rating
    if review_text is not None:
        changes["review_text"] = review_text_clean(review_text)
        changes["language"] = language or text_language(
            changes["review_text"], default=request_language
        )
    elif language is not None:
        changes["language"] = language
    if images is not None:
        changes["images"] = image_urls_clean(images)
    reviews = reviews_collection()
    query = {"_id": review_object_id(review_id), "user_id": user_id, "status": {"$ne": DELETING}}
    current = reviews.find_one(query)
    if current is None:
        raise NotFound(fields={"review_id": [review_id]})
    # The name and the purchase may have changed since the review was written.
    changes["author_name"], changes["verified_purchase"] = review_author(
        user_id=user_id, product_id=current["product_id"]
    )
    changes["updated_at"] = timezone.now()
    before = reviews.find_one_and_update(
        query, {"$set": changes}, return_document=ReturnDocument.BEFORE
    )
    if before is None:  # deleted meanwhile
        raise NotFound(fields={"review_id": [review_id]})
    if before["status"] == PUBLISHED and "rating" in changes:
        product_rating_adjust(
            product_id=before["product_id"], count=0, total=changes["rating"] - before["rating"]
        )
    return Review.from_document({**before, **changes})


def review_delete(*, review_id: str, user_id: str) -> None:
    """Delete the shopper's own review and its helpful votes."""
    reviews = reviews_collection()
    object_id = review_object_id(review_id)
    before = reviews.find_one_and_update(
        {"_id": object_id, "user_id": user_id, "status": {"$ne": DELETING}},
        {"$set": {"status": DELETING, "updated_at": timezone.now()}},
        return_document=ReturnDocument.BEFORE,
    )
    if before is None:
        raise NotFound(fields={"review_id": [review_id]})
    if before["status"] == PUBLISHED:
        product_rating_adjust(product_id=before["product_id"], count=-1, total=-before["rating"])
    votes_collection().delete_many({"review_id": review_id})
    reviews.delete_one({"_id": object_id})


# --- the product's counters ------------------------------------------------------------


def product_rating_adjust(*, product_id: str, count: int, total: int) -> None:
    """Move the product's rating counters by `count` reviews and `total` stars."""
    if not count and not total:
        return
    # One statement, atomic on its own; the cache is forgotten once it is committed (at
    # once, unless the caller holds a transaction).
    Product.objects.filter(pk=product_id).update(
        rating_count=F("rating_count") + count, rating_sum=F("rating_sum") + total
    )
    transaction.on_commit(partial(catalog_cache_invalidate, product_ids=[product_id]))


def product_rating_recount(*, product_id: str) -> ReviewSummary:
    """Rebuild the product's counters from its published reviews (a repair tool)."""
    summary = review_summary(product_id=product_id)
    total = sum(rating * n for rating, n in summary.histogram.items())
    Product.objects.filter(pk=product_id).update(rating_count=summary.count, rating_sum=total)
    transaction.on_commit(partial(catalog_cache_invalidate, product_ids=[product_id]))
    return summary
