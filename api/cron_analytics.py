"""GET /api/cron/analytics: Vercel cron (hourly), authorised by CRON_SECRET."""

from lib.runtime import make_app

from ninja import Router, Schema

from lib.analytics.jobs import analytics_refresh
from lib.cron import run_cron_job

router = Router(tags=["cron"])


class AnalyticsCronOut(Schema):
    job: str
    ran: bool
    reason: str | None = None
    days: int | None = None
    sales_rows: int | None = None
    product_rows: int | None = None
    funnel_snapshots: int | None = None


@router.get("/cron/analytics", response=AnalyticsCronOut, auth=None)
def analytics(request):
    """Cron: recompute the daily sales rollups of today and yesterday (Asia/Dhaka) and of
    every day whose orders changed in the last hours, and snapshot today's product counters
    for the funnel; running it twice changes nothing."""
    return run_cron_job(request, "analytics", analytics_refresh, ttl_seconds=300)


app = make_app("cron_analytics", [("", router)], title="Cron", prefix="api/")
