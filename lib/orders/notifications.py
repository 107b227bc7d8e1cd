"""Telling the customer about their order: one hook, `order_notify(order, event)`, called for
every status event. It emails (in the customer's language first, then the other) and, for
the events worth one (placed, shipped, out for delivery), sends an SMS in the customer's
language (`lib.sms.orders.order_sms_notify`), each channel with its own dedupe key.

Messages go through the outbox in the caller's transaction, keyed by the event, so a retried
transition or a re-run hook never sends the same news twice.
"""

from __future__ import annotations

from db.models import Order, OrderStatusEvent
from lib.email import Texts, bilingual_email, email_enqueue
from lib.money import BANGLA_DIGITS, format_bdt

STATUS_TEXTS: Texts = (
    (
        "Order {number}: {status}",
        "Hello,\n\nYour order {number} is now: {status}.\nOrder total: {total}.\n{note}\n"
        "Thank you for shopping with Zest Store.",
    ),
    (
        "অর্ডার {number}: {status}",
        "প্রিয় গ্রাহক,\n\nআপনার অর্ডার {number}-এর বর্তমান অবস্থা: {status}।\nমোট মূল্য: {total}।\n{note}\n"
        "জেস্ট স্টোরে কেনাকাটার জন্য ধন্যবাদ।",
    ),
)


def order_recipient(order: Order) -> tuple[str, str]:
    """(email, language) of the person the order belongs to; email may be empty."""
    user = order.user
    if user is not None:
        return user.email or "", user.preferred_language or "en"
    return order.guest_email, "en"


def notification_key(event: OrderStatusEvent, channel: str) -> str:
    return f"order:{event.order_id}:event:{event.pk}:{channel}"


def order_notify(
    order: Order, event: OrderStatusEvent, *, channels: tuple[str, ...] = ("email", "sms")
) -> None:
    """Queue the customer's notification of `event` (inside the caller's transaction) on
    `channels` (placement sends its own email and asks for the SMS only)."""
    from lib.orders.state import status_label

    if "sms" in channels:
        from lib.sms.orders import order_sms_notify

        order_sms_notify(order, event)
    if "email" not in channels:
        return
    to, language = order_recipient(order)
    if not to:
        return
    number = order.number
    message = bilingual_email(
        STATUS_TEXTS,
        language=language,
        number=number,
        number_bn=number.translate(BANGLA_DIGITS),
        status=status_label(event.to_status, "en"),
        status_bn=status_label(event.to_status, "bn"),
        total=format_bdt(order.total_amount, "en"),
        total_bn=format_bdt(order.total_amount, "bn"),
        note=f"Note: {event.note}\n" if event.note else "",
        note_bn=f"নোট: {event.note}\n" if event.note else "",
    )
    email_enqueue(to=to, dedupe_key=notification_key(event, "email"), **message)
