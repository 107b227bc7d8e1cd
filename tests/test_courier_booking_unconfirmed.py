"""A booking whose courier answer was lost (a timeout or 5xx after the create was sent) makes
one parcel, never two: it stays `booking_unconfirmed` (202) and booking again sends no create
until the courier's webhook naming our order number fills it in (Pathao, RedX), a look-up by
order number finds it (Steadfast), or staff release it after checking the courier's panel.
A courier that certainly did nothing (connection refused) leaves nothing behind. All over
HTTP against the couriers' simulators, with their slow and failing answers."""

from __future__ import annotations

import socket
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from db.models import Consignment, ConsignmentEvent, Order
from devtools.courier_sims import steadfast as steadfast_module
from devtools.courier_sims.redx import start_redx_simulator
from devtools.courier_sims.steadfast import start_steadfast_simulator
from lib.couriers.poll import courier_poll
from tests.courier_shop import (
    booking,
    bookings_at_once,
    cod_order_processing,
    cod_order_to_gulshan,
    couriers_admin,
    pathao_served,
    redx_config_set,
    simulator_posting_to_us,
    steadfast_config_set,
)
from tests.pathao_sim import control
from tests.payment_shop import signed_in

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 0.5  # our courier HTTP timeout here
LATE = 1.2  # how late the simulators answer a create (after making the parcel)


def closed_port_url() -> str:
    """A local URL nothing listens on: the connection is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def wait_for(check, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the simulator never got there"
        time.sleep(0.05)


@pytest.fixture
def staff(server_key):
    return signed_in(server_key, "staff")[1]


# --- Pathao: settled by its order.created webhook --------------------------------------------


@pytest.fixture
def pathao(kv, monkeypatch):
    with pathao_served(monkeypatch, http_timeout=TIMEOUT) as sim:
        yield sim


def pathao_unconfirmed(pathao, server_key, staff) -> tuple[Order, dict]:
    """A Pathao booking whose create answered too late: Pathao made the parcel meanwhile."""
    order = cod_order_to_gulshan(server_key, staff)
    control(pathao, "fail", {"route": "orders", "delay": LATE})
    first = booking(order, staff, "pathao")
    assert first.status == 202, first.body
    answer = first.json()
    assert (answer["state"], answer["consignment_id"]) == ("booking_unconfirmed", "")
    wait_for(lambda: len(pathao.sim.parcels) == 1)
    return order, answer


def test_a_pathao_create_answered_too_late_is_kept_and_filled_in_by_its_webhook(
    pathao, server_key, staff
):
    order, first = pathao_unconfirmed(pathao, server_key, staff)

    again = booking(order, staff, "pathao")
    refreshed = couriers_admin("POST", f"/consignments/{first['id']}/refresh", staff)

    assert (again.status, again.json()["id"]) == (202, first["id"])
    assert refreshed.status == 409, refreshed.body
    assert refreshed.json()["error"]["code"] == "courier_booking_unconfirmed"
    assert pathao.sim.hits("orders") == 1 and len(pathao.sim.parcels) == 1
    assert courier_poll(older_than_minutes=0)["unconfirmed"] == 1

    (parcel_id,) = pathao.sim.parcels
    record = control(pathao, f"parcels/{parcel_id}/advance", {"event": "order.created"})
    assert record["accepted"], record
    settled = booking(order, staff, "pathao")

    assert settled.status == 200, settled.body
    assert settled.json()["id"] == first["id"]
    assert (settled.json()["state"], settled.json()["consignment_id"]) == ("booked", parcel_id)
    assert settled.json()["tracking_code"] == parcel_id
    assert pathao.sim.hits("orders") == 1 and len(pathao.sim.parcels) == 1
    assert courier_poll(older_than_minutes=0)["unconfirmed"] == 0


def test_concurrent_retries_of_an_unconfirmed_booking_send_no_create(pathao, server_key, staff):
    order, first = pathao_unconfirmed(pathao, server_key, staff)
    replies = bookings_at_once(order, staff, "pathao")

    assert [reply.status for reply in replies] == [202] * 6
    assert {reply.json()["id"] for reply in replies} == {first["id"]}
    assert pathao.sim.hits("orders") == 1 and len(pathao.sim.parcels) == 1
    assert Consignment.objects.filter(order=order).count() == 1


def test_a_pathao_5xx_is_unconfirmed_until_staff_release_it_then_one_parcel_is_booked(
    pathao, server_key, staff
):
    order = cod_order_to_gulshan(server_key, staff)
    control(pathao, "fail", {"route": "orders", "status": 502})
    first = booking(order, staff, "pathao")
    assert (first.status, first.json()["state"]) == (202, "booking_unconfirmed")
    assert booking(order, staff, "pathao").status == 202
    assert pathao.sim.hits("orders") == 1 and pathao.sim.parcels == {}

    released = couriers_admin("POST", f"/consignments/{first.json()['id']}/release", staff)
    assert released.status == 200, released.body
    assert (released.json()["state"], released.json()["raw_status"]) == ("cancelled", "released")
    again = couriers_admin("POST", f"/consignments/{first.json()['id']}/release", staff)
    assert again.status == 409
    assert again.json()["error"]["code"] == "consignment_not_unconfirmed"

    booked = booking(order, staff, "pathao")
    assert booked.status == 201, booked.body
    assert booked.json()["state"] == "booked" and booked.json()["id"] != first.json()["id"]
    assert pathao.sim.hits("orders") == 2 and len(pathao.sim.parcels) == 1
    sources = ConsignmentEvent.objects.filter(consignment_id=first.json()["id"])
    assert sorted(sources.values_list("source", "raw_status")) == [
        ("booking", "no answer"),
        ("staff", "released"),
    ]


def test_a_pathao_claim_whose_instance_died_becomes_unconfirmed_not_sent_again(
    pathao, server_key, staff
):
    order = cod_order_to_gulshan(server_key, staff)
    claim = Consignment.objects.create(order=order, courier="pathao", state="booking")
    stale = timezone.now() - timedelta(minutes=10)
    Consignment.objects.filter(pk=claim.pk).update(updated_at=stale)

    taken = booking(order, staff, "pathao")

    assert (taken.status, taken.json()["id"]) == (202, str(claim.pk))
    assert taken.json()["state"] == "booking_unconfirmed"
    assert pathao.sim.hits("orders") == 0


def test_a_bulk_booking_counts_an_unconfirmed_order_apart(pathao, server_key, staff):
    first, second = cod_order_to_gulshan(server_key, staff), cod_order_to_gulshan(server_key, staff)
    control(pathao, "fail", {"route": "orders", "status": 504})  # the first create only

    body = {"order_numbers": [first.number, second.number], "courier": "pathao"}
    reply = couriers_admin("POST", "/consignments/bulk", staff, body)

    assert reply.status == 200, reply.body
    answer = reply.json()
    assert (answer["booked"], answer["unconfirmed"], answer["failed"]) == (1, 1, 0)
    states = [row["consignment"]["state"] for row in answer["results"]]
    assert states == ["booking_unconfirmed", "booked"]
    assert pathao.sim.hits("orders") == 2 and len(pathao.sim.parcels) == 1


def test_only_staff_release_an_unconfirmed_booking(pathao, server_key, staff):
    order = cod_order_to_gulshan(server_key, staff)
    control(pathao, "fail", {"route": "orders", "status": 503})
    first = booking(order, staff, "pathao")
    _, customer = signed_in(server_key, "customer")

    refused = couriers_admin("POST", f"/consignments/{first.json()['id']}/release", customer)

    assert refused.status in (401, 403), refused.body
    assert Consignment.objects.get(pk=first.json()["id"]).state == "booking_unconfirmed"


# --- RedX: settled by its webhook naming the invoice -------------------------------------------


@pytest.fixture
def redx(kv, monkeypatch):
    with simulator_posting_to_us("redx", start_redx_simulator) as sim:
        redx_config_set(monkeypatch, sim.url, http_timeout=TIMEOUT)
        yield sim


def test_a_redx_create_answered_too_late_is_filled_in_by_its_webhook(redx, server_key, staff):
    order = cod_order_processing(server_key, staff)  # to Savar, an area RedX knows
    redx.slow_next("parcel", LATE)  # the create only: the area look-up answers at once

    first = booking(order, staff, "redx")
    assert (first.status, first.json()["state"]) == (202, "booking_unconfirmed"), first.body
    wait_for(lambda: len(redx.parcels) == 1)
    assert booking(order, staff, "redx").status == 202
    assert redx.hits("parcel") == 1

    (tracking_id,) = redx.parcels
    record = redx.advance(tracking_id, "pickup-pending")
    assert record["reply_status"] == 200, record
    settled = booking(order, staff, "redx")

    assert settled.status == 200, settled.body
    assert settled.json()["id"] == first.json()["id"]
    assert (settled.json()["state"], settled.json()["tracking_code"]) == ("booked", tracking_id)
    assert redx.hits("parcel") == 1 and len(redx.parcels) == 1


# --- Steadfast: settled by a look-up by invoice ------------------------------------------------


@pytest.fixture
def steadfast(kv, monkeypatch):
    with start_steadfast_simulator() as sim:

        def configure(base_url: str = sim.url) -> None:
            steadfast_config_set(
                monkeypatch,
                sim.url,
                sim_tracking=True,
                base_url=steadfast_module.env(base_url)["STEADFAST_BASE_URL"],
                http_timeout=TIMEOUT,
            )

        configure()
        sim.configure = configure
        yield sim


def test_a_steadfast_create_answered_too_late_is_found_by_invoice_on_retry(
    steadfast, server_key, staff
):
    order = cod_order_to_gulshan(server_key, staff)
    steadfast.slow_next("create_order", LATE)  # the invoice look-up right after finds nothing

    first = booking(order, staff, "steadfast")
    assert (first.status, first.json()["state"]) == (202, "booking_unconfirmed"), first.body
    wait_for(lambda: len(steadfast.parcels) == 1)
    settled = booking(order, staff, "steadfast")

    assert settled.status == 200, settled.body
    assert settled.json()["id"] == first.json()["id"]
    assert settled.json()["state"] == "booked" and settled.json()["consignment_id"]
    assert steadfast.hits("create_order") == 1 and len(steadfast.parcels) == 1


def test_a_refused_connection_keeps_nothing_and_booking_again_makes_one_parcel(
    steadfast, server_key, staff
):
    order = cod_order_to_gulshan(server_key, staff)
    steadfast.configure(closed_port_url())

    refused = booking(order, staff, "steadfast")

    assert refused.status == 503, refused.body
    assert refused.json()["error"]["code"] == "courier_unavailable"
    assert not Consignment.objects.filter(order=order).exists()
    steadfast.configure()
    booked = booking(order, staff, "steadfast")
    assert (booked.status, booked.json()["state"]) == (201, "booked")
    assert steadfast.hits("create_order") == 1 and len(steadfast.parcels) == 1


def test_a_steadfast_5xx_where_steadfast_has_no_parcel_is_booked_once_on_retry(
    steadfast, server_key, staff
):
    order = cod_order_to_gulshan(server_key, staff)
    steadfast.fail_next("create_order", 502)

    first = booking(order, staff, "steadfast")
    assert (first.status, first.json()["state"]) == (202, "booking_unconfirmed")
    assert steadfast.parcels == {}
    again = booking(order, staff, "steadfast")

    assert (again.status, again.json()["state"]) == (201, "booked"), again.body
    assert again.json()["id"] == first.json()["id"]
    assert steadfast.hits("create_order") == 2 and len(steadfast.parcels) == 1
