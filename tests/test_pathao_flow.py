"""Pathao end to end: staff book a packed COD order through the admin API, the simulator's
webhooks reach our webhook function over HTTP and move the order to delivered with the cash
collected; forged, replayed, late and unknown webhooks change nothing; the payout invoice is
recorded. The simulator judges each of our replies as Pathao does (202 + integration header)."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

import api.checkout
import api.couriers
import api.orders
import api.webhooks.pathao
from db.models import Consignment, ConsignmentEvent, Order, OrderStatusEvent, Payment
from lib.couriers.pathao import INTEGRATION_HEADER
from tests.courier_shop import booked, cod_order_to_gulshan, couriers_admin, pathao_served
from tests.pathao_sim import control
from tests.payment_shop import signed_in
from tests.support import call

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def pathao(kv, monkeypatch):
    """The simulator, posting its webhooks to our webhook function served over HTTP, and
    the API configured for it from the environment as in production."""
    with pathao_served(monkeypatch, http_timeout=2) as sim:
        yield sim


def advance(sim, consignment_id: str, event: str) -> dict:
    """Pathao moves the parcel: its webhook is posted and our reply judged."""
    return control(sim, f"parcels/{consignment_id}/advance", {"event": event})


@pytest.fixture
def staff(server_key):
    return signed_in(server_key, "staff")[1]


def book(order: Order, staff) -> dict:
    return booked(order, staff, "pathao")


def events_of(consignment_id: str) -> list[tuple[str, str, bool]]:
    return list(
        ConsignmentEvent.objects.filter(consignment__consignment_id=consignment_id)
        .order_by("created_at", "id")
        .values_list("raw_status", "state", "applied")
    )


def test_the_handshake_is_answered_202_with_pathaos_integration_header(pathao):
    record = control(pathao, "webhook/handshake")
    assert (record["status"], record["accepted"]) == (202, True), record
    assert ConsignmentEvent.objects.count() == 0


def test_a_webhook_without_our_secret_is_refused_and_changes_nothing(pathao, server_key, staff):
    order = cod_order_to_gulshan(server_key, staff)
    consignment_id = book(order, staff)["consignment_id"]
    before = events_of(consignment_id)
    control(pathao, "config", {"webhook_secret": "guessed-secret"})
    record = advance(pathao, consignment_id, "order.delivered")
    assert (record["status"], record["accepted"]) == (401, False)
    unsigned = httpx.post(pathao.webhook_url, json=record["payload"], timeout=5)
    assert unsigned.status_code == 401
    assert unsigned.json()["error"]["code"] == "webhook_unauthenticated"
    assert INTEGRATION_HEADER not in unsigned.headers
    assert events_of(consignment_id) == before
    assert Consignment.objects.get(consignment_id=consignment_id).state == "booked"
    order.refresh_from_db()
    assert order.status == "processing"
    assert not Payment.objects.filter(order=order, status="captured").exists()


def test_a_cod_order_is_booked_carried_and_delivered_through_pathaos_webhooks(
    pathao, server_key, staff
):
    order = cod_order_to_gulshan(server_key, staff)
    booked = book(order, staff)
    consignment_id = booked["consignment_id"]
    assert booked["tracking_url"] == f"{pathao.url}/parcels/{consignment_id}"
    sent = pathao.sim.parcels[consignment_id]["body"]
    assert sent["merchant_order_id"] == order.number
    assert sent["amount_to_collect"] == int(order.total_amount)
    for event in ("order.picked", "order.in-transit"):
        record = advance(pathao, consignment_id, event)
        assert (record["status"], record["accepted"]) == (202, True), record
    # A developer presses the parcel page's button: the same webhook goes out.
    listed = httpx.get(f"{pathao.url}/", timeout=5)
    assert f'href="/parcels/{consignment_id}"' in listed.text
    page = httpx.get(booked["tracking_url"], timeout=5)
    assert page.status_code == 200 and 'value="order.assigned-for-delivery"' in page.text
    pressed = httpx.post(
        booked["tracking_url"],
        data={"event": "order.assigned-for-delivery"},
        timeout=15,
        follow_redirects=True,
    )
    assert (
        pressed.status_code == 200
        and "order.assigned-for-delivery: HTTP 202 accepted" in pressed.text
    )
    order.refresh_from_db()
    assert order.status == "out_for_delivery"
    record = advance(pathao, consignment_id, "order.delivered")
    assert (record["status"], record["accepted"]) == (202, True), record
    order.refresh_from_db()
    assert order.status == "delivered"
    timeline = list(
        OrderStatusEvent.objects.filter(order=order)
        .order_by("created_at", "id")
        .values_list("to_status", flat=True)
    )
    assert timeline[-3:] == ["shipped", "out_for_delivery", "delivered"]
    consignment = Consignment.objects.get(consignment_id=consignment_id)
    assert (consignment.state, consignment.raw_status) == ("delivered", "order.delivered")
    collected = Decimal(pathao.sim.parcels[consignment_id]["amount_to_collect"])
    assert consignment.collected_amount == collected
    [payment] = Payment.objects.filter(order=order, provider="cod")
    assert (payment.status, payment.amount) == ("captured", collected)
    detail = call(
        api.couriers.app,
        "GET",
        f"/api/v1/admin/couriers/consignments/{booked['id']}",
        headers=staff,
    )
    assert detail.status == 200, detail.body
    states = [event["state"] for event in detail.json()["events"] if event["applied"]]
    assert states[-4:] == ["picked_up", "in_transit", "out_for_delivery", "delivered"]


def test_replayed_late_and_unknown_webhooks_change_nothing_and_the_payout_is_recorded(
    pathao, server_key, staff
):
    order = cod_order_to_gulshan(server_key, staff)
    consignment_id = book(order, staff)["consignment_id"]
    advance(pathao, consignment_id, "order.picked")
    delivered = advance(pathao, consignment_id, "order.delivered")
    assert delivered["accepted"], delivered
    settled = events_of(consignment_id)
    timeline = OrderStatusEvent.objects.filter(order=order).count()

    index = len(pathao.sim.deliveries) - 1
    replay = control(pathao, "webhook/replay", {"index": index})  # the same delivery again
    assert (replay["status"], replay["accepted"]) == (202, True)
    assert events_of(consignment_id) == settled

    late = advance(pathao, consignment_id, "order.in-transit")  # sent after delivered
    odd = advance(pathao, consignment_id, "order.teleported")  # a slug we do not know
    assert late["accepted"] and odd["accepted"]
    stored = events_of(consignment_id)
    assert stored[:-2] == settled
    assert stored[-2:] == [
        ("order.in-transit", "in_transit", False),
        ("order.teleported", "unknown", False),
    ]
    order.refresh_from_db()
    assert order.status == "delivered"
    assert OrderStatusEvent.objects.filter(order=order).count() == timeline
    assert Payment.objects.filter(order=order, provider="cod").count() == 1
    assert Consignment.objects.get(consignment_id=consignment_id).state == "delivered"

    paid = advance(pathao, consignment_id, "order.paid")
    assert paid["accepted"], paid
    invoice = paid["payload"]["invoice_id"]
    payouts = call(
        api.couriers.app, "GET", "/api/v1/admin/couriers/payouts?courier=pathao", headers=staff
    )
    assert payouts.status == 200, payouts.body
    [payout] = payouts.json()["items"]
    assert payout["reference"] == invoice
    assert Decimal(payout["amount"]["amount"]) == int(order.total_amount)
    control(pathao, "webhook/replay", {"index": len(pathao.sim.deliveries) - 1})
    again = call(
        api.couriers.app, "GET", "/api/v1/admin/couriers/payouts?courier=pathao", headers=staff
    )
    assert again.json()["count"] == 1
    assert Decimal(again.json()["items"][0]["amount"]["amount"]) == int(order.total_amount)


def test_staff_quote_and_a_pathao_5xx_is_unconfirmed_until_staff_release_it(
    pathao, server_key, staff
):
    order = cod_order_to_gulshan(server_key, staff)
    quote = couriers_admin("GET", f"/quote?order={order.number}&courier=pathao", staff)
    assert quote.status == 200, quote.body
    assert quote.json()["delivery_fee"]["amount"] == "60.00"  # Dhaka, up to 1 kg
    assert quote.json()["cod_fee"]["amount"] == str(
        (order.total_amount / 100).quantize(Decimal("0.01"))
    )
    control(pathao, "fail", {"route": "orders", "status": 502})
    unconfirmed = couriers_admin(
        "POST", "/consignments", staff, {"order_number": order.number, "courier": "pathao"}
    )
    assert unconfirmed.status == 202, unconfirmed.body
    assert unconfirmed.json()["state"] == "booking_unconfirmed"
    assert pathao.sim.parcels == {}  # staff see none in Pathao's panel
    released = couriers_admin("POST", f"/consignments/{unconfirmed.json()['id']}/release", staff)
    assert released.status == 200, released.body
    booked = book(order, staff)
    assert booked["state"] == "booked" and len(pathao.sim.parcels) == 1


def test_a_lost_webhook_is_caught_up_by_asking_pathao(pathao, server_key, staff):
    order = cod_order_to_gulshan(server_key, staff)
    booked = book(order, staff)
    control(pathao, "config", {"webhook_url": ""})  # Pathao's webhooks never arrive
    lost = advance(pathao, booked["consignment_id"], "order.in-transit")
    assert lost["accepted"] is False
    refreshed = couriers_admin("POST", f"/consignments/{booked['id']}/refresh", staff)
    assert refreshed.status == 200, refreshed.body
    assert (refreshed.json()["state"], refreshed.json()["raw_status"]) == (
        "in_transit",
        "In Transit",
    )
    order.refresh_from_db()
    assert order.status == "shipped"


def test_pathao_has_no_cancel_api_so_staff_cancel_in_its_panel_and_record_it(
    pathao, server_key, staff
):
    order = cod_order_to_gulshan(server_key, staff)
    booked = book(order, staff)
    path = f"/consignments/{booked['id']}/cancel"
    at_pathao = couriers_admin("POST", path, staff, {"at_courier": True})
    assert at_pathao.status == 409, at_pathao.body
    assert at_pathao.json()["error"]["code"] == "courier_unsupported"
    assert Consignment.objects.get(pk=booked["id"]).state == "booked"
    recorded = couriers_admin("POST", path, staff, {"at_courier": False})
    assert recorded.status == 200, recorded.body
    assert recorded.json()["state"] == "cancelled"
    echo = advance(pathao, booked["consignment_id"], "order.pickup-cancelled")
    assert echo["accepted"], echo
    order.refresh_from_db()
    assert order.status == "processing"  # book again, with Pathao or another courier
