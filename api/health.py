"""GET /api/health: each backing service, up or down, with latency (200 or 503)."""

from datetime import datetime

from lib.runtime import make_app

from django.http import HttpResponse
from django.utils import timezone
from ninja import Router, Schema, Status

from lib.health import check_services

router = Router(tags=["health"])


class ServiceOut(Schema):
    up: bool
    latency_ms: float | None
    error: str | None = None


class HealthOut(Schema):
    status: str
    time: datetime
    services: dict[str, ServiceOut]


@router.get("/health", response={200: HealthOut, 503: HealthOut}, auth=None)
def health(request, response: HttpResponse):
    """Each backing service, up or down, with its latency: 200 when all are up, else 503."""
    services = check_services()
    healthy = all(service.up for service in services.values())
    response["Cache-Control"] = "no-store"
    body = {"status": "ok" if healthy else "degraded", "time": timezone.now(), "services": services}
    return Status(200 if healthy else 503, body)


app = make_app("health", [("", router)], title="Zest Store health", prefix="api/")
