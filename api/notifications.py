"""Notifications: the signed-in user's feed (/api/v1/me/notifications), their notification
preferences, their browsers' web push subscriptions (/api/v1/me/push), and failed deliveries
for staff (/api/v1/admin/notifications)."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from lib.runtime import make_app

from django.http import HttpResponse
from ninja import Field, Query, Router, Schema, Status

from lib.access.permissions import Require
from lib.conf import notification_config
from lib.errors import ApiError, NotFound
from lib.notifications import push, selectors, services
from lib.notifications.preferences import PreferenceLocked, preferences_update
from lib.pagination import CursorPageParams, PageParams
from lib.schemas import ErrorOut, InputSchema

me = Router(tags=["notifications"], auth=Require())
push_router = Router(tags=["notifications"], auth=Require())
staff = Router(tags=["notifications"], auth=Require("users:read"))

Channel = Literal["email", "sms", "push", "in_app"]
Category = Literal["order", "account", "chat", "rewards", "vendor", "stock", "marketing"]


class NotificationOut(Schema):
    id: UUID
    kind: str = Field(..., description='"<category>.<event>", e.g. "order.shipped"')
    category: str
    title_en: str
    title_bn: str
    body_en: str
    body_bn: str
    url: str
    data: dict
    read_at: datetime | None
    created_at: datetime


class FeedQuery(CursorPageParams):
    unread_only: bool = Field(False, description="Only notifications not read yet")


class FeedOut(Schema):
    items: list[NotificationOut]
    count: int
    page: int | None = Field(..., description="Null when the page was asked by cursor")
    page_size: int
    pages: int
    next_cursor: str | None


class UnreadOut(Schema):
    unread: int


class MarkedOut(Schema):
    marked: int = Field(..., description="How many notifications changed to read")


class PreferenceOut(Schema):
    channel: Channel
    category: Category
    enabled: bool
    locked: bool = Field(..., description="Cannot be turned off (account and security email)")


class PreferencesOut(Schema):
    items: list[PreferenceOut]


class PreferenceIn(InputSchema):
    channel: Channel
    category: Category
    enabled: bool


class PreferencesIn(InputSchema):
    items: list[PreferenceIn] = Field(..., max_length=64, description="Only the ones to change")


class VapidKeyOut(Schema):
    public_key: str = Field(..., description="`applicationServerKey` for pushManager.subscribe()")


class PushKeysIn(InputSchema):
    p256dh: str = Field(..., min_length=80, max_length=200)
    auth: str = Field(..., min_length=16, max_length=100)


class PushSubscriptionIn(InputSchema):
    endpoint: str = Field(..., min_length=12, max_length=1000, pattern=r"^https?://")
    keys: PushKeysIn


class PushSubscriptionOut(Schema):
    id: UUID
    endpoint: str
    created_at: datetime
    last_success_at: datetime | None


class DeliveryOut(Schema):
    id: UUID
    notification_id: UUID | None
    user_id: UUID | None
    channel: str
    kind: str
    recipient: str
    status: str
    attempts: int
    last_error: str
    provider_message_id: str
    created_at: datetime
    updated_at: datetime


class DeliveryPageOut(Schema):
    items: list[DeliveryOut]
    count: int
    page: int
    page_size: int
    pages: int


class FailedQuery(PageParams):
    channel: Channel | None = None


# --- the feed ----------------------------------------------------------------------------


@me.get("", response={200: FeedOut, 422: ErrorOut})
def feed(request, query: Query[FeedQuery]):
    """The signed-in user's notifications, newest first, by page or by `cursor`."""
    return selectors.notification_feed(
        user_id=request.auth.user_id, params=query, unread_only=query.unread_only
    )


@me.get("/unread-count", response=UnreadOut)
def unread_count(request, response: HttpResponse):
    """How many notifications are unread (for the bell's badge; one indexed count)."""
    response["Cache-Control"] = f"private, max-age={notification_config.feed_unread_cache_ttl}"
    return {"unread": selectors.notifications_unread_count(user_id=request.auth.user_id)}


@me.post("/{notification_id}/read", response={204: None, 404: ErrorOut})
def mark_read(request, notification_id: UUID):
    """Mark one notification read (again: no change)."""
    if not services.notification_mark_read(
        user_id=request.auth.user_id, notification_id=notification_id
    ):
        raise NotFound()
    return Status(204, None)


@me.post("/read-all", response=MarkedOut)
def mark_all_read(request):
    """Mark every unread notification read."""
    return {"marked": services.notifications_mark_all_read(user_id=request.auth.user_id)}


# --- preferences -------------------------------------------------------------------------


@me.get("/preferences", response=PreferencesOut)
def preferences(request):
    """Every channel x category the user can receive, on or off (defaults until changed)."""
    return {"items": selectors.notification_preferences(user_id=request.auth.user_id)}


@me.put("/preferences", response={200: PreferencesOut, 409: ErrorOut})
def preferences_set(request, payload: PreferencesIn):
    """Turn channels on or off per category; those not sent keep their state. Account and
    security email cannot be turned off (409 `notification_preference_locked`, nothing saved)."""
    changes = {(item.channel, item.category): item.enabled for item in payload.items}
    try:
        preferences_update(user_id=request.auth.user_id, changes=changes)
    except PreferenceLocked as exc:
        raise ApiError(
            "notification_preference_locked",
            status=409,
            fields={"items": [f"{exc.channel}/{exc.category}"]},
        ) from exc
    return {"items": selectors.notification_preferences(user_id=request.auth.user_id)}


# --- web push ----------------------------------------------------------------------------


@push_router.get("/vapid-key", response=VapidKeyOut)
def vapid_key(request, response: HttpResponse):
    """The store's VAPID public key (base64url), for the browser's push subscription."""
    response["Cache-Control"] = "public, max-age=3600"
    return {"public_key": push.vapid_public_key()}


@push_router.post(
    "/subscriptions",
    response={200: PushSubscriptionOut, 201: PushSubscriptionOut, 422: ErrorOut},
)
def subscribe(request, payload: PushSubscriptionIn):
    """Save this browser's push subscription (201; the same endpoint again updates it: 200)."""
    try:
        push.push_key_check(payload.keys.p256dh, payload.keys.auth)
    except ValueError as exc:
        raise ApiError(
            "push_subscription_invalid", status=422, fields={"keys": [str(exc)]}
        ) from exc
    subscription, created = push.push_subscription_save(
        user_id=request.auth.user_id,
        endpoint=payload.endpoint,
        p256dh=payload.keys.p256dh,
        auth=payload.keys.auth,
        user_agent=request.headers.get("User-Agent", ""),
    )
    return Status(201 if created else 200, subscription)


@push_router.delete("/subscriptions", response={204: None, 404: ErrorOut})
def unsubscribe(request, endpoint: str = Query(..., max_length=1000)):
    """Remove this browser's push subscription (the endpoint, as a query parameter)."""
    if not push.push_subscription_delete(user_id=request.auth.user_id, endpoint=endpoint):
        raise NotFound()
    return Status(204, None)


# --- staff -------------------------------------------------------------------------------


@staff.get("/deliveries/failed", response=DeliveryPageOut)
def failed_deliveries(request, query: Query[FailedQuery]):
    """Notification deliveries given up on (bounced email, refused push...), newest first."""
    return selectors.deliveries_failed(params=query, channel=query.channel)


app = make_app(
    "notifications",
    [("/me/notifications", me), ("/me/push", push_router), ("/admin/notifications", staff)],
    title="Zest Store notifications",
)
