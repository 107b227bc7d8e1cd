"""RedX with orders: a COD order booked through the admin API, moved by the simulator's
webhooks to our real /api/webhooks/redx function (served over HTTP), forged and replayed
webhooks, unknown and out-of-order statuses, quotes, unknown areas, outages, polls and
cancelling before pickup, all through the admin API."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from db.models import Consignment, ConsignmentEvent, OrderStatusEvent, Payment
from devtools.courier_sims import redx as sim_module
from tests import courier_shop, payment_shop
from tests.courier_shop import (
    SAVAR,
    cod_order_processing,
    couriers_admin,
    parcel_advance,
    redx_book,
    redx_running,
    timeline,
)

__all__ = ["redx_running"]  # RedX simulator fixtures used here

people = payment_shop.people  # fixture
sim = courier_shop.redx  # fixture


@pytest.mark.django_db(transaction=True)
def test_a_cod_order_travels_with_redx_to_delivered_and_its_cash_is_captured(
    sim, server_key, people
):
    _customer, staff = people
    order = cod_order_processing(server_key, staff)
    consignment = redx_book(order, staff)
    code = consignment.tracking_code
    assert (consignment.state, consignment.consignment_id) == ("booked", code)
    assert consignment.delivery_fee == Decimal("80.00")  # Savar, up to a kilogram
    parcel = sim.parcels[code]
    assert parcel["merchant_invoice_id"] == order.number
    assert (parcel["delivery_area"], parcel["cash_collection_amount"]) == (
        "Savar",
        f"{order.total_amount:.2f}",
    )

    for status in ("ready-for-delivery", "delivery-in-progress", "delivered"):
        sent = parcel_advance(sim, code, status)
        assert (sent["reply_status"], sent["reply_body"]) == (200, '{"status": "ok"}')

    order.refresh_from_db()
    consignment.refresh_from_db()
    assert order.status == "delivered"
    assert (consignment.state, consignment.raw_status) == ("delivered", "delivered")
    assert consignment.collected_amount == order.total_amount
    assert timeline(order)[-3:] == [
        ("processing", "shipped"),
        ("shipped", "out_for_delivery"),
        ("out_for_delivery", "delivered"),
    ]
    notes = OrderStatusEvent.objects.filter(order=order, to_status="delivered").get().note
    assert f"RedX {code}: delivered" in notes
    payment = Payment.objects.get(order=order, provider="cod")
    assert (payment.status, payment.amount) == ("captured", order.total_amount)
    events = ConsignmentEvent.objects.filter(consignment=consignment)
    assert list(events.values_list("raw_status", flat=True)) == [
        "booked",
        "ready-for-delivery",
        "delivery-in-progress",
        "delivered",
    ]

    # the same webhook again, then an older one arriving late: stored at most once, harmless
    last = sent["payload"]
    replay = httpx.post(
        f"{sim.webhook_url}?token={sim_module.WEBHOOK_TOKEN}", json=last, timeout=10
    )
    assert replay.status_code == 200
    late = parcel_advance(sim, code, "ready-for-delivery")
    assert late["reply_status"] == 200
    order.refresh_from_db()
    consignment.refresh_from_db()
    assert (order.status, consignment.state) == ("delivered", "delivered")
    assert events.count() == 5
    assert events.filter(raw_status="ready-for-delivery", applied=False).count() == 1
    assert Payment.objects.filter(order=order).count() == 1


@pytest.mark.django_db(transaction=True)
def test_forged_webhooks_change_nothing(sim, server_key, people):
    _customer, staff = people
    order = cod_order_processing(server_key, staff)
    consignment = redx_book(order, staff)
    before = ConsignmentEvent.objects.count()
    wrong = parcel_advance(sim, consignment.tracking_code, "delivered", token="not-our-token")
    assert wrong["reply_status"] == 401
    assert '"webhook_unauthenticated"' in wrong["reply_body"]
    missing = httpx.post(sim.webhook_url, json=wrong["payload"], timeout=10)
    assert missing.status_code == 401
    header_only = httpx.post(
        sim.webhook_url,
        json=wrong["payload"],
        headers={"Authorization": f"Bearer {sim_module.WEBHOOK_TOKEN}"},
        timeout=10,
    )
    assert header_only.status_code == 401
    order.refresh_from_db()
    consignment.refresh_from_db()
    assert (order.status, consignment.state) == ("processing", "booked")
    assert ConsignmentEvent.objects.count() == before
    assert not Payment.objects.filter(order=order).exists()


@pytest.mark.django_db(transaction=True)
def test_an_unknown_status_is_stored_without_error(sim, server_key, people):
    _customer, staff = people
    order = cod_order_processing(server_key, staff)
    consignment = redx_book(order, staff)
    sent = parcel_advance(sim, consignment.tracking_code, "hub-transfer-requested")
    assert sent["reply_status"] == 200
    event = ConsignmentEvent.objects.get(
        consignment=consignment, raw_status="hub-transfer-requested"
    )
    assert event.state == "unknown"
    assert event.payload["invoice_number"] == order.number
    order.refresh_from_db()
    consignment.refresh_from_db()
    assert (order.status, consignment.state) == ("processing", "booked")


@pytest.mark.django_db(transaction=True)
def test_a_webhook_that_is_not_json_is_refused(sim):
    reply = httpx.post(
        f"{sim.webhook_url}?token={sim_module.WEBHOOK_TOKEN}",
        content=b"tracking_number=1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    assert reply.status_code == 400
    assert not ConsignmentEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_simulator_pages_move_a_parcel(sim, server_key, people):
    _customer, staff = people
    order = cod_order_processing(server_key, staff)
    code = redx_book(order, staff).tracking_code
    listing = httpx.get(f"{sim.url}/", timeout=5)
    assert code in listing.text and order.number in listing.text
    page = httpx.get(f"{sim.url}/parcels/{code}", timeout=5)
    assert 'value="delivery-in-progress"' in page.text
    pressed = httpx.post(
        f"{sim.url}/parcels/{code}", data={"status": "ready-for-delivery"}, timeout=15
    )
    assert pressed.status_code == 303
    after = httpx.get(f"{sim.url}/parcels/{code}", timeout=5)
    assert "Last webhook: ready-for-delivery answered 200" in after.text
    order.refresh_from_db()
    assert order.status == "shipped"
    assert Decimal(sim.parcels[code]["cash_collection_amount"]) == order.total_amount


@pytest.mark.django_db(transaction=True)
def test_staff_quote_an_order_with_redx(sim, server_key, people):
    _customer, staff = people
    order = cod_order_processing(server_key, staff)
    reply = couriers_admin("GET", f"/quote?order={order.number}&courier=redx", staff)
    assert reply.status == 200, reply.body
    quote = reply.json()
    # Savar: the suburbs zone, 80 for the first kilogram; 1% of the cash to collect
    assert quote["delivery_fee"]["amount"] == "80.00"
    assert Decimal(quote["cod_fee"]["amount"]) == (order.total_amount / 100).quantize(
        Decimal("0.01")
    )
    assert sim.hits("charge") == 1


@pytest.mark.django_db(transaction=True)
def test_cancel_before_pickup_then_book_again(sim, server_key, people):
    _customer, staff = people
    order = cod_order_processing(server_key, staff)
    first = redx_book(order, staff)
    reply = couriers_admin("POST", f"/consignments/{first.pk}/cancel", staff, {})
    assert reply.status == 200, reply.body
    assert reply.json()["state"] == "cancelled"
    assert sim.parcels[first.tracking_code]["status"] == "cancelled"
    order.refresh_from_db()
    assert order.status == "processing"
    second = redx_book(order, staff)
    assert second.tracking_code != first.tracking_code
    parcel_advance(sim, second.tracking_code, "ready-for-delivery")
    refused = couriers_admin("POST", f"/consignments/{second.pk}/cancel", staff, {})
    assert refused.status == 409
    assert refused.json()["error"]["code"] == "consignment_not_cancellable"
    assert sim.parcels[second.tracking_code]["status"] == "ready-for-delivery"


@pytest.mark.django_db(transaction=True)
def test_an_area_redx_does_not_serve_books_nothing(sim, server_key, people):
    _customer, staff = people
    order = cod_order_processing(server_key, staff, address={**SAVAR, "upazila": "Nawabganj"})
    reply = couriers_admin(
        "POST", "/consignments", staff, {"order_number": order.number, "courier": "redx"}
    )
    assert reply.status == 409, reply.body
    error = reply.json()["error"]
    assert error["code"] == "courier_refused"
    assert error["fields"]["reason"][0] == "courier_area_unknown"
    assert not sim.parcels
    assert not Consignment.objects.filter(order=order).exclude(state="cancelled").exists()


@pytest.mark.django_db(transaction=True)
def test_a_redx_5xx_is_unconfirmed_until_staff_release_it_then_books_once(sim, server_key, people):
    _customer, staff = people
    order = cod_order_processing(server_key, staff)
    sim.fail_next("parcel", status=500)
    body = {"order_number": order.number, "courier": "redx"}
    reply = couriers_admin("POST", "/consignments", staff, body)
    assert reply.status == 202, reply.body
    assert reply.json()["state"] == "booking_unconfirmed"
    assert couriers_admin("POST", "/consignments", staff, body).status == 202  # no second create
    assert sim.hits("parcel") == 1 and not sim.parcels
    released = couriers_admin("POST", f"/consignments/{reply.json()['id']}/release", staff)
    assert released.status == 200, released.body
    assert redx_book(order, staff).state == "booked"
    assert len(sim.parcels) == 1


@pytest.mark.django_db(transaction=True)
def test_a_lost_webhook_is_caught_up_by_a_poll(sim, server_key, people):
    _customer, staff = people
    order = cod_order_processing(server_key, staff)
    consignment = redx_book(order, staff)
    lost = parcel_advance(sim, consignment.tracking_code, "delivery-in-progress", token="lost")
    assert lost["reply_status"] == 401
    reply = couriers_admin("POST", f"/consignments/{consignment.pk}/refresh", staff)
    assert reply.status == 200, reply.body
    assert (reply.json()["state"], reply.json()["raw_status"]) == (
        "out_for_delivery",
        "delivery-in-progress",
    )
    order.refresh_from_db()
    assert order.status == "out_for_delivery"
