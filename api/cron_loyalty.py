"""GET /api/cron/loyalty: Vercel cron, authorised by CRON_SECRET. Expires what is left of
points past their date (first in, first out) and takes back the refunded share of the points
of partly refunded delivered orders."""

from lib.runtime import make_app

from ninja import Router, Schema

from lib.cron import run_cron_job
from lib.loyalty.expiry import loyalty_sweep

router = Router(tags=["cron"])


class LoyaltyRunOut(Schema):
    job: str
    ran: bool
    reason: str | None = None
    expired_customers: int | None = None
    expired_points: int | None = None
    partial_refund_points: int | None = None


@router.get("/cron/loyalty", response=LoyaltyRunOut, auth=None)
def loyalty(request):
    """Cron: expire old points and take back points of partly refunded orders."""
    return run_cron_job(request, "loyalty", loyalty_sweep, ttl_seconds=600)


app = make_app("cron_loyalty", [("", router)], title="Cron", prefix="api/")
