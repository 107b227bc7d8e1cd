"""RedX: the adapter against the local simulator over HTTP (areas, quotes, parcels, history,
cancel, refusals and outages), and RedX's webhook through our function."""

from __future__ import annotations

import itertools
import time
from decimal import Decimal

import httpx
import pytest

from devtools.courier_sims import redx as sim_module
from devtools.courier_sims.redx import start_redx_simulator
from lib.couriers.base import CourierError, Parcel
from lib.couriers.redx import RedxCourier
from lib.couriers.redx_areas import AREAS_KEY
from tests.courier_shop import parcel_advance, redx_config

_orders = itertools.count(1)


@pytest.fixture(scope="module")
def running():
    with start_redx_simulator() as server:
        yield server


@pytest.fixture
def sim(running, kv):
    running.reset()
    return running


def redx(sim, **overrides) -> RedxCourier:
    return RedxCourier(config=redx_config(sim.url, **overrides))


def parcel(**overrides) -> Parcel:
    values = {
        "merchant_order_id": f"ZS-RX-{next(_orders):05d}",
        "recipient_name": "Karim Ahmed",
        "recipient_phone": "01812345678",
        "recipient_address": "Flat 3B, Road 7, Savar",
        "district": "Dhaka",
        "area": "Savar",
        "cod_amount": Decimal("1250.00"),
        "declared_value": Decimal("1250.00"),
        "weight_grams": 1500,
        "item_count": 2,
        "description": "2 items",
        **overrides,
    }
    return Parcel(**values)


def sim_parcel(sim, tracking_id: str) -> dict:
    reply = httpx.get(f"{sim.url}/__sim/parcels/{tracking_id}", timeout=5)
    assert reply.status_code == 200
    return reply.json()


# --- areas ------------------------------------------------------------------------------


def test_areas_of_a_district_are_fetched_once_and_cached_for_a_day(sim, kv):
    courier = redx(sim)
    first = courier.areas(district_name="Dhaka")
    again = redx(sim).areas(district_name="dhaka")  # another instance, other spelling
    assert [a.name for a in first] == [a.name for a in again]
    assert "Savar" in [a.name for a in first] and "Agrabad" not in [a.name for a in first]
    assert sim.hits("areas") == 1
    assert 86300 < kv.ttl(AREAS_KEY.format(scope="district:dhaka")) <= 86400


def test_areas_by_post_code(sim):
    areas = redx(sim).areas(post_code="4100")
    assert [(a.id, a.name) for a in areas] == [(13, "Agrabad")]


def test_the_resolver_ignores_case_spaces_and_hyphens(sim):
    courier = redx(sim)
    assert courier.redx_area_resolve(district="Dhaka", area="  mirpur-10 ").id == 1
    assert courier.redx_area_resolve(district="Chattogram", area="HALISHAHAR").name == "Halishahar"


def test_an_unknown_area_is_refused_clearly_or_falls_back_to_the_default(sim):
    with pytest.raises(CourierError) as refused:
        redx(sim).redx_area_resolve(district="Dhaka", area="Atlantis")
    assert (refused.value.code, refused.value.retryable) == ("courier_area_unknown", False)
    with pytest.raises(CourierError) as no_district:
        redx(sim).redx_area_resolve(district="Narnia", area="Savar")
    assert no_district.value.code == "courier_area_unknown"
    fallback = redx(sim, default_area_id=6).redx_area_resolve(district="Dhaka", area="Atlantis")
    assert (fallback.id, fallback.name) == (6, "Motijheel")
    with pytest.raises(CourierError) as bad_default:
        redx(sim, default_area_id=999).redx_area_resolve(district="Dhaka", area="Atlantis")
    assert bad_default.value.code == "courier_area_unknown"


def test_a_district_spelt_differently_at_redx_is_translated(sim):
    courier = redx(sim, district_names=(("Comilla", "Cumilla"),))
    assert courier.redx_area_resolve(district="comilla", area="Comilla Sadar").id == 20


# --- quote, book, info, history, cancel ---------------------------------------------------


def test_quote_asks_the_charge_calculator(sim):
    quote = redx(sim).quote(parcel=parcel())
    # Savar is in the suburbs zone: 80 for the first kg + 20 for the second; 1% COD
    assert (quote.delivery_fee, quote.cod_fee) == (Decimal("100.00"), Decimal("12.50"))
    assert sim.hits("charge") == 1


def test_quote_needs_the_pickup_area(sim):
    with pytest.raises(CourierError) as refused:
        redx(sim, pickup_area_id=0).quote(parcel=parcel())
    assert refused.value.code == "courier_not_configured"
    assert sim.hits("charge") == 0


def test_book_creates_the_parcel_with_our_order_number(sim):
    ours = parcel(note="Call before coming")
    booking = redx(sim).book(parcel=ours)
    assert booking.consignment_id == booking.tracking_code
    # RedX answers only the tracking id; the charge is read from parcel info
    assert booking.delivery_fee == Decimal("100")
    seen = sim_parcel(sim, booking.consignment_id)
    assert seen["merchant_invoice_id"] == ours.merchant_order_id
    assert (seen["delivery_area"], seen["delivery_area_id"]) == ("Savar", 7)
    assert (seen["parcel_weight"], seen["cash_collection_amount"]) == (1500, "1250.00")
    assert seen["pickup_location"]["id"] == sim_module.pages.PICKUP_STORE["id"]
    assert seen["instruction"] == "Call before coming"
    assert seen["status"] == "pickup-pending"


def test_a_booking_whose_charge_cannot_be_read_is_still_booked(sim):
    sim.fail_next("parcel/info", status=500)
    booking = redx(sim).book(parcel=parcel())
    assert booking.delivery_fee is None
    assert sim_parcel(sim, booking.consignment_id)["status"] == "pickup-pending"
    assert len(sim.parcels) == 1


def test_track_reads_parcel_info_and_maps_the_status(sim):
    courier = redx(sim)
    booking = courier.book(parcel=parcel())
    update = courier.track(consignment_id=booking.consignment_id)
    assert (update.state, update.raw_status) == ("booked", "pickup-pending")
    assert update.delivery_fee == Decimal("100")
    assert update.collected_amount is None
    parcel_advance(sim, booking.consignment_id, "delivered")
    delivered = courier.track(consignment_id=booking.consignment_id)
    assert (delivered.state, delivered.collected_amount) == ("delivered", Decimal("1250.00"))
    assert delivered.merchant_order_id.startswith("ZS-RX-")


def test_every_documented_status_maps_and_others_are_unknown(sim):
    courier = redx(sim)
    expected = {
        "pickup-pending": "booked",
        "ready-for-delivery": "picked_up",
        "agent-area-change": "in_transit",
        "delivery-in-progress": "out_for_delivery",
        "delivered": "delivered",
        "agent-hold": "on_hold",
        "agent-returning": "returning",
        "returned": "returned",
        "partial-delivered": "unknown",
        "cancelled": "unknown",
    }
    assert {status: courier.state_of(status) for status in expected} == expected
    configured = redx(sim, extra_statuses=(("cancelled", "cancelled"), ("lost", "nonsense")))
    assert configured.state_of("Cancelled") == "cancelled"
    assert configured.state_of("lost") == "unknown"  # not one of our states: ignored


def test_history_lists_the_tracking_lines(sim):
    courier = redx(sim)
    booking = courier.book(parcel=parcel())
    parcel_advance(sim, booking.consignment_id, "ready-for-delivery")
    history = courier.history(consignment_id=booking.consignment_id)
    assert [line.message_en for line in history] == [
        "Parcel is created and waiting for pickup",
        "Parcel is picked up and ready for delivery",
    ]
    assert all(line.time is not None and line.time.tzinfo is not None for line in history)
    assert history[1].message_bn


def test_cancel_before_pickup_and_refused_after(sim):
    courier = redx(sim)
    booking = courier.book(parcel=parcel())
    courier.cancel(consignment_id=booking.consignment_id)
    assert sim_parcel(sim, booking.consignment_id)["status"] == "cancelled"
    picked = courier.book(parcel=parcel())
    parcel_advance(sim, picked.consignment_id, "ready-for-delivery")
    with pytest.raises(CourierError) as refused:
        courier.cancel(consignment_id=picked.consignment_id)
    assert (refused.value.code, refused.value.retryable) == ("courier_rejected", False)
    assert "can no longer be cancelled" in str(refused.value)


def test_pickup_stores(sim):
    stores = redx(sim).pickup_stores()
    assert [(s.id, s.area_id, s.area_name) for s in stores] == [(7401, 1, "Mirpur 10")]


def test_an_unknown_parcel_is_not_found(sim):
    with pytest.raises(CourierError) as missing:
        redx(sim).track(consignment_id="26ANOSUCHONE")
    assert missing.value.code == "courier_not_found"


def test_tracking_url_is_the_configured_template(sim):
    assert redx(sim).tracking_url(tracking_code="26A312THJDJ8") == (
        "https://redx.com.bd/track-parcel/?trackingId=26A312THJDJ8"
    )
    custom = redx(sim, tracking_url="https://t.example/{code}?x=1")
    assert custom.tracking_url(tracking_code="A B") == "https://t.example/A%20B?x=1"


# --- refusals and outages ---------------------------------------------------------------


def test_a_wrong_token_is_a_clear_non_retryable_error(sim):
    with pytest.raises(CourierError) as refused:
        redx(sim, access_token="not-the-token").book(parcel=parcel())
    assert (refused.value.code, refused.value.retryable) == ("courier_auth_failed", False)
    assert not sim.parcels


def test_missing_settings_are_refused_before_any_call(sim):
    with pytest.raises(CourierError) as refused:
        redx(sim, base_url="").pickup_stores()
    assert refused.value.code == "courier_not_configured"


def test_invalid_parcel_data_is_rejected_with_redx_message(sim):
    with pytest.raises(CourierError) as refused:
        redx(sim).book(parcel=parcel(recipient_name=""))
    assert refused.value.code == "courier_rejected"
    assert "customer_name" in str(refused.value)


def test_a_5xx_is_retryable_and_the_next_call_works(sim):
    sim.fail_next("parcel", status=502)
    courier = redx(sim)
    with pytest.raises(CourierError) as outage:
        courier.book(parcel=parcel())
    assert (outage.value.code, outage.value.retryable) == ("courier_unavailable", True)
    assert courier.book(parcel=parcel()).consignment_id


def test_a_slow_answer_is_a_retryable_timeout(sim):
    httpx.post(f"{sim.url}/__sim/slow", json={"route": "charge", "seconds": 1.5}, timeout=5)
    courier = redx(sim, http_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(CourierError) as slow:
        courier.quote(parcel=parcel())
    assert time.monotonic() - started < 1.4
    assert (slow.value.code, slow.value.retryable) == ("courier_unavailable", True)
    assert "timed out" in str(slow.value)


def test_an_area_outage_caches_nothing(sim, kv):
    sim.fail_next("areas", status=503)
    with pytest.raises(CourierError) as outage:
        redx(sim).quote(parcel=parcel())
    assert outage.value.retryable
    assert kv.get(AREAS_KEY.format(scope="district:dhaka")) is None
    assert redx(sim).quote(parcel=parcel()).delivery_fee == Decimal("100.00")


# --- webhook parsing ----------------------------------------------------------------------


def test_webhook_token_is_compared_from_the_query(sim):
    courier = redx(sim)
    token = sim_module.WEBHOOK_TOKEN
    assert courier.webhook_authentic(headers={}, query={"token": token})
    assert not courier.webhook_authentic(headers={"Authorization": f"Bearer {token}"}, query={})
    assert not courier.webhook_authentic(headers={}, query={"token": token + "x"})
    assert not redx(sim, webhook_token="").webhook_authentic(headers={}, query={"token": ""})


def test_webhook_parse_reads_the_documented_payload(sim):
    courier = redx(sim)
    [update] = courier.webhook_parse(
        payload={
            "tracking_number": "26A312THJDJ8",
            "timestamp": "2026-12-05T10:15:00.000Z",
            "status": "delivery-in-progress",
            "message_en": "Parcel is out for delivery",
            "message_bn": "পার্সেলটি ডেলিভারির পথে",
            "invoice_number": "ZS-1001",
        }
    )
    assert (update.consignment_id, update.merchant_order_id) == ("26A312THJDJ8", "ZS-1001")
    assert (update.state, update.raw_status) == ("out_for_delivery", "delivery-in-progress")
    assert update.occurred_at is not None and update.occurred_at.isoformat().startswith(
        "2026-12-05T10:15:00"
    )
    assert update.message == "Parcel is out for delivery"
    [local] = courier.webhook_parse(
        payload={
            "tracking_number": "X",
            "status": "weird-new-status",
            "timestamp": "2026-12-05 16:15:00",
        }
    )
    assert local.state == "unknown" and local.occurred_at.hour == 10  # Bangladesh time
    assert courier.webhook_parse(payload={"hello": "world"}) == []
    reply = courier.webhook_reply(payload={})
    assert (reply.status, reply.body) == (200, {"status": "ok"})


def test_settings_are_read_from_the_environment(monkeypatch):
    from lib.conf import load_redx_config

    monkeypatch.setenv("REDX_BASE_URL", "https://sandbox.redx.com.bd/v1.0.0-beta/")
    monkeypatch.setenv("REDX_PICKUP_AREA_ID", "12")
    monkeypatch.setenv(
        "REDX_EXTRA_STATUSES", "cancelled=cancelled, partial-delivered = partially_delivered,junk"
    )
    monkeypatch.setenv("REDX_DISTRICT_NAMES", "Chattogram=Chittagong")
    monkeypatch.setenv("COURIER_HTTP_TIMEOUT", "4.5")
    config = load_redx_config()
    assert config.base_url == "https://sandbox.redx.com.bd/v1.0.0-beta"
    assert (config.pickup_area_id, config.pickup_store_id, config.http_timeout) == (12, 0, 4.5)
    assert config.extra_statuses == (
        ("cancelled", "cancelled"),
        ("partial-delivered", "partially_delivered"),
    )
    assert config.district_names == (("Chattogram", "Chittagong"),)
    assert RedxCourier(config=config).state_of("partial-delivered") == "partially_delivered"
