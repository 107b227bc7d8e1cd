"""Couriers for staff and vendors: quote, book (one or many), follow, cancel and print
consignments with Pathao, Steadfast and RedX; staff record the couriers' payouts and see what
does not reconcile. /api/v1/admin/couriers/...

The couriers' status webhooks do not come here: each courier has its own function at
/api/webhooks/<courier>; the poll cron is /api/cron/couriers.
"""

from datetime import datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

from lib.runtime import make_app

from ninja import Field, Query, Router, Schema, Status

from db.models import ConsignmentState
from lib.couriers import payouts, reports, selectors, services
from lib.couriers.access import (
    RequireCourierConsole,
    consignment_for,
    console_vendor_ids,
    courier_order_get,
    courier_orders_get,
)
from lib.couriers.base import PayoutReport
from lib.i18n import request_language
from lib.money import Money
from lib.pagination import PageParams
from lib.schemas import ErrorDetailOut, ErrorOut, InputSchema

CourierName = Literal["pathao", "steadfast", "redx"]

console = Router(tags=["admin: couriers"], auth=RequireCourierConsole())
money_desk = Router(tags=["admin: couriers"], auth=RequireCourierConsole(staff_only=True))


# --- schemas -------------------------------------------------------------------------


class CourierQuoteQuery(Schema):
    order: str = Field(..., min_length=1, max_length=32, description="An order number")
    courier: CourierName


class CourierReconciliationQuery(Schema):
    courier: CourierName


class CourierQuoteOut(Schema):
    courier: CourierName
    order_number: str
    delivery_fee: Money
    cod_fee: Money
    total_fee: Money = Field(..., description="Delivery fee plus COD fee")
    cod_amount: Money = Field(..., description="Cash the courier would collect")
    weight_grams: int


class ConsignmentOut(Schema):
    id: UUID
    order_number: str
    order_status: str
    courier: CourierName
    consignment_id: str = Field(..., description="The courier's id; empty while booking")
    tracking_code: str
    tracking_url: str = Field(..., description="The courier's public tracking page")
    state: ConsignmentState
    raw_status: str = Field(..., description="The courier's own word for the state")
    delivery_fee: Money | None
    cod_amount: Money
    collected_amount: Money | None
    last_update_at: datetime | None
    last_polled_at: datetime | None
    created_at: datetime


class ConsignmentEventOut(Schema):
    source: Literal["booking", "webhook", "poll", "staff"]
    raw_status: str
    state: ConsignmentState
    occurred_at: datetime | None = Field(..., description="When the courier says it happened")
    collected_amount: Money | None
    message: str
    applied: bool = Field(..., description="False: stored only (older, replayed or unknown)")
    received_at: datetime


class ConsignmentDetailOut(ConsignmentOut):
    events: list[ConsignmentEventOut]


class ConsignmentPageOut(Schema):
    items: list[ConsignmentOut]
    count: int
    page: int
    page_size: int
    pages: int


class ConsignmentQuery(PageParams):
    courier: CourierName | None = None
    state: ConsignmentState | None = None
    order: str | None = Field(None, max_length=32, description="An order number")


class ConsignmentBookIn(InputSchema):
    order_number: str = Field(..., min_length=1, max_length=32)
    courier: CourierName


class ConsignmentBulkBookIn(InputSchema):
    order_numbers: list[str] = Field(..., min_length=1, max_length=100)
    courier: CourierName


class ConsignmentBulkResultOut(Schema):
    order_number: str
    ok: bool
    created: bool = Field(..., description="False: the order was already booked")
    consignment: ConsignmentOut | None
    error: ErrorDetailOut | None


class ConsignmentBulkBookOut(Schema):
    booked: int
    unconfirmed: int = Field(
        ...,
        description="Asked of the courier with its answer lost (state `booking_unconfirmed`): "
        "not sent again until the courier reports the parcel or staff release it",
    )
    failed: int
    results: list[ConsignmentBulkResultOut]


class ConsignmentCancelIn(InputSchema):
    at_courier: bool = Field(
        True,
        description="False: staff already cancelled it in the courier's panel (Pathao and "
        "Steadfast publish no cancel API); it is only recorded here",
    )


class ConsignmentLabelOut(Schema):
    courier: CourierName
    order_number: str
    consignment_id: str
    tracking_code: str
    tracking_url: str
    recipient_name: str
    recipient_phone: str
    recipient_address: str
    district: str
    area: str
    cod_amount: Money = Field(..., description="Cash to collect from the recipient")
    item_count: int
    weight_grams: int
    description: str


class CourierPayoutLineIn(InputSchema):
    consignment_id: str = Field(..., min_length=1, max_length=64)
    amount: str = Field(..., pattern=r"^\d{1,10}(\.\d{1,2})?$", examples=["1250.00"])


class CourierPayoutIn(InputSchema):
    courier: CourierName
    reference: str = Field(..., min_length=1, max_length=128)
    amount: str = Field(..., pattern=r"^\d{1,10}(\.\d{1,2})?$", examples=["12500.00"])
    paid_at: datetime | None = None
    lines: list[CourierPayoutLineIn] = Field(default_factory=list, max_length=1000)


class CourierPayoutLineOut(Schema):
    consignment_id: str
    known: bool = Field(..., description="Whether the consignment is one of ours")
    amount: Money


class CourierPayoutOut(Schema):
    id: UUID
    courier: CourierName
    reference: str
    amount: Money
    paid_at: datetime | None
    lines: list[CourierPayoutLineOut]
    created_at: datetime


class CourierPayoutPageOut(Schema):
    items: list[CourierPayoutOut]
    count: int
    page: int
    page_size: int
    pages: int


class CourierPayoutQuery(PageParams):
    courier: CourierName | None = None


class CourierPayoutFetchIn(InputSchema):
    courier: CourierName


class CourierPayoutFetchOut(Schema):
    fetched: int
    recorded: int


class ReconciliationUnpaidOut(Schema):
    order_number: str
    consignment_id: str
    collected: Money
    delivered_at: datetime | None


class ReconciliationMismatchOut(Schema):
    payout_reference: str
    consignment_id: str
    order_number: str
    collected: Money
    paid_out: Money


class ReconciliationUnknownOut(Schema):
    payout_reference: str
    consignment_id: str
    paid_out: Money


class CourierReconciliationOut(Schema):
    courier: CourierName
    collected_total: Money = Field(..., description="Cash collected on delivered consignments")
    paid_out_total: Money = Field(..., description="Every payout recorded for the courier")
    unpaid: list[ReconciliationUnpaidOut] = Field(
        ..., description="Delivered, cash collected, in no payout"
    )
    mismatched: list[ReconciliationMismatchOut] = Field(
        ..., description="Paid out other than collected"
    )
    unknown: list[ReconciliationUnknownOut] = Field(
        ..., description="Payout lines naming no consignment"
    )


def consignment_answer(request, consignment) -> dict:
    return selectors.consignment_out(consignment, request_language(request))


# --- consignments --------------------------------------------------------------------


@console.get("/quote", response=CourierQuoteOut)
def quote(request, query: Query[CourierQuoteQuery]):
    """What `courier` would charge to carry the order's parcel (Steadfast publishes no price
    API: its quote is the configured tariff)."""
    order = courier_order_get(request, query.order)
    return reports.quote_out(order=order, courier=query.courier, language=request_language(request))


@console.post(
    "/consignments",
    response={200: ConsignmentOut, 201: ConsignmentOut, 202: ConsignmentOut, 409: ErrorOut},
)
def book(request, payload: ConsignmentBookIn):
    """Book a packed (processing) order with a courier. Idempotent: booking it again (a
    retry, a double click) answers 200 with the same consignment (state `booking` while the
    first request is still waiting for the courier). A failure the courier certainly did not
    act on books nothing: 503 `courier_unavailable` (try again), 409 `courier_refused`.

    202 with state `booking_unconfirmed`: the courier was asked but its answer was lost (a
    timeout or 5xx), so the parcel may exist. Booking again sends nothing to the courier: it
    answers 202 until the booking is settled (to `booked`) by the courier's webhook naming
    the order (Pathao, RedX) or a look-up by order number (Steadfast, also on refresh and the
    poll), or until staff check the courier's panel and release it
    (`POST /consignments/{id}/release`). 409 `consignment_exists` when the order is on the
    road with another courier."""
    order = courier_order_get(request, payload.order_number.strip())
    outcome = services.consignment_book(
        order=order, courier=payload.courier, actor_id=request.auth.user_id
    )
    consignment = selectors.consignment_get(consignment_pk=outcome.consignment.pk, vendor_ids=None)
    status = 202 if outcome.unconfirmed else 201 if outcome.created else 200
    return Status(status, consignment_answer(request, consignment))


@console.post("/consignments/bulk", response=ConsignmentBulkBookOut)
def book_bulk(request, payload: ConsignmentBulkBookIn):
    """Book many packed orders with one courier; each order gets its own result (one
    failure stops nothing). Orders the caller may not ship answer `not_found`; a result whose
    consignment is `booking_unconfirmed` is counted in `unconfirmed` (see booking one)."""
    numbers = [number.strip() for number in payload.order_numbers]
    orders = courier_orders_get(request, numbers)
    results = services.consignments_book_bulk(
        numbers=numbers, courier=payload.courier, actor_id=request.auth.user_id, orders=orders
    )
    return reports.bulk_out(results, request_language(request))


@console.get("/consignments", response=ConsignmentPageOut)
def list_consignments(request, query: Query[ConsignmentQuery]):
    """Consignments, newest first: every one for staff, a vendor's own orders for its
    members. Filter by courier, state or order number."""
    return selectors.consignment_list(
        vendor_ids=console_vendor_ids(request),
        params=query,
        language=request_language(request),
        courier=query.courier,
        state=query.state,
        order_number=query.order,
    )


@console.get("/consignments/{consignment_id}", response=ConsignmentDetailOut)
def get_consignment(request, consignment_id: UUID):
    """One consignment with every courier event, oldest first (`applied` false: stored
    only: a replay of an older state, or a status we do not know)."""
    consignment = consignment_for(request, str(consignment_id))
    return selectors.consignment_detail(consignment, request_language(request))


@console.post(
    "/consignments/{consignment_id}/cancel", response={200: ConsignmentOut, 409: ErrorOut}
)
def cancel(request, consignment_id: UUID, payload: ConsignmentCancelIn | None = None):
    """Cancel a consignment the courier has not picked up; the order stays processing and
    can be booked again. 409 `courier_unsupported` when the courier has no cancel API
    (cancel in its panel, then send `at_courier: false`)."""
    consignment = consignment_for(request, str(consignment_id))
    cancelled = services.consignment_cancel(
        consignment=consignment,
        actor_id=request.auth.user_id,
        at_courier=payload.at_courier if payload else True,
    )
    return consignment_answer(
        request, selectors.consignment_get(consignment_pk=cancelled.pk, vendor_ids=None)
    )


@console.post(
    "/consignments/{consignment_id}/refresh", response={200: ConsignmentOut, 409: ErrorOut}
)
def refresh(request, consignment_id: UUID):
    """Ask the courier where the parcel is now and apply its answer (as the poll cron
    does). An unconfirmed booking is looked up by order number where the courier can
    (Steadfast); 409 `courier_booking_unconfirmed` while it stays unconfirmed."""
    consignment = consignment_for(request, str(consignment_id))
    services.consignment_refresh(consignment=consignment)
    return consignment_answer(
        request, selectors.consignment_get(consignment_pk=consignment.pk, vendor_ids=None)
    )


@console.get("/consignments/{consignment_id}/label", response=ConsignmentLabelOut)
def label(request, consignment_id: UUID):
    """What to print on the parcel: recipient, cash to collect, tracking code and link."""
    consignment = consignment_for(request, str(consignment_id))
    return reports.label_out(consignment, request_language(request))


@money_desk.post(
    "/consignments/{consignment_id}/release", response={200: ConsignmentOut, 409: ErrorOut}
)
def release(request, consignment_id: UUID):
    """Staff only: close a `booking_unconfirmed` booking after checking in the courier's
    panel that it made no parcel for the order; the order can then be booked again. 409
    `consignment_not_unconfirmed` for any other state (a webhook may have confirmed it)."""
    consignment = consignment_for(request, str(consignment_id))
    released = services.consignment_release(consignment=consignment, actor_id=request.auth.user_id)
    return consignment_answer(
        request, selectors.consignment_get(consignment_pk=released.pk, vendor_ids=None)
    )


# --- payouts and reconciliation (staff) ---------------------------------------------------


@money_desk.get("/payouts", response=CourierPayoutPageOut)
def list_payouts(request, query: Query[CourierPayoutQuery]):
    """The couriers' payouts of collected cash, newest first, with their lines."""
    return reports.payout_list(
        courier=query.courier, params=query, language=request_language(request)
    )


@money_desk.post("/payouts", response={200: CourierPayoutOut, 201: CourierPayoutOut, 409: ErrorOut})
def record_payout(request, payload: CourierPayoutIn):
    """Record a payout from the courier's statement, once per (courier, reference): a
    repeat adds only lines not recorded yet (200)."""
    report = PayoutReport(
        reference=payload.reference.strip(),
        paid_at=payload.paid_at,
        amount=Decimal(payload.amount),
        lines=tuple((line.consignment_id.strip(), Decimal(line.amount)) for line in payload.lines),
        raw={"source": "staff"},
    )
    payout, created = payouts.courier_payout_record(
        courier=payload.courier, report=report, actor_id=request.auth.user_id
    )
    answer = reports.payout_get(payout.pk, request_language(request))
    return Status(201 if created else 200, answer)


@money_desk.post("/payouts/fetch", response={200: CourierPayoutFetchOut, 409: ErrorOut})
def fetch_payouts(request, payload: CourierPayoutFetchIn):
    """Ask the courier for its payouts and record new ones (409 `courier_unsupported` for
    couriers that publish none)."""
    return payouts.courier_payouts_fetch(courier=payload.courier)


@money_desk.get("/reconciliation", response=CourierReconciliationOut)
def reconciliation(request, query: Query[CourierReconciliationQuery]):
    """What does not add up between the cash the courier collected and what it paid out."""
    return reports.reconciliation_out(courier=query.courier, language=request_language(request))


app = make_app(
    "couriers",
    [("/admin/couriers", console), ("/admin/couriers", money_desk)],
    title="Zest Store couriers",
)
