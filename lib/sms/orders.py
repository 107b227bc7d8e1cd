"""Order news by SMS: placed, shipped (with the courier and its tracking code), out for
delivery. Called by `lib.orders.notifications.order_notify` for every status event, inside
the transition's transaction; other statuses send nothing (SMS costs money).

- To the order's phone: the number proved at checkout, else the shipping address's, else the
  guest's, else the account's. No usable number: nothing is sent.
- In the customer's language (`user.preferred_language`; guests English). English texts stay
  in GSM-7 (`Tk`, never `৳`), so each fits one 160-character SMS; Bangla ones use Bangla
  digits and `৳` (UCS-2) and fit one 70-character SMS up to a total of ৳99,999.99. The
  shipped text drops the tracking link (and nothing else) when it would cost another part.
- Once per order and kind: the dedupe key `order:<id>:sms:<kind>` makes a retried transition,
  a re-run hook, or a second event of the same kind (an order held for review and released)
  queue nothing more.
- Whether to send at all is decided in one place, `sms_order_wanted`.
"""

from __future__ import annotations

import logging

from db.models import Order, OrderStatus, OrderStatusEvent
from lib import conf
from lib.money import BANGLA_DIGITS, format_bdt
from lib.sms.base import sms_segments
from lib.sms.services import sms_enqueue

logger = logging.getLogger("zest.sms")

S = OrderStatus
# The order status an SMS is sent for -> its kind.
KINDS: dict[str, str] = {
    S.PLACED: "order_placed",
    S.PAID: "order_placed",  # a wallet order's confirmation comes with its payment
    S.SHIPPED: "order_shipped",
    S.OUT_FOR_DELIVERY: "order_out_for_delivery",
}
COURIER_NAMES: dict[str, tuple[str, str]] = {
    "pathao": ("Pathao", "পাঠাও"),
    "steadfast": ("Steadfast", "স্টেডফাস্ট"),
    "redx": ("RedX", "রেডএক্স"),
}

# (English, Bangla) per text; `{total}` is the amount in the reader's form.
TEXTS: dict[str, tuple[str, str]] = {
    "placed_cod": (
        "Zest Store: order {number} is placed. Total {total}, cash on delivery."
        " We will SMS you when it ships.",
        "জেস্ট স্টোর: অর্ডার {number} গৃহীত। ডেলিভারিতে দেবেন {total}।",
    ),
    "placed_paid": (
        "Zest Store: we received {total} for order {number}. We will SMS you when it ships.",
        "জেস্ট স্টোর: অর্ডার {number}-এর {total} পেমেন্ট পেয়েছি।",
    ),
    "shipped_link": (
        "Zest Store: order {number} is on its way with {courier}, tracking code {code}."
        " Track: {url}",
        "জেস্ট স্টোর: অর্ডার {number} {courier}-এ পাঠানো হয়েছে। ট্র্যাকিং কোড {code} {url}",
    ),
    "shipped_code": (
        "Zest Store: order {number} is on its way with {courier}, tracking code {code}.",
        "জেস্ট স্টোর: অর্ডার {number} {courier}-এ পাঠানো হয়েছে। ট্র্যাকিং কোড {code}",
    ),
    "shipped": (
        "Zest Store: order {number} has shipped. We will SMS you when it is out for delivery.",
        "জেস্ট স্টোর: অর্ডার {number} পাঠানো হয়েছে।",
    ),
    "out_cod": (
        "Zest Store: order {number} is out for delivery today. Please keep {total} ready.",
        "জেস্ট স্টোর: অর্ডার {number} আজ আসছে, {total} প্রস্তুত রাখুন।",
    ),
    "out_paid": (
        "Zest Store: order {number} is out for delivery today.",
        "জেস্ট স্টোর: অর্ডার {number} আজ ডেলিভারি হবে।",
    ),
}


def sms_order_wanted(order: Order, kind: str) -> bool:
    """Whether the customer gets the `kind` SMS of `order`: the shop-wide switch
    SMS_ORDER_NOTIFICATIONS, then a signed-in customer's own notification preference for
    order SMS (`lib.notifications.preferences`; guests get them)."""
    if not conf.sms_config.order_notifications:
        return False
    if order.user_id is None:
        return True
    from lib.notifications.preferences import preference_enabled

    return preference_enabled(order.user_id, "sms", "order")


def order_phone(order: Order) -> str:
    """The number order news goes to (see the module docstring); "" when there is none."""
    snapshot = order.shipping_snapshot or {}
    user_phone = order.user.phone if order.user_id and order.user else ""
    candidates = (snapshot.get("verified_phone"), snapshot.get("phone"), order.guest_phone)
    return next((str(phone) for phone in (*candidates, user_phone) if phone), "")


def order_language(order: Order) -> str:
    user = order.user if order.user_id else None
    return "bn" if user is not None and user.preferred_language == "bn" else "en"


def amount_text(order: Order, language: str) -> str:
    """`৳১,২৩৪.০০` in Bangla; `Tk 1,234.00` in English (`৳` would make it UCS-2)."""
    text = format_bdt(order.total_amount, language)
    return text if language == "bn" else text.replace("৳", "Tk ")


def tracking_of(order: Order) -> tuple[str, str, str] | None:
    """(courier, tracking code, tracking URL) of the order's consignment, when the courier
    module is installed and there is one."""
    try:
        from lib.couriers.selectors import order_tracking
    except ImportError:
        return None
    return order_tracking(order)


def text_for(order: Order, kind: str, language: str) -> str:
    """The SMS of `kind` for `order` in `language`."""
    bangla = language == "bn"
    number = order.number.translate(BANGLA_DIGITS) if bangla else order.number
    params = {"number": number, "total": amount_text(order, language)}
    cod = order.payment_method == "cod"
    if kind == "order_placed":
        candidates = ["placed_cod" if cod else "placed_paid"]
    elif kind == "order_out_for_delivery":
        candidates = ["out_cod" if cod else "out_paid"]
    else:
        tracking = tracking_of(order)
        candidates = ["shipped"]
        if tracking is not None and tracking[1]:
            courier, code, url = tracking
            names = COURIER_NAMES.get(courier, (courier.title(), courier.title()))
            params.update(courier=names[1] if bangla else names[0], code=code, url=url)
            candidates = ["shipped_link", "shipped_code"] if url else ["shipped_code"]
    texts = [TEXTS[name][1 if bangla else 0].format(**params) for name in candidates]
    # The richest text that still fits the fewest parts any of them needs.
    fewest = min(sms_segments(text).segments for text in texts)
    return next(text for text in texts if sms_segments(text).segments == fewest)


def order_sms_notify(order: Order, event: OrderStatusEvent) -> None:
    """Queue the SMS `event` calls for, if any (inside the caller's transaction)."""
    kind = KINDS.get(event.to_status)
    if kind is None or not sms_order_wanted(order, kind):
        return
    phone = order_phone(order)
    if not phone:
        return
    language = order_language(order)
    try:
        sms_enqueue(
            to=phone,
            text=text_for(order, kind, language),
            kind=kind,
            dedupe_key=f"order:{order.pk}:sms:{kind}",
        )
    except ValueError as exc:  # a landline or foreign number on an old order: no SMS
        logger.info("order %s: no %s SMS to %r: %s", order.number, kind, phone, exc)
