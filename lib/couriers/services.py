"""Booking, quoting, cancelling and refreshing consignments.

Booking follows the payments' rule (lib/payments/starts.py): the consignment is claimed in the
database (order row locked, state `booking`) before the courier hears of it, the courier is
called outside any transaction, and its answer is recorded in a second short transaction. A
second booking of the order (a retry, a double click, a concurrent request) gets the same
consignment; a courier failure deletes the claim, so nothing is half-written and staff can
book again. A claim whose courier call never came back (the instance died) may be taken over
after COURIER_BOOKING_STALE_SECONDS.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from db.models import Consignment, ConsignmentEvent, ConsignmentState, Order, OrderStatus
from lib.conf import courier_config
from lib.couriers.base import Booking, Courier, CourierError, FeeQuote, TrackingUpdate
from lib.couriers.parcels import parcel_from_order
from lib.couriers.registry import courier_for
from lib.couriers.tracking import ApplyOutcome, consignment_update_apply
from lib.errors import ApiError, Conflict

logger = logging.getLogger("zest.couriers")

C = ConsignmentState
# Staff book orders they have packed.
BOOKABLE = frozenset({OrderStatus.PROCESSING})
# A consignment the courier has not picked up yet may be cancelled.
CANCELLABLE = frozenset({C.BOOKED})


@dataclass(frozen=True, slots=True)
class BookOutcome:
    consignment: Consignment
    created: bool


def courier_failed(error: CourierError, courier: str) -> ApiError:
    """A courier's failure as our error: 503 when it may pass (timeout, 5xx), 409 when the
    courier has no API for it or refused."""
    fields = {"courier": [courier], "reason": [error.code, str(error)[:300]]}
    if error.code == "courier_unknown":
        return ApiError("courier_unknown", status=404, fields={"courier": [courier]})
    if error.code == "courier_unsupported":
        return Conflict("courier_unsupported", fields=fields)
    if error.retryable:
        return ApiError("courier_unavailable", status=503, fields=fields)
    return Conflict("courier_refused", fields=fields)


def courier_get(courier: str) -> Courier:
    """The adapter, or the API error that says why there is none."""
    try:
        return courier_for(courier)
    except CourierError as error:
        raise courier_failed(error, courier) from error


def courier_quote(*, order: Order, courier: str) -> FeeQuote:
    """What the courier would charge to carry the order's parcel."""
    adapter = courier_get(courier)
    try:
        return adapter.quote(parcel=parcel_from_order(order))
    except CourierError as error:
        raise courier_failed(error, courier) from error


# --- booking -----------------------------------------------------------------------------


def booking_stale(consignment: Consignment) -> bool:
    cutoff = timezone.now() - timedelta(seconds=courier_config.booking_stale_seconds)
    return consignment.state == C.BOOKING and consignment.updated_at < cutoff


def consignment_claim(
    order: Order, courier: str, *, cod_amount, actor_id: str | None
) -> BookOutcome:
    """Under the order's row lock: the order's live consignment (created=False), or a new
    `booking` one this caller must send (created=True)."""
    with transaction.atomic():
        locked = Order.objects.select_for_update(of=("self",)).get(pk=order.pk)
        live = Consignment.objects.filter(order=locked).exclude(state=C.CANCELLED).first()
        if live is not None:
            if live.courier != courier:
                raise Conflict(
                    "consignment_exists",
                    fields={"courier": [live.courier], "consignment_id": [live.consignment_id]},
                )
            if not booking_stale(live):
                return BookOutcome(live, created=False)
            live.booked_by_id = actor_id
            live.save(update_fields=["booked_by", "updated_at"])
            return BookOutcome(live, created=True)
        if locked.status not in BOOKABLE:
            raise Conflict("consignment_not_bookable", fields={"status": [locked.status]})
        claim = Consignment.objects.create(
            order=locked,
            courier=courier,
            state=C.BOOKING,
            cod_amount=cod_amount,
            booked_by_id=actor_id,
        )
    return BookOutcome(claim, created=True)


def consignment_claim_release(consignment: Consignment) -> None:
    """A booking the courier refused or never confirmed: gone, so staff may book again (kept
    as cancelled when a courier event already names it)."""
    try:
        with transaction.atomic():
            Consignment.objects.filter(pk=consignment.pk, state=C.BOOKING).delete()
    except ProtectedError:
        Consignment.objects.filter(pk=consignment.pk, state=C.BOOKING).update(
            state=C.CANCELLED, updated_at=timezone.now()
        )


def consignment_book(*, order: Order, courier: str, actor_id: str | None) -> BookOutcome:
    """Book `order` (processing) with `courier`, once: a repeat gets the same consignment.

    1. a short transaction (order row locked) claims the consignment (state `booking`);
    2. the courier is called outside any transaction;
    3. a short transaction records its id, tracking code and fee, and a `booking` event.
    A courier failure releases the claim and answers 503 (try again) or 409 (refused).
    """
    adapter = courier_get(courier)  # unknown courier: refused before any write
    parcel = parcel_from_order(order)
    try:
        claimed = consignment_claim(order, courier, cod_amount=parcel.cod_amount, actor_id=actor_id)
    except IntegrityError:  # a concurrent booking won the insert
        live = Consignment.objects.filter(order=order).exclude(state=C.CANCELLED).first()
        if live is None:
            raise
        return BookOutcome(live, created=False)
    if not claimed.created:
        return claimed
    try:
        booking = adapter.book(parcel=parcel)
    except CourierError as error:
        consignment_claim_release(claimed.consignment)
        logger.warning("booking %s with %s failed: %s", order.number, courier, error.code)
        raise courier_failed(error, courier) from error
    return BookOutcome(booking_record(claimed.consignment, booking), created=True)


def booking_record(consignment: Consignment, booking: Booking) -> Consignment:
    with transaction.atomic():
        locked = Consignment.objects.select_for_update().get(pk=consignment.pk)
        if locked.state == C.BOOKING:
            locked.state = C.BOOKED
            locked.raw_status = "booked"
        locked.consignment_id = booking.consignment_id[:64]
        locked.tracking_code = (booking.tracking_code or booking.consignment_id)[:64]
        if booking.delivery_fee is not None:
            locked.delivery_fee = booking.delivery_fee
        locked.save()
        ConsignmentEvent.objects.get_or_create(
            dedupe_key=f"booking:{locked.courier}:{locked.consignment_id}"[:64],
            defaults={
                "consignment": locked,
                "source": "booking",
                "raw_status": "booked",
                "state": C.BOOKED,
                "occurred_at": timezone.now(),
                "delivery_fee": booking.delivery_fee,
                "applied": True,
                "payload": booking.raw or {},
            },
        )
    return locked


@dataclass(frozen=True, slots=True)
class BulkResult:
    number: str
    consignment: Consignment | None
    created: bool = False
    error: ApiError | None = None


def consignments_book_bulk(
    *, numbers: list[str], courier: str, actor_id: str | None, orders: dict[str, Order]
) -> list[BulkResult]:
    """Book each order in turn (`orders`: the ones the caller may book, by number); one
    failure does not stop the others, each gets its own result."""
    results = []
    for number in dict.fromkeys(numbers):
        order = orders.get(number)
        if order is None:
            results.append(BulkResult(number, None, error=ApiError("not_found", status=404)))
            continue
        try:
            outcome = consignment_book(order=order, courier=courier, actor_id=actor_id)
        except ApiError as error:
            results.append(BulkResult(number, None, error=error))
            continue
        results.append(BulkResult(number, outcome.consignment, created=outcome.created))
    return results


# --- after booking -----------------------------------------------------------------------


def consignment_cancel(
    *, consignment: Consignment, actor_id: str | None, at_courier: bool = True
) -> Consignment:
    """Cancel a consignment not picked up yet; the order stays processing (book again).
    `at_courier=False` records a cancellation staff made in the courier's own panel (Pathao
    and Steadfast publish no cancel API: 409 `courier_unsupported` tells staff to do that)."""
    if consignment.state not in CANCELLABLE:
        raise Conflict("consignment_not_cancellable", fields={"state": [consignment.state]})
    if at_courier:
        adapter = courier_get(consignment.courier)
        try:
            adapter.cancel(consignment_id=consignment.consignment_id)
        except CourierError as error:
            raise courier_failed(error, consignment.courier) from error
    update = TrackingUpdate(
        consignment_id=consignment.consignment_id,
        merchant_order_id="",
        state="cancelled",
        raw_status="cancelled",
        occurred_at=timezone.now(),
        message="cancelled by staff" + ("" if at_courier else " in the courier's panel"),
        raw={"actor_id": actor_id, "at_courier": at_courier},
    )
    consignment_update_apply(courier=consignment.courier, update=update, source="staff")
    return Consignment.objects.get(pk=consignment.pk)


def consignment_refresh(*, consignment: Consignment) -> ApplyOutcome:
    """Ask the courier where the parcel is now and apply the answer (a poll)."""
    if not consignment.consignment_id:
        raise Conflict("consignment_booking_in_progress")
    adapter = courier_get(consignment.courier)
    try:
        update = adapter.track(consignment_id=consignment.consignment_id)
    except CourierError as error:
        Consignment.objects.filter(pk=consignment.pk).update(last_polled_at=timezone.now())
        raise courier_failed(error, consignment.courier) from error
    outcome = consignment_update_apply(courier=consignment.courier, update=update, source="poll")
    Consignment.objects.filter(pk=consignment.pk).update(last_polled_at=timezone.now())
    return outcome
