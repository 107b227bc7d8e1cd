"""GET /api/cron/inventory-alerts: Vercel cron, authorised by CRON_SECRET."""

from lib.runtime import make_app

from ninja import Router, Schema

from lib.cron import run_cron_job
from lib.inventory_alerts import inventory_alerts_scan

router = Router(tags=["cron"])


class CronRunOut(Schema):
    job: str
    ran: bool
    reason: str | None = None
    alerts_opened: int | None = None
    alerts_resolved: int | None = None


@router.get("/cron/inventory-alerts", response=CronRunOut, auth=None)
def inventory_alerts(request):
    """Cron: open the stock alerts items deserve, resolve the others, email the new ones."""
    return run_cron_job(request, "inventory-alerts", inventory_alerts_scan, ttl_seconds=300)


app = make_app("cron_inventory_alerts", [("", router)], title="Cron", prefix="api/")
