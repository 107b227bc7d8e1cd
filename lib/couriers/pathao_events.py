"""Pathao's statuses -> our `CourierState`.

The webhook `event` slugs are the only complete published list (merchant panel, "Webhook
Integration"); polling (`orders/{id}/info`) answers display names ("Pending", "Delivered")
and a slug whose spelling is only partly known. Both are read through one table: a word is
lower-cased, stripped of its `order.` prefix, spaces and underscores become dashes, and the
panel's labels that differ from their slugs are aliases. Anything else is "unknown" (stored,
never fatal).
"""

from __future__ import annotations

from lib.couriers.base import CourierState

EVENTS: dict[str, CourierState] = {
    "created": "booked",
    "updated": "booked",
    "pickup-requested": "booked",
    "assigned-for-pickup": "booked",
    "picked": "picked_up",
    "pickup-failed": "booked",  # still with the merchant; Pathao tries the pickup again
    "pickup-cancelled": "cancelled",  # Pathao has no plain "cancelled" event
    "at-the-sorting-hub": "in_transit",
    "in-transit": "in_transit",
    "received-at-last-mile-hub": "in_transit",
    "assigned-for-delivery": "out_for_delivery",
    "delivered": "delivered",
    "partial-delivery": "partially_delivered",
    "returned": "returning",  # "Return": the return is initiated
    "delivery-failed": "delivery_failed",
    "on-hold": "on_hold",
    "paid": "paid_out",  # "Payment Invoice": the cash is in a merchant invoice (invoice_id)
    "paid-return": "returning",  # the customer paid the delivery charge and sent it back
    "exchanged": "delivered",  # the customer received the exchange parcel
    "return-id-created": "returning",
    "return-in-transit": "returning",
    "returned-to-merchant": "returned",
}
# Panel labels and polling display names whose words differ from the event slugs.
ALIASES = {
    "pending": "created",
    "order-created": "created",
    "order-updated": "updated",
    "pickup": "picked",
    "picked-up": "picked",
    "return": "returned",
    "payment-invoice": "paid",
    "exchange": "exchanged",
    "cancelled": "pickup-cancelled",
}


def pathao_state(word: str) -> CourierState:
    """The state a Pathao event slug, status slug or display name means; "unknown" if none."""
    key = word.strip().lower().removeprefix("order.")
    key = "-".join(key.replace("_", " ").replace("-", " ").split())
    return EVENTS.get(ALIASES.get(key, key), "unknown")
