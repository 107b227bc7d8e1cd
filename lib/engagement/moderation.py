"""Review moderation by staff: hide or publish with a reason, and the moderation queue.

Moderators are users holding `catalog:manage` (staff, admins) or `reviews:moderate` (a
permission meant for the support role), calling through an API key with the
`catalog:manage` scope. Only a real change of state moves the product's rating counters, so
hiding a hidden review again changes nothing but the recorded reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from pymongo import ReturnDocument

from lib.access.context import AccessClaims
from lib.access.permissions import Require, has_permission
from lib.engagement.reviews import (
    HIDDEN,
    NEWEST_FIRST,
    PUBLISHED,
    Review,
    ReviewStatus,
    product_rating_adjust,
    review_object_id,
)
from lib.engagement.store import reviews_collection
from lib.errors import ApiError, NotFound

MODERATION_PERMISSIONS = ("catalog:manage", "reviews:moderate")
ModerationAction = Literal["hide", "publish"]
TRANSITIONS: dict[str, tuple[str, str]] = {
    "hide": (PUBLISHED, HIDDEN),
    "publish": (HIDDEN, PUBLISHED),
}


class RequireModerator(Require):
    """Route auth: a signed-in user holding any of `MODERATION_PERMISSIONS`."""

    def __init__(self) -> None:
        super().__init__(scope="catalog:manage")

    def __call__(self, request: HttpRequest) -> AccessClaims:
        claims = super().__call__(request)  # a signed-in user: AccessClaims
        if not isinstance(claims, AccessClaims) or not any(
            has_permission(claims.role, name) for name in MODERATION_PERMISSIONS
        ):
            raise ApiError("forbidden", status=403, fields={"permissions": ["reviews:moderate"]})
        return claims


@dataclass(frozen=True, slots=True)
class ModerationPage:
    items: list[Review]
    count: int
    page: int
    page_size: int
    pages: int


def review_moderate(
    *, review_id: str, action: ModerationAction, reason: str, actor_id: str
) -> Review:
    """Hide a published review or publish a hidden one, recording who and why."""
    source, target = TRANSITIONS[action]
    object_id = review_object_id(review_id)
    now = timezone.now()
    changes = {
        "status": target,
        "moderation": {"action": action, "reason": reason.strip(), "actor_id": actor_id, "at": now},
        "updated_at": now,
    }
    reviews = reviews_collection()
    before = reviews.find_one_and_update(
        {"_id": object_id, "status": source},
        {"$set": changes},
        return_document=ReturnDocument.BEFORE,
    )
    if before is not None:
        sign = 1 if target == PUBLISHED else -1
        product_rating_adjust(
            product_id=before["product_id"], count=sign, total=sign * before["rating"]
        )
        return Review.from_document({**before, **changes})
    # Already in the target state: keep the state, record the latest reason.
    after = reviews.find_one_and_update(
        {"_id": object_id, "status": target},
        {"$set": {"moderation": changes["moderation"]}},
        return_document=ReturnDocument.AFTER,
    )
    if after is None:
        raise NotFound(fields={"review_id": [review_id]})
    return Review.from_document(after)


def review_moderation_list(
    *,
    status: ReviewStatus | None,
    product_id: str | None,
    user_id: str | None,
    page: int,
    page_size: int,
) -> ModerationPage:
    """Reviews for moderators, newest first, filtered by state, product or author."""
    query: dict[str, Any] = {"status": status or {"$in": [PUBLISHED, HIDDEN]}}
    if product_id:
        query["product_id"] = product_id
    if user_id:
        query["user_id"] = user_id
    reviews = reviews_collection()
    count = reviews.count_documents(query)
    offset = (page - 1) * page_size
    items: list[Review] = []
    if offset < count:
        cursor = reviews.find(query).sort(NEWEST_FIRST).skip(offset).limit(page_size)
        items = [Review.from_document(doc) for doc in cursor]
    return ModerationPage(
        items=items,
        count=count,
        page=page,
        page_size=page_size,
        pages=math.ceil(count / page_size) if count else 0,
    )
