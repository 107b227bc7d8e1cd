"""GET /api/cron/outbox: Vercel cron, authorised by CRON_SECRET. Delivers what the
after-response dispatch left behind (frozen instances, retries that are due)."""

from lib.runtime import make_app

from ninja import Router, Schema

from lib.cron import run_cron_job
from lib.outbox import outbox_sweep

router = Router(tags=["cron"])


class OutboxRunOut(Schema):
    job: str
    ran: bool
    reason: str | None = None
    claimed: int | None = None
    delivered: int | None = None


@router.get("/cron/outbox", response=OutboxRunOut, auth=None)
def outbox(request):
    """Cron: deliver the outbox messages the after-response dispatch left behind."""
    return run_cron_job(request, "outbox", outbox_sweep, ttl_seconds=120)


app = make_app("cron_outbox", [("", router)], title="Cron", prefix="api/")
