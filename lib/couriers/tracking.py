"""Applying what a courier says about a consignment (webhook, poll or booking answer).

`consignment_update_apply` stores every update as an append-only `ConsignmentEvent` (a unique
dedupe key makes a replay a no-op), moves the consignment forward only (an older or lower
update is stored, never applied), and moves the order through `order_transition` only
forwards, walking the intermediate statuses so stock is shipped on the way:

    picked_up, in_transit        -> shipped
    out_for_delivery             -> out_for_delivery
    delivered                    -> delivered (cash collected recorded on the COD payment)
    partially_delivered          -> delivered, with a note and the amount collected
    returning, returned          -> returned
    cancelled (before pickup)    -> the consignment only; the order stays processing
    delivery_failed, on_hold     -> a timeline note, no status change
    paid_out                     -> the courier's payout recorded (lib.couriers.payouts)
    unknown                      -> stored only
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from db.models import (
    Consignment,
    ConsignmentEvent,
    ConsignmentState,
    Order,
    OrderStatus,
    OrderStatusEvent,
    PaymentProvider,
)
from lib.couriers.base import PROVISIONAL_ID_PREFIX, TrackingUpdate, consignment_id_provisional
from lib.money import format_bdt
from lib.orders.state import order_transition, transition_allowed

logger = logging.getLogger("zest.couriers")

C = ConsignmentState
S = OrderStatus

# How far along a consignment is: an update lower than the consignment's rank is stored only.
STATE_RANK: dict[str, int] = {
    C.BOOKING: 0,
    C.BOOKING_UNCONFIRMED: 0,
    C.BOOKED: 1,
    C.PICKED_UP: 2,
    C.IN_TRANSIT: 3,
    C.OUT_FOR_DELIVERY: 4,
    C.DELIVERY_FAILED: 4,
    C.ON_HOLD: 4,
    C.RETURNING: 5,
    C.DELIVERED: 6,
    C.PARTIALLY_DELIVERED: 6,
    C.RETURNED: 7,
    C.CANCELLED: 7,
}
# The order status each consignment state leads to (None: no status change).
ORDER_TARGET: dict[str, str] = {
    C.PICKED_UP: S.SHIPPED,
    C.IN_TRANSIT: S.SHIPPED,
    C.OUT_FOR_DELIVERY: S.OUT_FOR_DELIVERY,
    C.DELIVERED: S.DELIVERED,
    C.PARTIALLY_DELIVERED: S.DELIVERED,
    C.RETURNING: S.RETURNED,
    C.RETURNED: S.RETURNED,
}
# The fulfilment path an order walks; `out_for_delivery` is skipped when the courier says
# delivered without it.
FULFILMENT_PATH = (S.PROCESSING, S.SHIPPED, S.OUT_FOR_DELIVERY, S.DELIVERED)
NOTE_ONLY = frozenset({C.DELIVERY_FAILED, C.ON_HOLD})
DELIVERED_STATES = frozenset({C.DELIVERED, C.PARTIALLY_DELIVERED})
COURIER_LABELS = {"pathao": "Pathao", "steadfast": "Steadfast", "redx": "RedX"}


@dataclass(slots=True)
class ApplyOutcome:
    """What one update did: `event` is None for a replay (or an unknown consignment)."""

    consignment: Consignment | None
    event: ConsignmentEvent | None
    applied: bool = False
    order_moves: list[str] = field(default_factory=list)

    @property
    def duplicate(self) -> bool:
        return self.consignment is not None and self.event is None


def courier_label(courier: str) -> str:
    return COURIER_LABELS.get(courier, courier)


def update_dedupe_key(courier: str, update: TrackingUpdate) -> str:
    """The same courier word about the same parcel at the same time is the same event."""
    parts = (
        courier,
        update.consignment_id,
        update.raw_status,
        update.state,
        update.occurred_at.isoformat() if update.occurred_at else "",
        str(update.collected_amount or ""),
        update.message,
    )
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def consignment_of_update(courier: str, update: TrackingUpdate) -> Consignment | None:
    """Matched on the courier's id first, then on our order number (a booking that has not
    learnt its id yet: Pathao's bulk create, which answers with no ids, or a booking whose
    create answer was lost, `booking_unconfirmed`, which the update so confirms; or a booking
    recovered by invoice, whose id is still provisional)."""
    if update.consignment_id:
        found = Consignment.objects.filter(
            courier=courier, consignment_id=update.consignment_id
        ).first()
        if found is not None:
            return found
    if update.merchant_order_id:
        return (
            Consignment.objects.filter(
                Q(consignment_id="") | Q(consignment_id__startswith=PROVISIONAL_ID_PREFIX),
                courier=courier,
                order__number=update.merchant_order_id,
            )
            .exclude(state=C.CANCELLED)
            .first()
        )
    return None


def update_is_newer(consignment: Consignment, update: TrackingUpdate) -> bool:
    """Whether the update moves the consignment: not older than the newest applied one, and
    not behind it (a replayed `in_transit` after `delivered` is stored only)."""
    if update.state in (C.UNKNOWN, C.PAID_OUT):
        return False
    last = consignment.last_update_at
    if update.occurred_at is not None and last is not None and update.occurred_at < last:
        return False
    return STATE_RANK.get(update.state, 0) >= STATE_RANK.get(consignment.state, 0)


def event_store(
    consignment: Consignment, update: TrackingUpdate, *, source: str, key: str, applied: bool
) -> ConsignmentEvent | None:
    """Append the event in a savepoint; None when the same event is already stored."""
    try:
        with transaction.atomic():
            return ConsignmentEvent.objects.create(
                consignment=consignment,
                source=source,
                raw_status=update.raw_status[:64],
                state=update.state if update.state in C.values else C.UNKNOWN,
                occurred_at=update.occurred_at,
                collected_amount=update.collected_amount,
                delivery_fee=update.delivery_fee,
                message=update.message[:2000],
                applied=applied,
                dedupe_key=key,
                payload=update.raw or {},
            )
    except IntegrityError:
        return None


def consignment_update_apply(*, courier: str, update: TrackingUpdate, source: str) -> ApplyOutcome:
    """Store `update` and move the consignment and its order forward (see the module
    docstring). Replays change nothing; an unknown consignment is logged and left alone."""
    if update.state not in C.values or update.state == C.BOOKING:
        update = replace(update, state=C.UNKNOWN)  # an adapter's word we do not know
    found = consignment_of_update(courier, update)
    if found is None:
        logger.warning(
            "%s update for unknown consignment %r (order %r): %s",
            courier,
            update.consignment_id,
            update.merchant_order_id,
            update.raw_status,
        )
        return ApplyOutcome(None, None)
    key = update_dedupe_key(courier, update)
    with transaction.atomic():
        order = Order.objects.select_for_update(of=("self",)).get(pk=found.order_id)
        consignment = Consignment.objects.select_for_update().get(pk=found.pk)
        applied = update_is_newer(consignment, update)
        event = event_store(consignment, update, source=source, key=key, applied=applied)
        if event is None:
            return ApplyOutcome(consignment, None)
        outcome = ApplyOutcome(consignment, event, applied=applied)
        consignment_fields_apply(consignment, update, source=source, applied=applied)
        if update.state == C.PAID_OUT:
            from lib.couriers.payouts import payout_of_update

            payout_of_update(consignment, update)
        if applied:
            outcome.order_moves = order_follow(order, consignment, update)
    return outcome


def consignment_fields_apply(
    consignment: Consignment, update: TrackingUpdate, *, source: str, applied: bool
) -> None:
    fields: dict[str, Any] = {"updated_at": timezone.now()}
    if consignment_id_provisional(consignment.consignment_id) and not (
        consignment_id_provisional(update.consignment_id)
    ):
        fields["consignment_id"] = update.consignment_id[:64]
        fields["tracking_code"] = consignment.tracking_code or update.consignment_id[:64]
        if consignment.state == C.BOOKING_UNCONFIRMED and not applied:
            fields["state"] = C.BOOKED  # the parcel exists: an unconfirmed booking no more
    if update.delivery_fee is not None:
        fields["delivery_fee"] = update.delivery_fee
    if source == "poll":
        fields["last_polled_at"] = timezone.now()
    if applied:
        fields["state"] = update.state
        fields["raw_status"] = update.raw_status[:64]
        if update.occurred_at is not None:
            fields["last_update_at"] = update.occurred_at
        if update.state in DELIVERED_STATES:
            collected = update.collected_amount
            if collected is None and update.state == C.DELIVERED:
                collected = consignment.cod_amount
            if collected is not None:
                fields["collected_amount"] = collected
    for name, value in fields.items():
        setattr(consignment, name, value)
    Consignment.objects.filter(pk=consignment.pk).update(**fields)


# --- the order follows -------------------------------------------------------------------


def update_note(consignment: Consignment, update: TrackingUpdate) -> str:
    code = consignment.tracking_code or consignment.consignment_id
    note = f"{courier_label(consignment.courier)} {code}: {update.raw_status or update.state}"
    if update.message:
        note += f" ({update.message[:300]})"
    if update.state == C.PARTIALLY_DELIVERED:
        collected = consignment.collected_amount or Decimal("0")
        note += (
            f". Partially delivered: {format_bdt(collected)} collected of "
            f"{format_bdt(consignment.cod_amount)}"
        )
    return note


def order_path(from_status: str, target: str) -> list[str]:
    """The statuses an order walks from `from_status` to `target`, forwards only ([] when
    it is already there or beyond)."""
    if target == S.RETURNED:
        if from_status == S.PROCESSING:
            return [S.SHIPPED, S.RETURNED]
        return [S.RETURNED] if transition_allowed(from_status, S.RETURNED) else []
    if from_status not in FULFILMENT_PATH or target not in FULFILMENT_PATH:
        return []
    start, end = FULFILMENT_PATH.index(from_status), FULFILMENT_PATH.index(target)
    steps = list(FULFILMENT_PATH[start + 1 : end + 1])
    if target == S.DELIVERED and S.OUT_FOR_DELIVERY in steps:
        steps.remove(S.OUT_FOR_DELIVERY)
    return steps


def order_follow(order: Order, consignment: Consignment, update: TrackingUpdate) -> list[str]:
    """Move the (locked) order after an applied update; the statuses it went through."""
    note = update_note(consignment, update)
    state = update.state
    if state in NOTE_ONLY:
        OrderStatusEvent.objects.create(
            order=order, from_status=order.status, to_status=order.status, note=note
        )
        return []
    if state == C.CANCELLED and order.status not in (S.PROCESSING, S.PAID):
        state = C.RETURNED  # cancelled after it left the shelf: the goods come back
    target = ORDER_TARGET.get(state)
    if target is None:
        return []
    steps = order_path(order.status, target)
    for index, step in enumerate(steps):
        last = index == len(steps) - 1
        order_transition(order=order, to_status=step, note=note, notify=last)
        order.status = step
    if state in DELIVERED_STATES:
        if order.status == S.DELIVERED:
            courier_cod_capture(order, consignment)
        else:  # e.g. cancelled by staff while the parcel was on the road
            logger.error(
                "%s delivered %s but order %s is %s",
                consignment.courier,
                consignment.consignment_id,
                order.number,
                order.status,
            )
    return steps


def courier_cod_capture(order: Order, consignment: Consignment) -> None:
    """The cash the courier collected, recorded on the order's COD payment (keyed by the
    consignment, so a replay adds nothing; nothing when staff already recorded it)."""
    if order.payment_method != PaymentProvider.COD:
        return
    collected = consignment.collected_amount
    if collected is None or collected <= 0:
        return
    from lib.payments.refunds import cod_mark_paid

    cod_mark_paid(
        order=order,
        actor_id=None,
        amount=collected,
        reference=f"courier-{consignment.courier}-{consignment.consignment_id}",
        source=consignment.courier,
    )
