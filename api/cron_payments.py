"""GET /api/cron/payments-reconcile: Vercel cron, authorised by CRON_SECRET. Payments still
pending after PAYMENT_RECONCILE_AFTER_MINUTES are queried at their provider and settled, and
refunds the provider has not confirmed yet are asked about again."""

from lib.runtime import make_app

from ninja import Router, Schema

from lib.cron import run_cron_job
from lib.payments.reconcile import payment_reconcile

router = Router(tags=["cron"])


class ReconcileRunOut(Schema):
    job: str
    ran: bool
    reason: str | None = None
    checked: int | None = None
    captured: int | None = None
    failed: int | None = None
    pending: int | None = None
    errors: int | None = None
    refunds_checked: int | None = None
    refunds_confirmed: int | None = None
    refunds_failed: int | None = None


@router.get("/cron/payments-reconcile", response=ReconcileRunOut, auth=None)
def payments_reconcile(request):
    """Cron: ask the providers about payments still pending and settle them."""
    return run_cron_job(request, "payments-reconcile", payment_reconcile, ttl_seconds=600)


app = make_app("cron_payments", [("", router)], title="Cron", prefix="api/")
