"""The analytics cron's work, in order: the sales rollups, then the funnel's snapshot."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from lib.analytics.funnel import funnel_snapshot_take
from lib.analytics.rollups import rollups_refresh


def analytics_refresh(*, now: datetime | None = None) -> dict[str, int]:
    """Recompute the rollups of today, yesterday and changed days (Asia/Dhaka), then record
    today's product counters; both are idempotent, so a repeated run changes nothing."""
    now = now or timezone.now()
    result = rollups_refresh(now=now)
    result["funnel_snapshots"] = funnel_snapshot_take(now=now)
    return result
