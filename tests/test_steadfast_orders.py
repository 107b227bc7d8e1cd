"""Steadfast with orders: a COD order booked through the admin API, moved by the simulator's
webhooks to our real /api/webhooks/steadfast function (served over HTTP): delivered, partly
delivered, cancelled before and after it left; forged, replayed, late and unknown webhooks;
a poll; the simulator's payout fetched and reconciled, a differing line shown."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from db.models import Consignment, ConsignmentEvent, Order, Payment
from devtools.courier_sims import steadfast as sim_module
from devtools.courier_sims.steadfast import start_steadfast_simulator
from tests import payment_shop
from tests.courier_shop import (
    STEADFAST_TRACKING,
    cod_order_processing,
    consignment_booked,
    couriers_admin,
    parcel_advance,
    simulator_posting_to_us,
    steadfast_config_set,
    timeline,
)

people = payment_shop.people  # fixture
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def running():
    with simulator_posting_to_us("steadfast", start_steadfast_simulator) as server:
        yield server


@pytest.fixture
def sim(running, kv, monkeypatch):
    running.reset()
    steadfast_config_set(monkeypatch, running.url)
    return running


def book(order: Order, staff: dict) -> Consignment:
    """Staff book the order with Steadfast through the admin API."""
    return consignment_booked(order, staff, "steadfast", STEADFAST_TRACKING)


def advance(sim, consignment: Consignment, status: str, **extra) -> dict:
    return parcel_advance(sim, consignment.consignment_id, status, **extra)


def post_webhook(sim, payload: dict, token: str = sim_module.WEBHOOK_TOKEN) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(sim.webhook_url, json=payload, headers=headers, timeout=10)


def test_a_cod_order_travels_with_steadfast_to_delivered_and_its_cash_is_captured(
    sim, server_key, people
):
    _customer, staff = people
    order = cod_order_processing(server_key, staff)
    consignment = book(order, staff)
    parcel = sim.parcels[int(consignment.consignment_id)]
    assert consignment.state == "booked"
    assert consignment.tracking_code == parcel["tracking_code"]
    assert (parcel["invoice"], Decimal(str(parcel["cod_amount"]))) == (
        order.number,
        order.total_amount,
    )

    moved = advance(sim, consignment, "pending")
    assert moved["status"] == 200
    assert moved["answer"] == '{"status": "success", "message": "Webhook received successfully."}'
    note = httpx.post(
        f"{sim.url}/__sim/parcels/{consignment.consignment_id}/message",
        json={"message": "Reached the Savar hub"},
        timeout=15,
    ).json()
    assert note["status"] == 200
    order.refresh_from_db()
    assert order.status == "shipped"  # pending moved it; the free-text message did not

    sent = advance(sim, consignment, "delivered")
    assert sent["payload"]["status"] == "Delivered"  # capitalised, as Steadfast's doc sends it
    order.refresh_from_db()
    consignment.refresh_from_db()
    assert order.status == "delivered"
    assert timeline(order)[-2:] == [("processing", "shipped"), ("shipped", "delivered")]
    assert (consignment.state, consignment.raw_status) == ("delivered", "delivered")
    assert consignment.collected_amount == order.total_amount
    assert consignment.delivery_fee == Decimal("80.00")  # the webhook's delivery_charge (Dhaka)
    payment = Payment.objects.get(order=order, provider="cod")
    assert (payment.status, payment.amount) == ("captured", order.total_amount)
    events = ConsignmentEvent.objects.filter(consignment=consignment)
    assert list(events.order_by("created_at", "id").values_list("raw_status", "state")) == [
        ("booked", "booked"),
        ("pending", "in_transit"),
        ("tracking_update", "unknown"),
        ("delivered", "delivered"),
    ]
    assert events.get(raw_status="tracking_update").message == "Reached the Savar hub"

    # the same webhook again, then an older one arriving late: stored at most once, harmless
    assert post_webhook(sim, sent["payload"]).status_code == 200
    late = advance(sim, consignment, "pending", message="Back at the hub (sent late)")
    assert late["status"] == 200
    order.refresh_from_db()
    consignment.refresh_from_db()
    assert (order.status, consignment.state) == ("delivered", "delivered")
    assert events.count() == 5
    assert events.filter(raw_status="pending", applied=False).count() == 1
    assert Payment.objects.filter(order=order).count() == 1


def test_a_partial_delivery_captures_the_cash_the_webhook_reports(sim, server_key, people):
    _customer, staff = people
    order = cod_order_processing(server_key, staff)
    consignment = book(order, staff)
    advance(sim, consignment, "partial_delivered_approval_pending", cod_amount="300")
    advance(sim, consignment, "partial_delivered", cod_amount="300")
    order.refresh_from_db()
    consignment.refresh_from_db()
    assert order.status == "delivered"
    assert (consignment.state, consignment.collected_amount) == (
        "partially_delivered",
        Decimal("300.00"),
    )
    payment = Payment.objects.get(order=order, provider="cod")
    assert (payment.status, payment.amount) == ("captured", Decimal("300.00"))


def test_cancelled_before_pickup_keeps_the_order_and_after_pickup_returns_it(
    sim, server_key, people
):
    _customer, staff = people
    kept = cod_order_processing(server_key, staff)
    unsent = book(kept, staff)
    advance(sim, unsent, "cancelled")
    kept.refresh_from_db()
    unsent.refresh_from_db()
    assert (kept.status, unsent.state) == ("processing", "cancelled")
    again = book(kept, staff)  # booked anew: Steadfast never takes an invoice twice
    assert again.pk != unsent.pk and again.consignment_id != unsent.consignment_id
    assert sim.parcels[int(again.consignment_id)]["invoice"] == f"{kept.number}_r2"
    advance(sim, again, "delivered")
    kept.refresh_from_db()
    assert kept.status == "delivered"

    back = cod_order_processing(server_key, staff)
    sent = book(back, staff)
    advance(sim, sent, "pending")
    advance(sim, sent, "cancelled_approval_pending")
    advance(sim, sent, "cancelled")
    back.refresh_from_db()
    sent.refresh_from_db()
    assert back.status == "returned"
    assert not Payment.objects.filter(order=back, status="captured").exists()


def test_forged_webhooks_change_nothing(sim, server_key, people):
    _customer, staff = people
    order = cod_order_processing(server_key, staff)
    consignment = book(order, staff)
    before = ConsignmentEvent.objects.count()
    sim.sim.webhook_token = "not-our-token"
    try:
        wrong = advance(sim, consignment, "delivered")
    finally:
        sim.sim.webhook_token = sim_module.WEBHOOK_TOKEN
    assert wrong["status"] == 401 and '"webhook_unauthenticated"' in wrong["answer"]
    assert post_webhook(sim, wrong["payload"], token="").status_code == 401
    query_only = httpx.post(
        f"{sim.webhook_url}?token={sim_module.WEBHOOK_TOKEN}", json=wrong["payload"], timeout=10
    )
    assert query_only.status_code == 401
    order.refresh_from_db()
    consignment.refresh_from_db()
    assert (order.status, consignment.state) == ("processing", "booked")
    assert ConsignmentEvent.objects.count() == before
    assert not Payment.objects.filter(order=order, status="captured").exists()


def test_unknown_statuses_and_parcels_are_stored_or_ignored_without_error(sim, server_key, people):
    _customer, staff = people
    order = cod_order_processing(server_key, staff)
    consignment = book(order, staff)
    payload = {
        "notification_type": "delivery_status",
        "consignment_id": int(consignment.consignment_id),
        "invoice": order.number,
        "cod_amount": 0,
        "status": "Sent To Moon",
        "delivery_charge": 0,
        "tracking_message": "?",
        "updated_at": "2026-01-05 10:00:00",
    }
    assert post_webhook(sim, payload).status_code == 200
    stored = ConsignmentEvent.objects.get(consignment=consignment, raw_status="sent_to_moon")
    assert (stored.state, stored.applied) == ("unknown", False)
    stranger = {**payload, "consignment_id": 1, "invoice": "ZS-NOT-OURS", "status": "delivered"}
    assert post_webhook(sim, stranger).status_code == 200
    assert post_webhook(sim, {"notification_type": "hello"}).status_code == 200
    not_json = httpx.post(
        sim.webhook_url,
        content=b"status=delivered",
        headers={"Authorization": f"Bearer {sim_module.WEBHOOK_TOKEN}"},
        timeout=10,
    )
    assert not_json.status_code == 400
    order.refresh_from_db()
    assert order.status == "processing"


def test_a_poll_applies_what_steadfast_says_when_no_webhook_came(sim, server_key, people):
    _customer, staff = people
    order = cod_order_processing(server_key, staff)
    consignment = book(order, staff)
    sim.sim.webhook_url, url = "", sim.webhook_url  # Steadfast's webhook never arrives
    try:
        advance(sim, consignment, "delivered")
    finally:
        sim.sim.webhook_url = url
    reply = couriers_admin("POST", f"/consignments/{consignment.pk}/refresh", staff)
    assert reply.status == 200, reply.body
    assert reply.json()["state"] == "delivered"
    order.refresh_from_db()
    assert order.status == "delivered"


def test_the_payout_is_fetched_and_reconciled_with_a_differing_line_shown(sim, server_key, people):
    _customer, staff = people
    first, second, third = (cod_order_processing(server_key, staff) for _ in range(3))
    paid_right, paid_short, unpaid = (book(order, staff) for order in (first, second, third))
    for consignment in (paid_right, paid_short):
        advance(sim, consignment, "delivered")
    short = second.total_amount - Decimal("50")
    paid = httpx.post(
        f"{sim.url}/__sim/payouts",
        json={"adjust": {paid_short.consignment_id: str(short)}},
        timeout=10,
    ).json()["payment"]
    advance(sim, unpaid, "delivered")  # delivered after the payout: in none yet

    fetched = couriers_admin("POST", "/payouts/fetch", staff, {"courier": "steadfast"})
    assert fetched.status == 200, fetched.body
    assert fetched.json()["recorded"] == 1
    again = couriers_admin("POST", "/payouts/fetch", staff, {"courier": "steadfast"})
    assert again.json()["recorded"] == 0  # fetched twice, recorded once

    report = couriers_admin("GET", "/reconciliation?courier=steadfast", staff)
    assert report.status == 200, report.body
    answer = report.json()
    assert [row["consignment_id"] for row in answer["mismatched"]] == [paid_short.consignment_id]
    mismatch = answer["mismatched"][0]
    assert mismatch["payout_reference"] == str(paid["id"])
    assert Decimal(mismatch["collected"]["amount"]) == second.total_amount
    assert Decimal(mismatch["paid_out"]["amount"]) == short
    assert [row["consignment_id"] for row in answer["unpaid"]] == [unpaid.consignment_id]
    assert answer["unknown"] == []


def test_a_booking_whose_answer_was_lost_makes_one_parcel_and_polls_move_it(
    sim, server_key, people, monkeypatch
):
    _customer, staff = people
    order = cod_order_processing(server_key, staff)
    steadfast_config_set(monkeypatch, sim.url, http_timeout=0.5)
    control = f"{sim.url}/__sim/create-then-timeout"
    assert httpx.post(control, json={"seconds": 1.5}, timeout=10).status_code == 200
    body = {"order_number": order.number, "courier": "steadfast"}
    booked = couriers_admin("POST", "/consignments", staff, body)  # its answer never arrived
    assert booked.status == 201, booked.body
    consignment = Consignment.objects.get(pk=booked.json()["id"])
    assert consignment.consignment_id == f"invoice:{order.number}"
    [parcel] = sim.parcels.values()
    assert parcel["invoice"] == order.number
    assert couriers_admin("POST", "/consignments", staff, body).status == 200  # the same one again
    assert len(sim.parcels) == 1

    sim.sim.webhook_url, url = "", sim.webhook_url
    try:
        httpx.post(
            f"{sim.url}/__sim/parcels/{parcel['consignment_id']}/advance",
            json={"status": "delivered"},
            timeout=15,
        )
    finally:
        sim.sim.webhook_url = url
    reply = couriers_admin("POST", f"/consignments/{consignment.pk}/refresh", staff)
    assert reply.status == 200, reply.body
    order.refresh_from_db()
    assert order.status == "delivered"
