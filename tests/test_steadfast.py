"""Steadfast: the adapter against the local simulator over HTTP (bookings, the duplicate and
timed-out create, look-ups, balance, returns, payouts, failures), and its webhooks."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from devtools.courier_sims import steadfast as sim_module
from devtools.courier_sims.steadfast import start_steadfast_simulator
from lib.couriers.base import CourierError, Parcel
from lib.couriers.steadfast import INVOICE_PREFIX, STATES, SteadfastCourier, status_slug

TOKEN = "webhook-token-for-tests"
_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def running():
    with start_steadfast_simulator(webhook_token=TOKEN) as server:
        yield server


@pytest.fixture
def sim(running):
    running.reset()
    running.sim.webhook_url = ""
    return running


def make_courier(sim, **overrides) -> SteadfastCourier:
    settings = {
        "base_url": sim.base_url,
        "api_key": sim_module.API_KEY,
        "secret_key": sim_module.SECRET_KEY,
        "webhook_token": TOKEN,
        "timeout": 2.0,
        **overrides,
    }
    return SteadfastCourier(**settings)


def parcel(number: str | None = None, cod: str = "1530.00", **fields) -> Parcel:
    values = {
        "merchant_order_id": number or f"ZS-SF-{next(_numbers):05d}",
        "recipient_name": "Karim Uddin",
        "recipient_phone": "01712345678",
        "recipient_address": "House 17/1, Road 3/A",
        "district": "Dhaka",
        "area": "Dhanmondi",
        "cod_amount": Decimal(cod),
        "declared_value": Decimal(cod),
        "weight_grams": 800,
        "item_count": 2,
        "description": "2 x T-shirt",
        "note": "Call before coming",
        **fields,
    }
    return Parcel(**values)


def control(sim, path: str, body: dict | None = None) -> dict:
    reply = httpx.post(f"{sim.url}/__sim/{path}", json=body or {})
    assert reply.status_code == 200, reply.text
    return reply.json()


# --- bookings ----------------------------------------------------------------------------


def test_a_parcel_is_created_with_our_order_number_as_invoice(sim):
    courier = make_courier(sim)
    order = parcel(cod="1530.50")
    booking = courier.book(parcel=order)
    stored = sim.parcels[int(booking.consignment_id)]
    assert stored["invoice"] == order.merchant_order_id
    assert booking.tracking_code == stored["tracking_code"] != ""
    assert booking.delivery_fee is None  # Steadfast says it later, in the webhook
    assert stored["cod_amount"] == 1530.5
    assert stored["recipient_address"] == "House 17/1, Road 3/A, Dhanmondi, Dhaka"
    assert stored["status"] == "in_review"
    assert courier.tracking_url(tracking_code=booking.tracking_code) == (
        f"https://steadfast.com.bd/t/{booking.tracking_code}"
    )


def test_booking_the_same_order_again_makes_no_second_parcel(sim):
    courier = make_courier(sim)
    order = parcel()
    first = courier.book(parcel=order)
    again = courier.book(parcel=order)  # Steadfast refuses the reused invoice
    assert len(sim.parcels) == 1
    assert again.consignment_id == INVOICE_PREFIX + order.merchant_order_id
    assert again.raw["recovered"] is True
    # the recovered booking still tracks the one parcel
    control(sim, f"parcels/{first.consignment_id}/advance", {"status": "pending"})
    update = courier.track(consignment_id=again.consignment_id)
    assert (update.state, update.merchant_order_id) == ("in_transit", order.merchant_order_id)


def test_an_order_booked_again_after_steadfast_cancelled_it_gets_a_new_invoice(sim):
    courier = make_courier(sim)
    order = parcel()
    first = courier.book(parcel=order)
    control(sim, f"parcels/{first.consignment_id}/advance", {"status": "cancelled"})
    second = courier.book(parcel=order)
    assert second.consignment_id.isdigit() and second.consignment_id != first.consignment_id
    assert sim.parcels[int(second.consignment_id)]["invoice"] == f"{order.merchant_order_id}_r2"
    assert courier.book(parcel=order).consignment_id == (
        f"{INVOICE_PREFIX}{order.merchant_order_id}_r2"  # the live one, not a third parcel
    )
    [update] = courier.webhook_parse(
        payload={
            "notification_type": "delivery_status",
            "consignment_id": int(second.consignment_id),
            "invoice": f"{order.merchant_order_id}_r2",
            "status": "pending",
        }
    )
    assert update.merchant_order_id == order.merchant_order_id
    assert len(sim.parcels) == 2


def test_a_create_that_timed_out_after_creating_is_found_not_repeated(sim):
    courier = make_courier(sim, timeout=0.4)
    order = parcel()
    control(sim, "create-then-timeout", {"seconds": 1.2})
    booking = courier.book(parcel=order)
    assert len(sim.parcels) == 1
    assert (sim.hits("create_order"), sim.hits("status_by_invoice")) == (1, 1)
    assert booking.consignment_id == INVOICE_PREFIX + order.merchant_order_id
    assert courier.track(consignment_id=booking.consignment_id).state == "booked"


def test_a_retry_after_an_unanswered_create_finds_the_parcel(sim):
    courier = make_courier(sim, timeout=0.4)
    order = parcel()
    control(sim, "create-then-timeout", {"seconds": 1.2})
    control(sim, "fail", {"route": "status_by_invoice", "status": 502})
    with pytest.raises(CourierError) as caught:
        courier.book(parcel=order)
    assert (caught.value.code, caught.value.retryable) == ("courier_unavailable", True)
    retried = courier.book(parcel=order)  # later, e.g. staff press "book" again
    assert len(sim.parcels) == 1
    assert retried.consignment_id == INVOICE_PREFIX + order.merchant_order_id


def test_a_create_that_never_reached_steadfast_stays_retryable_and_creates_nothing(sim):
    courier = make_courier(sim)
    control(sim, "fail", {"route": "create_order", "status": 503})
    with pytest.raises(CourierError) as caught:
        courier.book(parcel=parcel())
    assert (caught.value.code, caught.value.retryable) == ("courier_unavailable", True)
    assert sim.parcels == {}


def test_a_refused_order_is_a_clear_non_retryable_error(sim):
    courier = make_courier(sim)
    with pytest.raises(CourierError) as caught:
        courier.book(parcel=parcel(recipient_phone="1712345678"))
    assert (caught.value.code, caught.value.retryable) == ("courier_rejected", False)
    assert "recipient_phone" in str(caught.value)
    with pytest.raises(CourierError):
        courier.book(parcel=parcel(number="ZS 1/2"))  # not a Steadfast invoice
    assert sim.parcels == {}


def test_wrong_keys_are_refused_and_not_retryable(sim):
    courier = make_courier(sim, secret_key="not-the-secret")
    with pytest.raises(CourierError) as caught:
        courier.book(parcel=parcel())
    assert (caught.value.code, caught.value.retryable) == ("courier_auth_failed", False)
    with pytest.raises(CourierError) as caught:
        make_courier(sim, api_key="wrong").balance()
    assert caught.value.code == "courier_auth_failed"
    assert sim.parcels == {}


def test_server_errors_and_slow_answers_are_retryable(sim):
    courier = make_courier(sim, timeout=0.3)
    booking = courier.book(parcel=parcel())
    control(sim, "fail", {"route": "status_by_cid", "status": 500})
    with pytest.raises(CourierError) as caught:
        courier.track(consignment_id=booking.consignment_id)
    assert (caught.value.code, caught.value.retryable) == ("courier_unavailable", True)
    control(sim, "slow", {"route": "get_balance", "seconds": 0.8})
    with pytest.raises(CourierError) as caught:
        courier.balance()
    assert (caught.value.code, caught.value.retryable) == ("courier_unavailable", True)
    assert courier.track(consignment_id=booking.consignment_id).state == "booked"


def test_bulk_create_sends_a_json_string_and_answers_per_order(sim):
    courier = make_courier(sim)
    taken = parcel()
    courier.book(parcel=taken)
    fresh = [parcel(), parcel()]
    results = courier.book_bulk(parcels=[fresh[0], taken, fresh[1]])
    assert [r.merchant_order_id for r in results] == [
        fresh[0].merchant_order_id,
        taken.merchant_order_id,
        fresh[1].merchant_order_id,
    ]
    assert results[1].booking is None and results[1].error
    made = {p["invoice"]: p for p in sim.parcels.values()}
    for result in (results[0], results[2]):
        assert result.booking is not None
        stored = made[result.merchant_order_id]
        assert result.booking.consignment_id == str(stored["consignment_id"])
        assert result.booking.tracking_code == stored["tracking_code"]
    assert len(sim.parcels) == 3 and sim.hits("create_order") == 2


def test_quote_is_the_configured_estimate():
    courier = SteadfastCourier(
        base_url="http://127.0.0.1:9",
        api_key="k",
        secret_key="s",
        base_fee=Decimal("100"),
        cod_percent=Decimal("1.5"),
    )
    quote = courier.quote(parcel=parcel(cod="1999.00"))
    assert (quote.delivery_fee, quote.cod_fee) == (Decimal("100.00"), Decimal("29.99"))
    assert quote.raw["estimate"] is True


def test_cancel_is_not_offered_and_missing_keys_are_refused(sim):
    with pytest.raises(CourierError) as caught:
        make_courier(sim).cancel(consignment_id="1")
    assert caught.value.code == "courier_unsupported"
    with pytest.raises(CourierError) as caught:
        make_courier(sim, api_key="")
    assert caught.value.code == "courier_not_configured"


# --- look-ups, balance, returns, payouts -------------------------------------------------


def test_status_look_ups_by_consignment_invoice_and_tracking_code(sim):
    courier = make_courier(sim)
    order = parcel()
    booking = courier.book(parcel=order)
    control(sim, f"parcels/{booking.consignment_id}/advance", {"status": "hold"})
    assert courier.status_by_cid(booking.consignment_id) == "hold"
    assert courier.status_by_invoice(order.merchant_order_id) == "hold"
    assert courier.status_by_trackingcode(booking.tracking_code) == "hold"
    update = courier.track(consignment_id=booking.consignment_id)
    assert (update.state, update.raw_status) == ("on_hold", "hold")
    with pytest.raises(CourierError) as caught:
        courier.track(consignment_id="999999999")
    assert (caught.value.code, caught.value.retryable) == ("courier_not_found", False)


def test_balance_return_requests_and_payouts(sim):
    courier = make_courier(sim)
    delivered = courier.book(parcel=parcel(cod="1000.00"))
    partial = courier.book(parcel=parcel(cod="2000.00"))
    kept = courier.book(parcel=parcel(cod="500.00"))
    assert courier.balance() == Decimal("0")
    control(sim, f"parcels/{delivered.consignment_id}/advance", {"status": "delivered"})
    control(
        sim,
        f"parcels/{partial.consignment_id}/advance",
        {"status": "partial_delivered", "cod_amount": "1200"},
    )
    # 1000 - 80 - 10 and 1200 - 80 - 12 (Dhaka charge, 1 % COD charge)
    assert courier.balance() == Decimal("2018")

    request = courier.return_request(consignment_id=kept.consignment_id, reason="wrong size")
    assert (request.consignment_id, request.status, request.reason) == (
        kept.consignment_id,
        "pending",
        "wrong size",
    )
    assert courier.return_request_get(request_id=request.request_id) == request
    assert [r.request_id for r in courier.return_requests()] == [request.request_id]

    assert courier.payouts() == []
    paid = control(sim, "payouts")["payment"]
    reports = courier.payouts()
    assert len(reports) == 1
    report = reports[0]
    assert report.reference == str(paid["id"])
    assert report.amount == Decimal("2018")
    assert dict(report.lines) == {
        delivered.consignment_id: Decimal("1000"),
        partial.consignment_id: Decimal("1200"),
    }
    assert report.paid_at is not None and report.paid_at.tzinfo is not None
    assert courier.balance() == Decimal("0")


# --- webhooks ------------------------------------------------------------------------------


def test_every_documented_delivery_status_is_mapped():
    assert set(STATES) == set(sim_module.STATUSES)
    assert STATES["delivered_approval_pending"] == "delivered"
    assert STATES["partial_delivered_approval_pending"] == "partially_delivered"
    assert STATES["cancelled"] == STATES["cancelled_approval_pending"] == "cancelled"
    assert status_slug(" Partial Delivered ") == "partial_delivered"


def test_webhook_token_is_checked():
    courier = SteadfastCourier(
        base_url="http://127.0.0.1:9", api_key="k", secret_key="s", webhook_token=TOKEN
    )
    assert courier.webhook_authentic(headers={"Authorization": f"Bearer {TOKEN}"}, query={})
    assert courier.webhook_authentic(headers={"authorization": f"bearer {TOKEN}"}, query={})
    for wrong in (f"Bearer {TOKEN}x", TOKEN, "Bearer ", f"Basic {TOKEN}"):
        assert not courier.webhook_authentic(headers={"Authorization": wrong}, query={})
    assert not courier.webhook_authentic(headers={}, query={"token": TOKEN})
    unset = SteadfastCourier(base_url="http://127.0.0.1:9", api_key="k", secret_key="s")
    assert not unset.webhook_authentic(headers={"Authorization": "Bearer "}, query={})


def test_webhook_payloads_are_parsed():
    courier = SteadfastCourier(base_url="http://127.0.0.1:9", api_key="k", secret_key="s")
    delivered = {
        "notification_type": "delivery_status",
        "consignment_id": 1424107,
        "invoice": "ZS-1",
        "cod_amount": 1500.0,
        "status": "Delivered",
        "delivery_charge": 100.0,
        "tracking_message": "Delivered to the customer",
        "updated_at": "2025-03-02 12:45:30",
    }
    [update] = courier.webhook_parse(payload=delivered)
    assert (update.consignment_id, update.merchant_order_id) == ("1424107", "ZS-1")
    assert (update.state, update.raw_status) == ("delivered", "delivered")
    assert (update.collected_amount, update.delivery_fee) == (Decimal("1500.0"), Decimal("100.0"))
    assert update.occurred_at == datetime(2025, 3, 2, 6, 45, 30, tzinfo=UTC)  # +06:00
    [cancelled] = courier.webhook_parse(payload={**delivered, "status": "cancelled"})
    assert (cancelled.state, cancelled.collected_amount) == ("cancelled", None)
    [odd] = courier.webhook_parse(payload={**delivered, "status": "lost_in_space"})
    assert (odd.state, odd.raw_status) == ("unknown", "lost_in_space")
    [note] = courier.webhook_parse(
        payload={
            "notification_type": "tracking_update",
            "consignment_id": 1424107,
            "invoice": "ZS-1",
            "tracking_message": "Reached Mirpur hub",
            "updated_at": "2025-03-02 10:00:00",
        }
    )
    assert (note.state, note.raw_status, note.message) == (
        "unknown",
        "tracking_update",
        "Reached Mirpur hub",
    )
    assert courier.webhook_parse(payload={"notification_type": "something_else"}) == []
    assert courier.webhook_parse(payload={"status": "delivered"}) == []
    reply = courier.webhook_reply(payload=delivered)
    assert (reply.status, reply.body) == (
        200,
        {"status": "success", "message": "Webhook received successfully."},
    )


def test_the_simulator_posts_webhooks_as_steadfast_does(sim):
    received: list[tuple[dict, dict]] = []

    def app(environ, start_response):
        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(size))
        received.append(({"authorization": environ.get("HTTP_AUTHORIZATION")}, body))
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"status": "success"}).encode()]

    from devtools.wsgi_server import BackgroundServer, start_server

    server, thread = start_server(app, "127.0.0.1", 0, name="steadfast-webhook-sink")
    with BackgroundServer(server, thread) as sink:
        control(sim, "webhook", {"url": f"{sink.url}/hook", "token": TOKEN})
        booking = make_courier(sim).book(parcel=parcel(cod="700"))
        sent = control(sim, f"parcels/{booking.consignment_id}/advance", {"status": "delivered"})
        control(sim, f"parcels/{booking.consignment_id}/message", {"message": "At the hub"})
    assert sent["status"] == 200
    (headers, first), (_, second) = received
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert first["notification_type"] == "delivery_status" and first["status"] == "Delivered"
    assert (first["consignment_id"], first["cod_amount"]) == (int(booking.consignment_id), 700.0)
    assert second["notification_type"] == "tracking_update"
    assert second["tracking_message"] == "At the hub"


def test_the_parcel_pages_move_a_parcel(sim):
    courier = make_courier(sim)
    booking = courier.book(parcel=parcel())
    listing = httpx.get(f"{sim.url}/")
    assert listing.status_code == 200 and booking.tracking_code in listing.text
    page = httpx.get(f"{sim.url}/parcels/{booking.consignment_id}")
    assert page.status_code == 200 and "partial_delivered_approval_pending" in page.text
    moved = httpx.post(
        f"{sim.url}/parcels/{booking.consignment_id}",
        data={"status": "partial_delivered", "collected": "300"},
    )
    assert moved.status_code == 303
    assert courier.status_by_cid(booking.consignment_id) == "partial_delivered"
    payout = httpx.post(f"{sim.url}/payouts")
    assert payout.status_code == 303 and len(sim.payments) == 1
