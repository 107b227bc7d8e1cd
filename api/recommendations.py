"""Recommendations for the storefront: /api/v1/products/{slug}/recommendations and
/api/v1/recommendations/for-you."""

from typing import Literal

from lib.runtime import make_app

from ninja import Field, Query, Router, Schema

from lib.access.context import get_access
from lib.catalog.schemas import ProductCardOut
from lib.i18n import request_language
from lib.recommendations import selectors

products = Router(tags=["recommendations"])
personal = Router(tags=["recommendations"])

Reason = Literal["bought_together", "similar", "popular"]
REASON_LABELS: dict[str, tuple[str, str]] = {
    "bought_together": ("Frequently bought together", "প্রায়ই একসাথে কেনা হয়"),
    "similar": ("Similar item", "একই ধরনের পণ্য"),
    "popular": ("Popular", "জনপ্রিয়"),
}


class RecommendationOut(ProductCardOut):
    reason: Reason
    reason_label: str
    score: float | None = Field(
        description="Blend score in [0, 1] (higher is closer); null for fallbacks computed "
        "before the first run"
    )

    @staticmethod
    def resolve_reason_label(obj, context) -> str:
        english, bangla = REASON_LABELS[obj.reason]
        return bangla if request_language(context["request"]) == "bn" else english


class RecommendationsOut(Schema):
    kind: str
    generation: str | None = Field(description="The run the lists come from")
    items: list[RecommendationOut]


class ProductRecommendationQuery(Schema):
    kind: Literal["fbt", "similar", "blend"] = Field(
        "blend",
        description="fbt: bought together; similar: alike in category, tags and words; "
        "blend: both, weighted with popularity, with fallbacks",
    )
    limit: int = Field(8, ge=1, le=20)


class ForYouQuery(Schema):
    limit: int = Field(12, ge=1, le=20)


@products.get("/{slug}/recommendations", response=RecommendationsOut)
def product_recommendations(request, slug: str, query: Query[ProductRecommendationQuery]):
    """Products to show beside this one, each with the reason it is shown."""
    found = selectors.recommendations_for_product(slug=slug, kind=query.kind, limit=query.limit)
    return {"kind": query.kind, "generation": found.generation, "items": found.items}


@personal.get("/for-you", response=RecommendationsOut)
def for_you(request, query: Query[ForYouQuery]):
    """From the signed-in shopper's recently viewed products; popular products otherwise."""
    claims = get_access(request).claims
    found = selectors.recommendations_for_user(
        user_id=claims.user_id if claims else None, limit=query.limit
    )
    return {"kind": "for_you", "generation": found.generation, "items": found.items}


app = make_app(
    "recommendations",
    [("/products", products), ("/recommendations", personal)],
    title="Zest Store recommendations",
)
