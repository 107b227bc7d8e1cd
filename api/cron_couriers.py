"""GET /api/cron/couriers: Vercel cron, authorised by CRON_SECRET. Consignments on the road
with no news for COURIER_POLL_AFTER_MINUTES are tracked at their courier and the answers
applied (a backstop for missed webhooks); one failure does not stop the run."""

from lib.runtime import make_app

from ninja import Field, Router, Schema

from lib.couriers.poll import courier_poll
from lib.cron import run_cron_job

router = Router(tags=["cron"])


class CourierPollRunOut(Schema):
    job: str
    ran: bool
    reason: str | None = None
    checked: int | None = None
    updated: int | None = None
    unchanged: int | None = None
    errors: int | None = None
    unconfirmed: int | None = Field(
        None,
        description="Bookings whose courier answer was lost, still waiting for the courier's "
        "webhook, a look-up by order number or staff's release",
    )


@router.get("/cron/couriers", response=CourierPollRunOut, auth=None)
def couriers_poll(request):
    """Cron: ask the couriers about consignments with no recent news and apply the answers."""
    return run_cron_job(request, "couriers-poll", courier_poll, ttl_seconds=600)


app = make_app("cron_couriers", [("", router)], title="Cron", prefix="api/")
