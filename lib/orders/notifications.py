"""Telling the customer about their order: `order_placed_notify` when it is placed and
`order_notify(order, event)` for every status event after that.

A signed-in customer gets an in-app feed entry, an email and a web push (each per their
preferences, `lib.notifications`); a guest gets the email, in the language they placed the
order in. Emails are templated (`order_placed`, `payment_received`, `refund`, `order_status`).
For the events worth one (placed, shipped, out for delivery) an SMS goes too
(`lib.sms.orders.order_sms_notify`, which checks the SMS preference).

Everything goes through the outbox in the caller's transaction, keyed by the order and the
event, so a retried transition, a re-run hook or a second sweep never sends the same news twice.
"""

from __future__ import annotations

from typing import Any

from db.models import (
    NotificationChannel,
    NotificationDelivery,
    Order,
    OrderStatus,
    OrderStatusEvent,
)
from lib.money import BANGLA_DIGITS, format_bdt

S = OrderStatus
Ch = NotificationChannel
# The email template of a status; the others use "order_status".
STATUS_TEMPLATES: dict[str, str] = {S.PAID: "payment_received", S.REFUNDED: "refund"}
# (English, Bangla) feed/push body per template; `{number}`, `{status}`, `{total}` filled in.
BODIES: dict[str, tuple[str, str]] = {
    "order_placed": (
        "Thank you! Order {number} is placed. Total {total}.",
        "ধন্যবাদ! অর্ডার {number} গ্রহণ করা হয়েছে। মোট {total}।",
    ),
    "payment_received": (
        "We received your payment of {total} for order {number}.",
        "অর্ডার {number}-এর {total} পেমেন্ট আমরা পেয়েছি।",
    ),
    "refund": (
        "Order {number} was refunded: {total}.",
        "অর্ডার {number}-এর {total} ফেরত দেওয়া হয়েছে।",
    ),
    "order_status": ("Order {number}: {status}.", "অর্ডার {number}: {status}।"),
}


def order_url(order: Order) -> str:
    return f"/account/orders/{order.number}"


def guest_language(order: Order) -> str:
    """The language a guest placed `order` in (that of its placed email), else English."""
    language = (
        NotificationDelivery.objects.filter(dedupe_key=placed_key(order, Ch.EMAIL))
        .values_list("language", flat=True)
        .first()
    )
    return language or "en"


def order_recipient(order: Order) -> tuple[str, str]:
    """(email, language) of the person the order belongs to; email may be empty."""
    user = order.user
    if user is not None:
        return user.email or "", user.preferred_language or "en"
    return order.guest_email, guest_language(order) if order.guest_email else "en"


def placed_key(order: Order, channel: str) -> str:
    return f"order:{order.pk}:placed:{channel}"


def notification_key(event: OrderStatusEvent, channel: str) -> str:
    return f"order:{event.order_id}:event:{event.pk}:{channel}"


def order_email_context(order: Order, *, status: str, note: str = "") -> dict[str, Any]:
    """What the order templates show, in both languages (the template picks one)."""
    from lib.orders.state import status_label

    items = [
        {
            "name_en": item.product_name,
            "name_bn": item.product_name_bn or item.product_name,
            "quantity": item.quantity,
            "quantity_bn": str(item.quantity).translate(BANGLA_DIGITS),
            "total_en": format_bdt(item.total_price, "en"),
            "total_bn": format_bdt(item.total_price, "bn"),
        }
        for item in order.items.all()
    ]
    return {
        "number_en": order.number,
        "number_bn": order.number.translate(BANGLA_DIGITS),
        "status_en": status_label(status, "en"),
        "status_bn": status_label(status, "bn"),
        "status": status,
        "total_en": format_bdt(order.total_amount, "en"),
        "total_bn": format_bdt(order.total_amount, "bn"),
        "shipping_en": format_bdt(order.shipping_total, "en"),
        "shipping_bn": format_bdt(order.shipping_total, "bn"),
        "cod": order.payment_method == "cod",
        "items": items,
        "note": note,
        "url": order_url(order),
    }


def texts_of(template: str, context: dict[str, Any]) -> tuple[tuple[str, str], tuple[str, str]]:
    """(title, body) as (English, Bangla) pairs for the feed and the push."""
    from lib.email import email_subject

    english, bangla = BODIES[template]
    fill = {
        "en": {k: context[f"{k}_en"] for k in ("number", "status", "total")},
        "bn": {k: context[f"{k}_bn"] for k in ("number", "status", "total")},
    }
    titles = tuple(
        email_subject(template, language=language, context=context) for language in ("en", "bn")
    )
    return (titles[0], titles[1]), (english.format(**fill["en"]), bangla.format(**fill["bn"]))


def order_news(
    order: Order,
    *,
    template: str,
    status: str,
    key: str,
    language: str = "",
    note: str = "",
) -> None:
    """Queue the feed entry, email and push (a user's order) or the email (a guest's)."""
    from lib.email import email_queue
    from lib.notifications.services import notification_create

    context = order_email_context(order, status=status, note=note)
    kind = f"order.{status}"
    if order.user_id is not None:
        title, body = texts_of(template, context)
        notification_create(
            user_id=order.user_id,
            kind=kind,
            title=title,
            body=body,
            dedupe_key=key,
            url=order_url(order),
            data={"order": order.number, "status": status},
            email=(template, context),
        )
        return
    to, guest_lang = order_recipient(order)
    if to:
        email_queue(
            to=to,
            template=template,
            language="bn" if (language or guest_lang) == "bn" else "en",
            context=context,
            dedupe_key=f"{key}:email",
            kind=kind,
        )


def order_placed_notify(order: Order, *, language: str) -> None:
    """The order-placed news (placement calls it; `language` is the checkout's)."""
    order_news(
        order,
        template="order_placed",
        status=order.status,
        key=f"order:{order.pk}:placed",
        language=language,
    )


def order_notify(
    order: Order, event: OrderStatusEvent, *, channels: tuple[str, ...] = ("email", "sms")
) -> None:
    """Queue the customer's news of `event` (inside the caller's transaction) on `channels`
    (placement sends its own news with `order_placed_notify` and asks for the SMS only)."""
    if "sms" in channels:
        from lib.sms.orders import order_sms_notify

        order_sms_notify(order, event)
    if "email" not in channels:
        return
    order_news(
        order,
        template=STATUS_TEMPLATES.get(event.to_status, "order_status"),
        status=event.to_status,
        key=f"order:{order.pk}:event:{event.pk}",
        note=event.note,
    )
