"""GET /api/cron/recommendations: Vercel cron, authorised by CRON_SECRET."""

from lib.runtime import make_app

from ninja import Router, Schema

from lib.cron import run_cron_job
from lib.recommendations.services import recommendations_refresh

router = Router(tags=["cron"])


class RecommendationsRunOut(Schema):
    job: str
    ran: bool
    reason: str | None = None
    generation: str | None = None
    replaced: str | None = None
    products: int | None = None
    sellable: int | None = None
    popularity_updated: int | None = None
    products_ordered: int | None = None
    pairs: int | None = None
    with_bought_together: int | None = None
    with_similar: int | None = None
    seconds: dict[str, float] | None = None


@router.get("/cron/recommendations", response=RecommendationsRunOut, auth=None)
def recommendations(request):
    """Cron: recompute popularity and the bought-together, similar and blended lists."""
    return run_cron_job(request, "recommendations", recommendations_refresh, ttl_seconds=300)


app = make_app("cron_recommendations", [("", router)], title="Cron", prefix="api/")
