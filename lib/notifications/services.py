"""Writing notifications: `notify()` is what every area calls.

`notify()` runs inside the caller's transaction: it writes the in-app feed entry and queues the
email and the web push per the user's preferences (a channel turned off leaves a delivery
record `skipped_by_preference`). Once per `dedupe_key`: a second call with the same key (a
retried transition, a re-run hook) writes nothing.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from db.models import Notification, NotificationChannel, PushSubscription, User
from lib.notifications.preferences import category_of, preferences_for

Ch = NotificationChannel
PUSH_TOPIC = "push.send"


def notify(
    *,
    user_id: object,
    kind: str,
    title: tuple[str, str],
    body: tuple[str, str],
    dedupe_key: str,
    url: str = "",
    data: dict | None = None,
) -> None:
    """Tell user `user_id` about `kind` ("<category>.<event>"), `title` and `body` being
    (English, Bangla). Inside the caller's transaction; idempotent per `dedupe_key`."""
    notification_create(
        user_id=user_id,
        kind=kind,
        title=title,
        body=body,
        dedupe_key=dedupe_key,
        url=url,
        data=data,
    )


def notification_create(
    *,
    user_id: object,
    kind: str,
    title: tuple[str, str],
    body: tuple[str, str],
    dedupe_key: str,
    url: str = "",
    data: dict | None = None,
    channels: tuple[str, ...] = (Ch.EMAIL, Ch.PUSH),
    email: tuple[str, dict[str, Any]] | None = None,
) -> Notification | None:
    """`notify()` with two more knobs for the store's own news: which outgoing `channels`
    to use, and `email`, a (template, context) replacing the generic notification email.
    Returns the notification, or None when `dedupe_key` was already used."""
    from lib.email import email_queue

    category = category_of(kind)
    preferences = preferences_for(user_id)
    notification = Notification(
        user_id=user_id,
        kind=kind,
        category=category,
        title_en=title[0][:200],
        title_bn=title[1][:200],
        body_en=body[0],
        body_bn=body[1],
        url=url,
        data=data or {},
        in_feed=preferences[(Ch.IN_APP, category)],
        dedupe_key=dedupe_key,
    )
    try:
        with transaction.atomic():
            notification.save(force_insert=True)
    except IntegrityError:
        if Notification.objects.filter(dedupe_key=dedupe_key).exists():
            return None
        raise
    if Ch.EMAIL in channels:
        recipient = User.objects.filter(pk=user_id).values("email", "preferred_language").first()
        if recipient and recipient["email"]:
            template, context = email or ("notification", notification_email_context(notification))
            email_queue(
                to=recipient["email"],
                template=template,
                language=recipient["preferred_language"],
                context=context,
                dedupe_key=f"{dedupe_key}:email",
                kind=kind,
                user_id=user_id,
                notification=notification,
                wanted=preferences[(Ch.EMAIL, category)],
            )
    if Ch.PUSH in channels:
        notification_push_queue(notification, wanted=preferences[(Ch.PUSH, category)])
    return notification


def notification_push_queue(notification: Notification, *, wanted: bool) -> None:
    """One push delivery per browser the user subscribed (each retried on its own)."""
    from lib.notifications.deliveries import delivery_queue

    subscriptions = PushSubscription.objects.filter(user_id=notification.user_id).values_list(
        "pk", "endpoint"
    )
    for subscription_id, endpoint in subscriptions:
        delivery_queue(
            channel=Ch.PUSH,
            topic=PUSH_TOPIC,
            payload={"notification": str(notification.pk), "subscription": str(subscription_id)},
            dedupe_key=f"{notification.dedupe_key}:push:{subscription_id}",
            kind=notification.kind,
            user_id=notification.user_id,
            notification=notification,
            recipient=endpoint,
            wanted=wanted,
        )


def notification_email_context(notification: Notification) -> dict[str, Any]:
    return {
        "title_en": notification.title_en,
        "title_bn": notification.title_bn,
        "body_en": notification.body_en,
        "body_bn": notification.body_bn,
        "url": notification.url,
    }


def notification_mark_read(*, user_id: object, notification_id: object) -> bool:
    """Mark one of the user's notifications read; False when it is not theirs (or unknown).
    Marking it again keeps the first time."""
    mine = Notification.objects.filter(pk=notification_id, user_id=user_id, in_feed=True)
    if not mine.exists():
        return False
    mine.filter(read_at__isnull=True).update(read_at=timezone.now())
    return True


def notifications_mark_all_read(*, user_id: object) -> int:
    """Mark every unread feed entry of the user read; returns how many changed."""
    return Notification.objects.filter(
        Q(read_at__isnull=True), user_id=user_id, in_feed=True
    ).update(read_at=timezone.now())
