"""The couriers' core, service by service: what a courier's update does to a consignment and
its order (forward only, replays and late events harmless, unknown statuses stored, partial
delivery, cash on delivery recorded once), the parcel built from an order, and the payouts
and reconciliation figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from db.models import (
    Consignment,
    ConsignmentEvent,
    Order,
    OrderStatusEvent,
    Payment,
    PaymentEvent,
    Product,
)
from lib.couriers.base import PayoutReport, TrackingUpdate
from lib.couriers.parcels import parcel_from_order, weight_grams_of
from lib.couriers.payouts import courier_payout_record, courier_reconciliation
from lib.couriers.selectors import order_tracking
from lib.couriers.tracking import consignment_update_apply
from lib.orders.state import order_transition
from lib.payments.refunds import cod_mark_paid
from tests import factories
from tests.test_orders import make_order

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 12, 5, 6, 0, tzinfo=UTC)


def packed_order(**fields) -> Order:
    """A COD order (total 260) staff moved to processing."""
    fields.setdefault("shipping_snapshot", {"full_name": "Karim Ahmed", "phone": "+8801812345678"})
    order = make_order(status="placed", **fields)
    order_transition(order=order, to_status="processing")
    return order


def booked(order: Order, *, courier: str = "steadfast", cid: str = "1001") -> Consignment:
    return Consignment.objects.create(
        order=order,
        courier=courier,
        consignment_id=cid,
        tracking_code=f"TC{cid}",
        state="booked",
        cod_amount=order.total_amount,
    )


def update(
    consignment: Consignment, state: str, minutes: int | None = 0, **fields
) -> TrackingUpdate:
    return TrackingUpdate(
        consignment_id=consignment.consignment_id,
        merchant_order_id=fields.pop("merchant_order_id", ""),
        state=state,
        raw_status=fields.pop("raw_status", state),
        occurred_at=None if minutes is None else T0 + timedelta(minutes=minutes),
        **fields,
    )


def apply(consignment: Consignment, state: str, minutes: int | None = 0, **fields):
    return consignment_update_apply(
        courier=consignment.courier,
        update=update(consignment, state, minutes, **fields),
        source="webhook",
    )


def timeline(order: Order) -> list[tuple[str, str]]:
    events = OrderStatusEvent.objects.filter(order=order).order_by("created_at", "id")
    return list(events.values_list("from_status", "to_status"))


def captured(order: Order) -> list[Decimal]:
    events = PaymentEvent.objects.filter(payment__order=order, event_type="captured")
    return list(events.values_list("amount", flat=True))


def fresh(row):
    row.refresh_from_db()
    return row


# --- the order follows the parcel, forwards only -----------------------------------------


def test_a_parcel_moves_its_order_forward_and_late_or_replayed_news_changes_nothing():
    order = packed_order()
    consignment = booked(order)

    assert apply(consignment, "in_transit", 10).order_moves == ["shipped"]
    assert apply(consignment, "out_for_delivery", 20).order_moves == ["out_for_delivery"]
    delivered = apply(consignment, "delivered", 30, collected_amount=Decimal("260.00"))
    assert delivered.order_moves == ["delivered"]

    replay = apply(consignment, "delivered", 30, collected_amount=Decimal("260.00"))
    late = apply(consignment, "in_transit", 15, raw_status="late-in-transit")
    behind = apply(consignment, "picked_up", 40)  # newer clock, but behind delivered
    assert replay.duplicate and replay.event is None
    assert (late.applied, late.event.applied) == (False, False)
    assert not behind.applied and behind.order_moves == []

    assert fresh(order).status == "delivered"
    consignment = fresh(consignment)
    assert (consignment.state, consignment.last_update_at) == (
        "delivered",
        T0 + timedelta(minutes=30),
    )
    assert timeline(order)[-3:] == [
        ("processing", "shipped"),
        ("shipped", "out_for_delivery"),
        ("out_for_delivery", "delivered"),
    ]
    events = ConsignmentEvent.objects.filter(consignment=consignment)
    assert events.count() == 5  # the replay stored nothing
    assert captured(order) == [Decimal("260.00")]
    note = OrderStatusEvent.objects.filter(order=order, to_status="shipped").get().note
    assert note == "Steadfast TC1001: in_transit"


def test_delivered_without_earlier_news_walks_the_order_through_shipped_and_ships_its_stock():
    order = packed_order(quantity=2)
    product = order.items.get().product
    before = Product.objects.get(pk=product.pk)
    consignment = booked(order)

    outcome = apply(consignment, "delivered", 5)

    assert outcome.order_moves == ["shipped", "delivered"]
    assert timeline(order)[-2:] == [("processing", "shipped"), ("shipped", "delivered")]
    after = Product.objects.get(pk=product.pk)
    assert (after.quantity, after.allocated) == (before.quantity - 2, before.allocated - 2)
    # no amount said: the cash asked for is what was collected
    assert fresh(consignment).collected_amount == Decimal("260.00")
    assert captured(order) == [Decimal("260.00")]
    assert fresh(order).payment_status == "paid"


def test_a_partial_delivery_delivers_the_order_with_a_note_and_the_cash_collected():
    order = packed_order()
    consignment = booked(order, courier="pathao", cid="DL1")

    apply(consignment, "picked_up", 1)
    apply(consignment, "partially_delivered", 9, collected_amount=Decimal("100.00"))
    apply(consignment, "partially_delivered", 9, collected_amount=Decimal("100.00"))

    assert fresh(order).status == "delivered"
    note = OrderStatusEvent.objects.filter(order=order, to_status="delivered").get().note
    assert note.startswith("Pathao TC")
    assert "Partially delivered: ৳100.00 collected of ৳260.00" in note
    assert fresh(consignment).collected_amount == Decimal("100.00")
    payment = Payment.objects.get(order=order, provider="cod")
    assert payment.amount == Decimal("100.00")
    assert captured(order) == [Decimal("100.00")]


def test_cash_staff_already_recorded_is_not_recorded_again_by_the_courier():
    order = packed_order()
    consignment = booked(order)
    cod_mark_paid(order=order, actor_id=None)

    apply(consignment, "delivered", 5, collected_amount=Decimal("260.00"))

    assert fresh(order).status == "delivered"
    assert captured(order) == [Decimal("260.00")]


def test_a_prepaid_order_delivered_records_no_cash():
    order = packed_order(payment_method="bkash", payment_status="paid")
    consignment = booked(order)
    apply(consignment, "delivered", 5, collected_amount=Decimal("0"))
    assert fresh(order).status == "delivered"
    assert not Payment.objects.filter(order=order, provider="cod").exists()


def test_an_unknown_status_is_stored_and_changes_nothing():
    order = packed_order()
    consignment = booked(order, courier="redx", cid="20A312")

    outcome = apply(consignment, "unknown", 3, raw_status="agent-area-change")

    assert outcome.event is not None and not outcome.applied
    assert outcome.event.raw_status == "agent-area-change"
    assert (fresh(order).status, fresh(consignment).state) == ("processing", "booked")


def test_a_failed_delivery_or_a_hold_is_a_timeline_note_only():
    order = packed_order()
    consignment = booked(order)
    apply(consignment, "out_for_delivery", 1)

    apply(consignment, "delivery_failed", 2, message="Customer not reachable")
    apply(consignment, "on_hold", 3)

    assert fresh(order).status == "out_for_delivery"
    notes = OrderStatusEvent.objects.filter(
        order=order, from_status="out_for_delivery", to_status="out_for_delivery"
    ).order_by("created_at", "id")
    assert [event.note for event in notes] == [
        "Steadfast TC1001: delivery_failed (Customer not reachable)",
        "Steadfast TC1001: on_hold",
    ]
    apply(consignment, "delivered", 4)  # a later attempt succeeds
    assert fresh(order).status == "delivered"


def test_a_return_moves_the_order_to_returned():
    order = packed_order()
    consignment = booked(order)
    apply(consignment, "in_transit", 1)
    apply(consignment, "returning", 2)
    apply(consignment, "returned", 3)
    assert fresh(order).status == "returned"
    assert timeline(order)[-1] == ("shipped", "returned")
    assert captured(order) == []


def test_cancelled_before_pickup_keeps_the_order_processing_and_it_can_be_booked_again():
    order = packed_order()
    consignment = booked(order)

    apply(consignment, "cancelled", 1)

    assert (fresh(order).status, fresh(consignment).state) == ("processing", "cancelled")
    assert order_tracking(order) is None
    again = booked(order, cid="1002")  # the one-live-per-order rule lets it
    assert order_tracking(order).tracking_code == again.tracking_code


def test_cancelled_after_it_left_the_shelf_brings_the_goods_back():
    order = packed_order()
    consignment = booked(order)
    apply(consignment, "in_transit", 1)
    apply(consignment, "cancelled", 2)  # Steadfast: "cancelled (returned)"
    assert fresh(order).status == "returned"


def test_an_update_for_a_consignment_we_do_not_know_is_left_alone():
    outcome = consignment_update_apply(
        courier="pathao",
        update=TrackingUpdate("NOPE", "ZS-NOPE", "delivered", "order.delivered", T0),
        source="webhook",
    )
    assert (outcome.consignment, outcome.event) == (None, None)


def test_a_booking_still_without_its_id_is_found_by_our_order_number():
    order = packed_order()
    claim = Consignment.objects.create(order=order, courier="pathao", state="booking")
    created = TrackingUpdate(
        consignment_id="DL9",
        merchant_order_id=order.number,
        state="booked",
        raw_status="order.created",
        occurred_at=T0,
        delivery_fee=Decimal("60"),
    )

    consignment_update_apply(courier="pathao", update=created, source="webhook")

    claim = fresh(claim)
    assert (claim.consignment_id, claim.tracking_code, claim.state) == ("DL9", "DL9", "booked")
    assert claim.delivery_fee == Decimal("60.00")


def test_a_booking_recovered_by_invoice_learns_its_id_from_the_first_update_naming_it():
    order = packed_order()
    recovered = booked(order, cid=f"invoice:{order.number}")  # Steadfast's invoice look-up
    delivered = TrackingUpdate(
        consignment_id="1001",
        merchant_order_id=order.number,
        state="delivered",
        raw_status="delivered",
        occurred_at=T0,
        collected_amount=Decimal("260.00"),
    )

    outcome = consignment_update_apply(courier="steadfast", update=delivered, source="webhook")

    recovered = fresh(recovered)
    assert outcome.consignment.pk == recovered.pk and outcome.applied
    assert (recovered.consignment_id, recovered.state) == ("1001", "delivered")
    assert fresh(order).status == "delivered"
    assert captured(order) == [Decimal("260.00")]


def test_a_poll_without_a_time_is_applied_and_a_repeat_poll_is_one_event():
    order = packed_order()
    consignment = booked(order)
    for _ in range(2):
        consignment_update_apply(
            courier="steadfast", update=update(consignment, "in_transit", None), source="poll"
        )
    consignment = fresh(consignment)
    assert consignment.state == "in_transit" and consignment.last_polled_at is not None
    assert consignment.events.count() == 1
    assert fresh(order).status == "shipped"


# --- the parcel --------------------------------------------------------------------------


def test_the_parcel_of_a_cod_order():
    order = packed_order(
        shipping_snapshot={
            "full_name": "Karim Ahmed",
            "phone": "+8801812345678",
            "address_line1": "Flat 3B, Road 7",
            "area": "Bank Colony",
            "upazila": "Savar",
            "district": "Dhaka",
            "postal_code": "1340",
        }
    )
    parcel = parcel_from_order(order)
    assert parcel.merchant_order_id == order.number
    assert parcel.recipient_phone == "01812345678"
    assert parcel.recipient_address == "Flat 3B, Road 7, Bank Colony, Savar, Dhaka, 1340"
    assert (parcel.district, parcel.area) == ("Dhaka", "Savar")
    assert (parcel.cod_amount, parcel.declared_value) == (Decimal("260.00"), Decimal("260.00"))
    assert (parcel.weight_grams, parcel.item_count) == (500, 2)  # the default weight


def test_a_paid_order_collects_nothing_and_weight_variations_weigh_the_parcel():
    order = packed_order(payment_method="bkash", payment_status="paid")
    item = order.items.get()
    item.variation = factories.variation(
        product=item.product, value="1.5 kg", variation_type="weight"
    )
    item.save()
    parcel = parcel_from_order(order)
    assert parcel.cod_amount == Decimal("0.00")
    assert parcel.weight_grams == 3000  # 2 x 1.5 kg
    assert [weight_grams_of(v) for v in ("500g", "2 KG", "250 gm", "large", "")] == [
        500,
        2000,
        250,
        None,
        None,
    ]


# --- payouts and reconciliation ----------------------------------------------------------


def test_payouts_from_pathao_invoices_and_staff_statements_reconcile_against_the_cash():
    first, second, third = (packed_order() for _ in range(3))
    a = booked(first, courier="pathao", cid="DLA")
    b = booked(second, courier="pathao", cid="DLB")
    c = booked(third, courier="pathao", cid="DLC")
    for consignment, cash in ((a, "260.00"), (b, "260.00"), (c, "200.00")):
        apply(consignment, "delivered", 5, collected_amount=Decimal(cash))

    # Pathao's order.paid for a, twice (a replay): one payout of 260
    for _ in range(2):
        apply(a, "paid_out", 60, raw_status="order.paid", raw={"invoice_id": "INV-7"})
    # a statement typed in by staff: b paid 250 (not 260), and a parcel we never booked
    report = PayoutReport(
        reference="STMT-1",
        paid_at=T0,
        amount=Decimal("300.00"),
        lines=(("DLB", Decimal("250.00")), ("DLX", Decimal("50.00"))),
    )
    payout, created = courier_payout_record(courier="pathao", report=report)
    again, created_again = courier_payout_record(courier="pathao", report=report)
    assert (created, created_again, again.pk) == (True, False, payout.pk)

    invoice = fresh(a).payout_lines.get().payout
    assert (invoice.reference, invoice.amount) == ("INV-7", Decimal("260.00"))
    assert fresh(a).state == "delivered"  # a payout is not a move of the parcel

    report = courier_reconciliation(courier="pathao")
    assert [(row["order_number"], row["collected"]) for row in report.unpaid] == [
        (third.number, Decimal("200.00"))
    ]
    assert [
        (row["consignment_id"], row["order_number"], row["collected"], row["paid_out"])
        for row in report.mismatched
    ] == [("DLB", second.number, Decimal("260.00"), Decimal("250.00"))]
    assert [(row["consignment_id"], row["paid_out"]) for row in report.unknown] == [
        ("DLX", Decimal("50.00"))
    ]
    assert (report.collected_total, report.paid_out_total) == (
        Decimal("720.00"),
        Decimal("560.00"),
    )
    assert courier_reconciliation(courier="steadfast").unpaid == []


def test_news_about_an_order_staff_cancelled_is_stored_and_moves_nothing():
    order = packed_order()
    consignment = booked(order)
    order_transition(order=order, to_status="cancelled")

    outcome = apply(consignment, "delivered", 5, collected_amount=Decimal("260.00"))

    assert outcome.event is not None and outcome.order_moves == []
    assert fresh(order).status == "cancelled"
    assert captured(order) == []


def test_a_state_outside_the_vocabulary_is_stored_as_unknown():
    order = packed_order()
    consignment = booked(order)
    outcome = apply(consignment, "teleported", 5)  # an adapter's slip
    assert (outcome.event.state, outcome.applied) == ("unknown", False)
    assert fresh(consignment).state == "booked"
