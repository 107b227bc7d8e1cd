"""User-activity monitoring for staff: /api/v1/admin/activity and
/api/v1/admin/activity/suspicious."""

from datetime import datetime
from typing import Any

from lib.runtime import make_app

from ninja import Field, Query, Router, Schema

from lib.access.activity import ActivityType
from lib.access.permissions import Require
from lib.activity import selectors

router = Router(tags=["admin: activity"], auth=Require("users:read", scope="users:manage"))

TIME_HELP = "ISO 8601; without an offset the time is Asia/Dhaka (2026-12-05T10:00)"


class ActivityQuery(Schema):
    user_id: str | None = Field(None, max_length=64, description="The user's id")
    type: ActivityType | None = Field(None, description="The activity type")
    ip: str | None = Field(None, max_length=64, description="The client IP, exactly")
    since: datetime | None = Field(None, description=f"From this time (inclusive). {TIME_HELP}")
    until: datetime | None = Field(None, description=f"Before this time. {TIME_HELP}")
    cursor: str | None = Field(None, max_length=300, description="A response's `next_cursor`")
    limit: int = Field(50, ge=1, le=200)


class ActivityOut(Schema):
    id: str
    user_id: str | None
    activity_type: str
    ip: str
    details: dict[str, Any]
    timestamp: datetime = Field(..., description="Asia/Dhaka")


class ActivityPageOut(Schema):
    items: list[ActivityOut]
    next_cursor: str | None


class SuspiciousQuery(Schema):
    window_minutes: int | None = Field(
        None, ge=1, le=7 * 24 * 60, description="Default ACTIVITY_SUSPICIOUS_WINDOW_MINUTES"
    )
    failed_sign_ins: int | None = Field(
        None, ge=1, le=10_000, description="Default ACTIVITY_FAILED_SIGN_IN_THRESHOLD"
    )
    accounts: int | None = Field(
        None, ge=2, le=10_000, description="Default ACTIVITY_ACCOUNTS_PER_IP_THRESHOLD"
    )
    until: datetime | None = Field(None, description=f"End of the window (now). {TIME_HELP}")


class CountOut(Schema):
    key: str = Field(..., description="The account id, email or IP")
    count: int


class SharedByAccountsOut(Schema):
    key: str = Field(..., description="The IP or device id")
    accounts: int
    user_ids: list[str] = Field(..., description="Up to 20 of them")


class ThresholdsOut(Schema):
    window_minutes: int
    failed_sign_ins: int
    accounts: int


class SuspiciousOut(Schema):
    since: datetime
    until: datetime
    thresholds: ThresholdsOut
    failed_sign_ins_by_user: list[CountOut]
    failed_sign_ins_by_email: list[CountOut]
    failed_sign_ins_by_ip: list[CountOut]
    accounts_by_ip: list[SharedByAccountsOut]
    accounts_by_device: list[SharedByAccountsOut]


@router.get("", response=ActivityPageOut)
def list_activity(request, query: Query[ActivityQuery]):
    """Sign-ins, failed sign-ins, sign-outs, password and role changes, order placements and
    admin actions, newest first, filtered by user, type, IP and time range; pass
    `next_cursor` back as `cursor` for the next page."""
    filters = selectors.ActivityFilters(
        user_id=query.user_id,
        activity_type=query.type,
        ip=query.ip,
        since=query.since,
        until=query.until,
    )
    return selectors.activity_page(filters=filters, cursor=query.cursor, limit=query.limit)


@router.get("/suspicious", response=SuspiciousOut)
def suspicious_activity(request, query: Query[SuspiciousQuery]):
    """Patterns in a recent window: accounts, emails and IPs with many failed sign-ins, IPs
    signed in to by many accounts and devices placing orders for many accounts. Thresholds
    default to the ACTIVITY_* settings and can be given per call."""
    thresholds = selectors.SuspicionThresholds.configured(
        window_minutes=query.window_minutes,
        failed_sign_ins=query.failed_sign_ins,
        accounts=query.accounts,
    )
    return selectors.suspicious_activity(thresholds=thresholds, until=query.until)


app = make_app(
    "activity", [("/admin/activity", router)], title="Zest Store user activity monitoring"
)
