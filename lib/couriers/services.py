"""Booking, quoting, cancelling and refreshing consignments.

Booking follows the payments' rule (lib/payments/starts.py): the consignment is claimed in the
database (order row locked, state `booking`) before the courier hears of it, the courier is
called outside any transaction, and its answer is recorded in a second short transaction. A
second booking of the order (a retry, a double click, a concurrent request) gets the same
consignment. A failure where the courier certainly did nothing (connection refused, a 4xx
refusal) deletes the claim, so nothing is half-written and staff can book again. A failure
after the courier may have acted (read timeout, 5xx: `CourierError.outcome_unknown`) keeps the
claim as `booking_unconfirmed`: the parcel may exist, so no create is sent for the order again
until it is settled: found by our order number at the courier (`find_by_order`, Steadfast) on
the next booking attempt, refresh or poll; filled in by the courier's webhook naming our order
number (Pathao `order.created`, RedX); or released by staff who checked the courier's panel
(`consignment_release`). A claim whose courier call never came back (the instance died) is
unconfirmed too after COURIER_BOOKING_STALE_SECONDS, and settled the same way.
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
from lib.couriers.base import Booking, Courier, CourierError, FeeQuote, Parcel, TrackingUpdate
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

    @property
    def unconfirmed(self) -> bool:
        """The courier was asked and its answer lost: the parcel may or may not exist."""
        return self.consignment.state == C.BOOKING_UNCONFIRMED


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
    """Under the order's row lock: the order's live consignment (created=False; a `booking`
    claim whose instance died is made `booking_unconfirmed`: its create may have reached the
    courier), or a new `booking` one this caller must send (created=True)."""
    with transaction.atomic():
        locked = Order.objects.select_for_update(of=("self",)).get(pk=order.pk)
        live = Consignment.objects.filter(order=locked).exclude(state=C.CANCELLED).first()
        if live is not None:
            if live.courier != courier:
                raise Conflict(
                    "consignment_exists",
                    fields={"courier": [live.courier], "consignment_id": [live.consignment_id]},
                )
            if booking_stale(live):  # its create may have reached the courier: unconfirmed
                live.state = C.BOOKING_UNCONFIRMED
                live.raw_status = "no answer"
                live.booked_by_id = actor_id
                live.save(update_fields=["state", "raw_status", "booked_by", "updated_at"])
            return BookOutcome(live, created=False)
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
    A failure the courier certainly did not act on releases the claim and answers 503 (try
    again) or 409 (refused); one it may have acted on keeps it `booking_unconfirmed` (see the
    module docstring). A repeat on an unconfirmed booking sends no create: it asks the courier
    for the order's parcel where the courier can say (`find_by_order`), else answers it as is.
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
        if not claimed.unconfirmed:
            return claimed
        settled, absent = unconfirmed_settle(claimed.consignment, adapter)
        if not absent:
            return BookOutcome(settled, created=False)
        # The courier has no parcel for the order: one caller takes the claim and sends it.
        taken = Consignment.objects.filter(pk=settled.pk, state=C.BOOKING_UNCONFIRMED).update(
            state=C.BOOKING, updated_at=timezone.now()
        )
        if not taken:
            return BookOutcome(Consignment.objects.get(pk=settled.pk), created=False)
    return booking_send(claimed.consignment, adapter, parcel)


def booking_send(consignment: Consignment, adapter: Courier, parcel: Parcel) -> BookOutcome:
    """Ask the courier to create the claimed parcel and record its answer (see
    `consignment_book`)."""
    try:
        booking = adapter.book(parcel=parcel)
    except CourierError as error:
        logger.warning(
            "booking %s with %s failed: %s (outcome unknown: %s)",
            parcel.merchant_order_id,
            adapter.name,
            error.code,
            error.outcome_unknown,
        )
        if not error.outcome_unknown:
            consignment_claim_release(consignment)
            raise courier_failed(error, adapter.name) from error
        return BookOutcome(booking_unconfirm(consignment, error), created=True)
    return BookOutcome(booking_record(consignment, booking), created=True)


def booking_unconfirm(consignment: Consignment, error: CourierError) -> Consignment:
    """The courier was asked and did not say what it did: the claim stays, unconfirmed (left
    as it is when a webhook filled it in meanwhile)."""
    now = timezone.now()
    with transaction.atomic():
        locked = Consignment.objects.select_for_update().get(pk=consignment.pk)
        if locked.state != C.BOOKING:
            return locked
        locked.state = C.BOOKING_UNCONFIRMED
        locked.raw_status = "no answer"
        locked.save(update_fields=["state", "raw_status", "updated_at"])
        ConsignmentEvent.objects.create(
            consignment=locked,
            source="booking",
            raw_status="no answer",
            state=C.BOOKING_UNCONFIRMED,
            occurred_at=now,
            message=str(error)[:2000],
            applied=True,
            dedupe_key=f"unconfirmed:{locked.pk}:{now.timestamp():.6f}"[:64],
            payload={"code": error.code},
        )
    return locked


def unconfirmed_settle(consignment: Consignment, adapter: Courier) -> tuple[Consignment, bool]:
    """Ask a courier that can look a parcel up by our order number about an unconfirmed
    booking: (the consignment, booked when found; absent), `absent` True only when the
    courier certainly has no parcel for the order. Couriers without the look-up wait for
    their webhook or staff's release."""
    finder = getattr(adapter, "find_by_order", None)
    if finder is None or consignment.state != C.BOOKING_UNCONFIRMED:
        return consignment, False
    number = Order.objects.values_list("number", flat=True).get(pk=consignment.order_id)
    try:
        found = finder(merchant_order_id=number)
    except CourierError as error:
        logger.warning("settling %s with %s failed: %s", number, adapter.name, error.code)
        return consignment, False
    if found is None:
        return consignment, True
    return booking_record(consignment, found), False


def consignment_release(*, consignment: Consignment, actor_id: str | None) -> Consignment:
    """Staff checked the courier's panel and found no parcel for an unconfirmed booking: it is
    closed (kept, cancelled, with a staff event) and the order may be booked again."""
    with transaction.atomic():
        locked = Consignment.objects.select_for_update().get(pk=consignment.pk)
        if locked.state != C.BOOKING_UNCONFIRMED:
            raise Conflict("consignment_not_unconfirmed", fields={"state": [locked.state]})
        locked.state = C.CANCELLED
        locked.raw_status = "released"
        locked.save(update_fields=["state", "raw_status", "updated_at"])
        ConsignmentEvent.objects.create(
            consignment=locked,
            source="staff",
            raw_status="released",
            state=C.CANCELLED,
            occurred_at=timezone.now(),
            message="released by staff: no parcel at the courier",
            applied=True,
            dedupe_key=f"release:{locked.pk}",
            payload={"actor_id": str(actor_id) if actor_id else None},
        )
    return locked


def booking_record(consignment: Consignment, booking: Booking) -> Consignment:
    with transaction.atomic():
        locked = Consignment.objects.select_for_update().get(pk=consignment.pk)
        if locked.state in (C.BOOKING, C.BOOKING_UNCONFIRMED):
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
    """Ask the courier where the parcel is now and apply the answer (a poll). An unconfirmed
    booking is looked up by our order number where the courier can (else 409
    `courier_booking_unconfirmed`)."""
    adapter = courier_get(consignment.courier)
    if consignment.state == C.BOOKING_UNCONFIRMED:
        settled, _absent = unconfirmed_settle(consignment, adapter)
        if settled.state == C.BOOKING_UNCONFIRMED:
            raise Conflict(
                "courier_booking_unconfirmed",
                fields={"courier": [consignment.courier], "consignment": [str(consignment.pk)]},
            )
        return ApplyOutcome(settled, None, applied=True)
    if not consignment.consignment_id:
        raise Conflict("consignment_booking_in_progress")
    try:
        update = adapter.track(consignment_id=consignment.consignment_id)
    except CourierError as error:
        Consignment.objects.filter(pk=consignment.pk).update(last_polled_at=timezone.now())
        raise courier_failed(error, consignment.courier) from error
    outcome = consignment_update_apply(courier=consignment.courier, update=update, source="poll")
    Consignment.objects.filter(pk=consignment.pk).update(last_polled_at=timezone.now())
    return outcome
