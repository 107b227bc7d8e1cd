"""Pathao Courier: the adapter against the local simulator over HTTP: the shared token, the
place look-ups, the price plan, orders and their failures."""

from __future__ import annotations

import json
import threading
import time
from decimal import Decimal

import pytest

from devtools.courier_sims import pathao as sim_module
from lib.conf import PathaoConfig
from lib.couriers.base import CourierError
from lib.couriers.pathao import PathaoCourier
from tests import pathao_sim
from tests.pathao_sim import control, make_courier, parcel, sim_state

running, sim = pathao_sim.running, pathao_sim.sim  # fixtures

# --- token ----------------------------------------------------------------------------------


def test_the_token_is_issued_once_and_shared_by_every_instance_through_kv(sim, kv):
    first = make_courier(sim)
    first.book(parcel=parcel())
    key = first.token.key
    make_courier(sim).book(parcel=parcel(merchant_order_id="ZS-2026-000102"))
    state = sim_state(sim)
    assert state["token_issues"] == {"password": 1}
    assert state["hits"]["orders"] == 2
    record = json.loads(kv.get(key))
    assert record["access_token"] in sim.sim.tokens
    assert 431_000 < kv.ttl(key) <= 432_000


def test_another_pathao_host_never_gets_the_cached_token_or_places(sim):
    here = make_courier(sim)
    here.book(parcel=parcel())
    here.city_list()
    there = make_courier(sim, base_url=sim.url.replace("127.0.0.1", "localhost"))
    there.book(parcel=parcel())
    there.city_list()
    assert there.token.key != here.token.key
    state = sim_state(sim)
    assert (state["token_issues"], state["hits"]["city-list"]) == ({"password": 2}, 2)


def test_concurrent_instances_issue_one_token(sim):
    errors: list[Exception] = []

    def work(index: int) -> None:
        try:
            make_courier(sim).book(parcel=parcel(merchant_order_id=f"ZS-C-{index}"))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sim_state(sim)["token_issues"] == {"password": 1}
    assert len(sim.sim.parcels) == 8


def test_the_client_credentials_flow_logs_in_without_a_password(sim):
    courier = make_courier(sim, auth_flow="client_credentials", username="", password="")
    courier.book(parcel=parcel())
    state = sim_state(sim)
    assert state["token_issues"] == {"client_credentials": 1}
    assert state["hits"]["external/login"] == 1
    assert "issue-token" not in state["hits"]


def test_the_token_is_refreshed_with_the_refresh_grant_past_half_its_life(sim, kv):
    control(sim, "config", {"expires_in": 2})
    courier = make_courier(sim)
    booked = courier.book(parcel=parcel())
    key = courier.token.key
    first = json.loads(kv.get(key))["access_token"]
    time.sleep(1.1)  # past half of the 2 s life, still usable
    courier.track(consignment_id=booked.consignment_id)
    assert sim_state(sim)["token_issues"] == {"password": 1, "refresh_token": 1}
    assert json.loads(kv.get(key))["access_token"] not in ("", first)


def test_concurrent_instances_past_half_life_refresh_once(sim):
    control(sim, "config", {"expires_in": 2})
    booked = make_courier(sim).book(parcel=parcel())
    time.sleep(1.1)
    errors: list[Exception] = []

    def work() -> None:
        try:
            make_courier(sim).track(consignment_id=booked.consignment_id)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    # Refresh tokens are single use at Pathao: a second refresh would have been refused.
    assert sim_state(sim)["token_issues"] == {"password": 1, "refresh_token": 1}


def test_a_refused_refresh_falls_back_to_a_new_token(sim):
    control(sim, "config", {"expires_in": 2})
    courier = make_courier(sim)
    booked = courier.book(parcel=parcel())
    control(sim, "tokens/revoke", {"access": False, "refresh": True})
    time.sleep(1.1)
    assert courier.track(consignment_id=booked.consignment_id).state == "booked"
    state = sim_state(sim)
    assert state["token_issues"] == {"password": 2}
    assert state["hits"]["issue-token"] == 3  # password, refused refresh, password


def test_an_expired_token_is_never_sent(sim):
    control(sim, "config", {"expires_in": 1})
    courier = make_courier(sim)
    booked = courier.book(parcel=parcel())
    time.sleep(1.2)  # gone from KV with its life
    courier.track(consignment_id=booked.consignment_id)
    state = sim_state(sim)
    assert state["token_issues"] == {"password": 2}
    assert state["hits"][f"orders/{booked.consignment_id}/info"] == 1  # no 401 on the way


def test_a_refused_token_is_dropped_and_the_call_made_once_more(sim):
    courier = make_courier(sim)
    booked = courier.book(parcel=parcel())
    control(sim, "tokens/revoke")  # Pathao no longer knows the cached token
    update = courier.track(consignment_id=booked.consignment_id)
    assert update.state == "booked"
    state = sim_state(sim)
    assert state["token_issues"] == {"password": 2}
    assert state["hits"][f"orders/{booked.consignment_id}/info"] == 2


def test_wrong_credentials_are_a_clear_error_not_a_retry_loop(sim):
    courier = make_courier(sim, password="not-the-password")
    with pytest.raises(CourierError) as caught:
        courier.book(parcel=parcel())
    assert (caught.value.code, caught.value.retryable) == ("courier_auth_failed", False)
    assert sim_state(sim)["hits"] == {"issue-token": 1}


# --- look-ups and price plan -----------------------------------------------------------------


def test_cities_zones_and_areas_are_cached_for_a_day(sim, kv):
    courier = make_courier(sim)
    assert {"city_id": 1, "city_name": "Dhaka"} in courier.city_list()
    assert courier.zones(1)[1] == {"zone_id": 102, "zone_name": "Gulshan"}
    assert courier.areas(102)[2]["area_name"] == " Bonolota"
    again = make_courier(sim)
    again.city_list(), again.zones(1), again.areas(102)
    hits = sim_state(sim)["hits"]
    assert (hits["city-list"], hits["cities/1/zone-list"], hits["zones/102/area-list"]) == (1, 1, 1)
    assert 86_000 < kv.ttl(f"couriers:pathao:{courier.account}:lookup:cities") <= 86_400


@pytest.mark.parametrize(
    ("district", "area", "city", "zone"),
    [
        ("Dhaka", "Gulshan", 1, 102),
        ("Chattogram", "Chittagong Sadar", 2, 201),  # our spelling, Pathao's older one
        ("Narayanganj", "Nowhere", 4, 401),  # no zone of that name: the city's first
        ("Atlantis", "Nowhere", 1, 101),  # no such city: PATHAO_DEFAULT_CITY_ID
    ],
)
def test_a_district_and_area_find_pathao_city_and_zone_by_name(sim, district, area, city, zone):
    courier = make_courier(sim)
    assert courier.city_for(district) == city
    assert courier.zone_for(city, area) == zone


def test_the_price_plan_is_the_quote_with_the_cod_percentage(sim):
    courier = make_courier(sim)
    inside = courier.quote(parcel=parcel())
    assert (inside.delivery_fee, inside.cod_fee) == (Decimal("75.00"), Decimal("5.46"))
    outside = courier.quote(parcel=parcel(district="Chattogram", cod_amount=Decimal(0)))
    assert (outside.delivery_fee, outside.cod_fee) == (Decimal("125.00"), Decimal(0))
    assert outside.raw["plan_id"] == 2


# --- orders ------------------------------------------------------------------------------------


def test_a_parcel_is_booked_with_pathao_fields(sim):
    booking = make_courier(sim).book(parcel=parcel(note="Call before coming"))
    assert booking.consignment_id.startswith("DL")
    assert booking.tracking_code == booking.consignment_id
    assert booking.delivery_fee == Decimal("75")
    sent = sim.sim.parcels[booking.consignment_id]["body"]
    assert sent == {
        "store_id": sim_module.STORE_ID,
        "merchant_order_id": "ZS-2026-000101",
        "recipient_name": "Karim Ahmed",
        "recipient_phone": "01812345678",
        "recipient_address": "Flat 3B, Road 7, Gulshan, Dhaka",
        "delivery_type": 48,
        "item_type": 2,
        "item_quantity": 2,
        "item_weight": 1.2,
        "amount_to_collect": 546,  # whole taka
        "item_description": "2 items",
        "special_instruction": "Call before coming",
    }


def test_a_light_parcel_is_sent_as_half_a_kilo_and_a_heavy_one_refused_before_the_call(sim):
    courier = make_courier(sim)
    light = courier.book(parcel=parcel(weight_grams=80))
    assert sim.sim.parcels[light.consignment_id]["body"]["item_weight"] == 0.5
    with pytest.raises(CourierError) as caught:
        courier.book(parcel=parcel(weight_grams=12_500))
    assert (caught.value.code, caught.value.retryable) == ("courier_rejected", False)
    assert sim_state(sim)["hits"]["orders"] == 1


def test_pathao_refusing_a_parcel_is_a_non_retryable_error_naming_the_field(sim):
    with pytest.raises(CourierError) as caught:
        make_courier(sim).book(parcel=parcel(recipient_phone="8801812345678"))
    assert (caught.value.code, caught.value.retryable) == ("courier_rejected", False)
    assert "recipient_phone" in str(caught.value)
    assert sim.sim.parcels == {}


def test_order_info_is_the_polled_status(sim):
    courier = make_courier(sim)
    booking = courier.book(parcel=parcel())
    first = courier.track(consignment_id=booking.consignment_id)
    assert (first.state, first.raw_status) == ("booked", "Pending")
    assert first.merchant_order_id == "ZS-2026-000101"
    control(sim, f"parcels/{booking.consignment_id}/advance", {"event": "order.in-transit"})
    moved = courier.track(consignment_id=booking.consignment_id)
    assert (moved.state, moved.raw_status) == ("in_transit", "In Transit")
    assert moved.occurred_at is not None and moved.occurred_at.tzinfo is not None
    control(sim, f"parcels/{booking.consignment_id}/advance", {"event": "order.teleported"})
    odd = courier.track(consignment_id=booking.consignment_id)
    assert (odd.state, odd.raw_status) == ("unknown", "order.teleported")


@pytest.mark.parametrize("route", ["orders", "issue-token"])
def test_a_pathao_5xx_is_a_retryable_error(sim, route):
    control(sim, "fail", {"route": route, "status": 503})
    with pytest.raises(CourierError) as caught:
        make_courier(sim).book(parcel=parcel())
    assert (caught.value.code, caught.value.retryable) == ("courier_unavailable", True)
    assert sim.sim.parcels == {}
    make_courier(sim).book(parcel=parcel())  # the failure passed: the next call works


def test_a_slow_pathao_is_a_retryable_timeout(sim):
    courier = make_courier(sim, http_timeout=0.3)
    courier.city_list()  # token in hand
    control(sim, "fail", {"route": "merchant/price-plan", "delay": 1.0})
    started = time.monotonic()
    with pytest.raises(CourierError) as caught:
        courier.quote(parcel=parcel())
    assert time.monotonic() - started < 1.0
    assert (caught.value.code, caught.value.retryable) == ("courier_unavailable", True)
    assert "timed out" in str(caught.value)


def test_pathao_has_no_cancel_and_the_tracking_page_is_configurable(sim):
    courier = make_courier(sim, tracking_url="https://track.example/p?id={code}")
    with pytest.raises(CourierError) as caught:
        courier.cancel(consignment_id="DL0101")
    assert caught.value.code == "courier_unsupported"
    assert courier.tracking_url(tracking_code="DL0101") == "https://track.example/p?id=DL0101"


def test_an_unconfigured_pathao_says_so():
    with pytest.raises(CourierError) as caught:
        PathaoCourier(PathaoConfig())
    assert caught.value.code == "courier_not_configured"
