"""Reads of the user-activity log for staff: a filtered, newest-first list with cursor paging,
and suspicious patterns (many failed sign-ins per account, email or IP; many accounts per IP
or device) over a time window.

Only Mongo operations MongoDB Atlas and the test server both honour are used: find with
sort/limit, `distinct`, and aggregations of `$match`, `$group` (on one field, with `$sum`),
`$sort` and `$limit`. Distinct accounts per IP or device are counted with `distinct` over the
few candidates a `$group` found (a compound `$group` key is not available everywhere).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone

from lib.access.activity import ACTIVITY_COLLECTION, ActivityType
from lib.conf import site_config
from lib.documents import get_documents_db
from lib.errors import ApiError
from lib.pagination import invalid_cursor

logger = logging.getLogger("zest.activity")

DHAKA = ZoneInfo("Asia/Dhaka")
NEWEST_FIRST = [("timestamp", -1), ("_id", -1)]
PATTERN_ROWS_MAX = 100  # rows per suspicious pattern
CANDIDATES_MAX = 50  # IPs or devices whose distinct accounts are counted
USER_IDS_SHOWN = 20


def as_dhaka(value: datetime) -> datetime:
    """A time from the caller: with an offset as given, without one in Asia/Dhaka."""
    return value.replace(tzinfo=DHAKA) if timezone.is_naive(value) else value


def as_utc(value: datetime) -> datetime:
    """A stored time (naive ones are UTC) as an aware UTC time."""
    return value.replace(tzinfo=UTC) if timezone.is_naive(value) else value.astimezone(UTC)


@contextmanager
def documents_guard() -> Iterator[None]:
    """The document store down or timing out: 503 `service_unavailable`, the cause logged."""
    from pymongo.errors import PyMongoError

    try:
        yield
    except PyMongoError as exc:
        logger.error("activity log unavailable: %s: %s", type(exc).__name__, exc)
        raise ApiError("service_unavailable", status=503) from exc


@dataclass(frozen=True, slots=True)
class ActivityFilters:
    user_id: str | None = None
    activity_type: str | None = None
    ip: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive

    def query(self) -> dict[str, Any]:
        query: dict[str, Any] = {}
        if self.user_id:
            query["user_id"] = self.user_id
        if self.activity_type:
            query["activity_type"] = str(ActivityType(self.activity_type))
        if self.ip:
            query["ip"] = self.ip
        window = time_window(self.since, self.until)
        if window:
            query["timestamp"] = window
        return query


def time_window(since: datetime | None, until: datetime | None) -> dict[str, datetime]:
    """The `timestamp` condition of [since, until); 422 `activity_range_invalid` when empty."""
    since = as_utc(as_dhaka(since)) if since else None
    until = as_utc(as_dhaka(until)) if until else None
    if since and until and until <= since:
        raise ApiError("activity_range_invalid", status=422, fields={"until": ["<= since"]})
    window = {}
    if since:
        window["$gte"] = since
    if until:
        window["$lt"] = until
    return window


def cursor_encode(document: dict[str, Any]) -> str:
    raw = json.dumps([as_utc(document["timestamp"]).isoformat(), str(document["_id"])])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def cursor_decode(cursor: str) -> tuple[datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        moment, document_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return as_utc(datetime.fromisoformat(moment)), str(document_id)
    except (ValueError, TypeError, binascii.Error):
        raise invalid_cursor("This cursor is not valid.") from None


def activity_view(document: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(document["_id"]),
        "user_id": document.get("user_id"),
        "activity_type": document.get("activity_type", ""),
        "ip": document.get("ip") or "",
        "details": document.get("details") or {},
        "timestamp": as_utc(document["timestamp"]).astimezone(DHAKA),
    }


def activity_page(
    *, filters: ActivityFilters, cursor: str | None = None, limit: int = 50, db: Any = None
) -> dict[str, Any]:
    """Activity documents matching `filters`, newest first; `next_cursor` continues after the
    last one (stable while new documents arrive). One query."""
    query = filters.query()
    if cursor:
        moment, document_id = cursor_decode(cursor)
        after = {
            "$or": [
                {"timestamp": {"$lt": moment}},
                {"timestamp": moment, "_id": {"$lt": document_id}},
            ]
        }
        query = {"$and": [query, after]} if query else after
    collection = (db if db is not None else get_documents_db())[ACTIVITY_COLLECTION]
    with documents_guard():
        documents = list(collection.find(query).sort(NEWEST_FIRST).limit(limit + 1))
    more = len(documents) > limit
    documents = documents[:limit]
    return {
        "items": [activity_view(document) for document in documents],
        "next_cursor": cursor_encode(documents[-1]) if more else None,
    }


# --- suspicious patterns ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SuspicionThresholds:
    window_minutes: int
    failed_sign_ins: int  # failed sign-ins per account, email or IP
    accounts: int  # distinct accounts per IP or device

    @classmethod
    def configured(cls, **overrides: int | None) -> SuspicionThresholds:
        """The configured thresholds (ACTIVITY_* settings), with the caller's overrides."""
        values = {
            "window_minutes": site_config.suspicious_window_minutes,
            "failed_sign_ins": site_config.failed_sign_in_threshold,
            "accounts": site_config.accounts_per_ip_threshold,
        }
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)


def counts_by(
    collection: Any, *, match: dict[str, Any], field: str, at_least: int
) -> list[dict[str, Any]]:
    """`[{"key", "count"}]` of the documents matching `match` grouped by `field`, keeping the
    groups of at least `at_least`, largest first."""
    pipeline = [
        {"$match": match},
        {"$group": {"_id": f"${field}", "count": {"$sum": 1}}},
        {"$match": {"count": {"$gte": at_least}}},
        {"$sort": {"count": -1}},
        {"$limit": PATTERN_ROWS_MAX},
    ]
    rows = [
        {"key": row["_id"], "count": row["count"]}
        for row in collection.aggregate(pipeline)
        if row["_id"] not in (None, "")
    ]
    return sorted(rows, key=lambda row: (-row["count"], str(row["key"])))


def accounts_by(
    collection: Any, *, match: dict[str, Any], field: str, at_least: int
) -> list[dict[str, Any]]:
    """`[{"key", "accounts", "user_ids"}]`: values of `field` (an IP, a device) shared by at
    least `at_least` distinct accounts among the documents matching `match`."""
    match = {**match, "user_id": {"$ne": None}}
    candidates = counts_by(collection, match=match, field=field, at_least=at_least)
    rows = []
    for candidate in candidates[:CANDIDATES_MAX]:
        users = collection.distinct("user_id", {**match, field: candidate["key"]})
        users = sorted(str(user) for user in users if user)
        if len(users) >= at_least:
            rows.append(
                {
                    "key": candidate["key"],
                    "accounts": len(users),
                    "user_ids": users[:USER_IDS_SHOWN],
                }
            )
    return sorted(rows, key=lambda row: (-row["accounts"], str(row["key"])))


def suspicious_activity(
    *,
    thresholds: SuspicionThresholds,
    until: datetime | None = None,
    db: Any = None,
) -> dict[str, Any]:
    """Patterns in the `thresholds.window_minutes` before `until` (now): accounts, emails and
    IPs with many failed sign-ins; IPs signed in to, and devices ordering from, by many
    accounts."""
    until = as_utc(as_dhaka(until)) if until else timezone.now()
    since = until - timedelta(minutes=thresholds.window_minutes)
    window = {"timestamp": {"$gte": since, "$lt": until}}
    collection = (db if db is not None else get_documents_db())[ACTIVITY_COLLECTION]
    failed = {**window, "activity_type": str(ActivityType.SIGN_IN_FAILED)}
    signed_in = {**window, "activity_type": str(ActivityType.SIGN_IN)}
    ordered = {**window, "activity_type": str(ActivityType.ORDER_PLACED)}
    at_least = thresholds.failed_sign_ins
    with documents_guard():
        return {
            "since": since.astimezone(DHAKA),
            "until": until.astimezone(DHAKA),
            "thresholds": {
                "window_minutes": thresholds.window_minutes,
                "failed_sign_ins": thresholds.failed_sign_ins,
                "accounts": thresholds.accounts,
            },
            "failed_sign_ins_by_user": counts_by(
                collection, match=failed, field="user_id", at_least=at_least
            ),
            "failed_sign_ins_by_email": counts_by(
                collection, match=failed, field="details.email", at_least=at_least
            ),
            "failed_sign_ins_by_ip": counts_by(
                collection, match=failed, field="ip", at_least=at_least
            ),
            "accounts_by_ip": accounts_by(
                collection, match=signed_in, field="ip", at_least=thresholds.accounts
            ),
            "accounts_by_device": accounts_by(
                collection, match=ordered, field="details.device_id", at_least=thresholds.accounts
            ),
        }
