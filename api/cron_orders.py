"""GET /api/cron/order-timeouts: Vercel cron, authorised by CRON_SECRET. Wallet orders still
awaiting payment after `payment_due_at` are cancelled and their stock released."""

from lib.runtime import make_app

from ninja import Router, Schema

from lib.checkout.placement import order_timeouts_sweep
from lib.cron import run_cron_job

router = Router(tags=["cron"])


class TimeoutRunOut(Schema):
    job: str
    ran: bool
    reason: str | None = None
    cancelled: int | None = None


@router.get("/cron/order-timeouts", response=TimeoutRunOut, auth=None)
def order_timeouts(request):
    """Cron: cancel wallet orders whose payment did not come in time, releasing their stock."""
    return run_cron_job(request, "order-timeouts", order_timeouts_sweep, ttl_seconds=300)


app = make_app("cron_orders", [("", router)], title="Cron", prefix="api/")
