"""Reviews, helpful votes, moderation, product views and recently viewed products:
/api/v1/products/{slug}/reviews, /api/v1/products/{slug}/views, /api/v1/reviews/...,
/api/v1/admin/reviews/... and /api/v1/me/recently-viewed."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from lib.runtime import make_app

from ninja import Field, Query, Router, Schema, Status

from lib.access.context import get_access
from lib.access.permissions import Require
from lib.catalog.schemas import ProductCardOut
from lib.engagement import moderation, recent, reviews, votes
from lib.engagement.text import MAX_IMAGES, MAX_TEXT_LENGTH
from lib.i18n import request_language
from lib.pagination import PageParams
from lib.schemas import ErrorOut, InputSchema

products = Router(tags=["reviews"])
review_router = Router(tags=["reviews"], auth=Require())
admin = Router(tags=["admin: reviews"], auth=moderation.RequireModerator())
me = Router(tags=["reviews"], auth=Require())

Language = Literal["en", "bn"]


# --- schemas -------------------------------------------------------------------------


class ReviewIn(InputSchema):
    rating: int = Field(..., ge=1, le=5, strict=True, description="Stars, 1 to 5")
    review_text: str = Field(
        "", max_length=2 * MAX_TEXT_LENGTH, description="Plain text; tags are removed"
    )
    images: list[str] = Field(
        default_factory=list, max_length=MAX_IMAGES, description="http(s) links to photos"
    )
    language: Language | None = Field(None, description="Detected from the text when absent")


class ReviewPatchIn(InputSchema):
    rating: int | None = Field(None, ge=1, le=5, strict=True)
    review_text: str | None = Field(None, max_length=2 * MAX_TEXT_LENGTH)
    images: list[str] | None = Field(None, max_length=MAX_IMAGES)
    language: Language | None = None


class ReviewQuery(PageParams):
    sort: reviews.ReviewSort = "newest"
    rating: int | None = Field(None, ge=1, le=5, description="Only reviews with these stars")


class ReviewOut(Schema):
    id: str
    product_id: UUID
    author_name: str
    rating: int
    review_text: str
    images: list[str]
    helpful_votes: int
    verified_purchase: bool
    language: str
    status: str
    is_mine: bool
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_is_mine(obj, context) -> bool:
        claims = get_access(context["request"]).claims
        return claims is not None and claims.user_id == obj.user_id


class ReviewSummaryOut(Schema):
    count: int
    average: float | None
    histogram: dict[int, int] = Field(..., description="Published reviews per star, 1 to 5")


class ReviewPageOut(Schema):
    items: list[ReviewOut]
    count: int
    page: int
    page_size: int
    pages: int
    summary: ReviewSummaryOut


class ModerationOut(Schema):
    action: str
    reason: str
    actor_id: UUID
    at: datetime


class ReviewAdminOut(ReviewOut):
    user_id: UUID
    moderation: ModerationOut | None


class ReviewAdminPageOut(Schema):
    items: list[ReviewAdminOut]
    count: int
    page: int
    page_size: int
    pages: int


class ModerationQuery(PageParams):
    status: reviews.ReviewStatus | None = None
    product_id: UUID | None = None
    user_id: UUID | None = None


class ModerateIn(InputSchema):
    reason: str = Field(..., min_length=3, max_length=500)


class HelpfulOut(Schema):
    review_id: str
    helpful_votes: int
    voted: bool


class RecentProductsOut(Schema):
    items: list[ProductCardOut]


# --- storefront: a product's reviews and views -----------------------------------------


@products.get("/{slug}/reviews", response=ReviewPageOut, auth=None)
def list_reviews(request, slug: str, query: Query[ReviewQuery]):
    """Published reviews with the product's rating summary (average, count, histogram)."""
    return reviews.review_list(
        product_id=reviews.product_id_get(slug=slug),
        sort=query.sort,
        rating=query.rating,
        page=query.page,
        page_size=query.page_size,
    )


@products.post("/{slug}/reviews", response={201: ReviewOut, 409: ErrorOut}, auth=Require())
def create_review(request, slug: str, payload: ReviewIn):
    """Review a product: one review per shopper per product (409 `review_exists`)."""
    review = reviews.review_create(
        product_id=reviews.product_id_get(slug=slug),
        user_id=request.auth.user_id,
        rating=payload.rating,
        review_text=payload.review_text,
        images=payload.images,
        language=payload.language,
        request_language=request_language(request),
    )
    return Status(201, review)


@products.get("/{slug}/reviews/mine", response=ReviewOut, auth=Require())
def get_my_review(request, slug: str):
    """The signed-in shopper's review of this product, published or hidden."""
    return reviews.review_get_own(
        product_id=reviews.product_id_get(slug=slug), user_id=request.auth.user_id
    )


@products.post("/{slug}/views", response={204: None}, auth=None)
def record_view(request, slug: str):
    """Count a product page view; for a signed-in shopper, remember it as recently viewed."""
    claims = get_access(request).claims
    recent.product_view_record(
        product_id=reviews.product_id_get(slug=slug), user_id=claims.user_id if claims else None
    )
    return Status(204, None)


# --- the shopper's own reviews and helpful votes --------------------------------------


@review_router.patch("/{review_id}", response=ReviewOut)
def update_review(request, review_id: str, payload: ReviewPatchIn):
    """Edit your review: only the fields sent change."""
    return reviews.review_update(
        review_id=review_id,
        user_id=request.auth.user_id,
        rating=payload.rating,
        review_text=payload.review_text,
        images=payload.images,
        language=payload.language,
        request_language=request_language(request),
    )


@review_router.delete("/{review_id}", response={204: None})
def delete_review(request, review_id: str):
    """Delete your review."""
    reviews.review_delete(review_id=review_id, user_id=request.auth.user_id)
    return Status(204, None)


@review_router.post("/{review_id}/helpful", response=HelpfulOut)
def vote_helpful(request, review_id: str):
    """Mark a review helpful, once per shopper; not one's own (403 `review_own_vote`)."""
    return votes.review_vote_add(review_id=review_id, user_id=request.auth.user_id)


@review_router.delete("/{review_id}/helpful", response=HelpfulOut)
def unvote_helpful(request, review_id: str):
    """Take back your helpful vote on a review."""
    return votes.review_vote_remove(review_id=review_id, user_id=request.auth.user_id)


# --- moderation ----------------------------------------------------------------------


@admin.get("", response=ReviewAdminPageOut)
def list_reviews_for_moderation(request, query: Query[ModerationQuery]):
    """Reviews for moderation, filtered by status, product or user."""
    return moderation.review_moderation_list(
        status=query.status,
        product_id=str(query.product_id) if query.product_id else None,
        user_id=str(query.user_id) if query.user_id else None,
        page=query.page,
        page_size=query.page_size,
    )


@admin.post("/{review_id}/hide", response=ReviewAdminOut)
def hide_review(request, review_id: str, payload: ModerateIn):
    """Hide a review from the store, with the reason."""
    return moderation.review_moderate(
        review_id=review_id, action="hide", reason=payload.reason, actor_id=request.auth.user_id
    )


@admin.post("/{review_id}/publish", response=ReviewAdminOut)
def publish_review(request, review_id: str, payload: ModerateIn):
    """Publish a review (again), with the reason."""
    return moderation.review_moderate(
        review_id=review_id, action="publish", reason=payload.reason, actor_id=request.auth.user_id
    )


# --- recently viewed -----------------------------------------------------------------


@me.get("/recently-viewed", response=RecentProductsOut)
def recently_viewed(request):
    """The signed-in shopper's last viewed products, newest first."""
    return {"items": recent.recent_views_products(user_id=request.auth.user_id)}


app = make_app(
    "reviews",
    [
        ("/products", products),
        ("/reviews", review_router),
        ("/admin/reviews", admin),
        ("/me", me),
    ],
    title="Zest Store reviews and engagement",
)
