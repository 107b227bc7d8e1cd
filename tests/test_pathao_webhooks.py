"""Pathao's webhooks as our tracking updates: every event slug's state, the amounts and the
payout reference they carry, their times, handshakes, and the signature check."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from lib.conf import PathaoConfig
from lib.couriers.pathao import INTEGRATION_HEADER, INTEGRATION_SECRET, PathaoCourier
from tests import pathao_sim
from tests.pathao_sim import control, make_courier, parcel

running, sim = pathao_sim.running, pathao_sim.sim  # fixtures

# --- webhook events -------------------------------------------------------------------------

EVENT_STATES = {
    "order.created": "booked",
    "order.updated": "booked",
    "order.pickup-requested": "booked",
    "order.assigned-for-pickup": "booked",
    "order.picked": "picked_up",
    "order.pickup-failed": "booked",
    "order.pickup-cancelled": "cancelled",
    "order.at-the-sorting-hub": "in_transit",
    "order.in-transit": "in_transit",
    "order.received-at-last-mile-hub": "in_transit",
    "order.assigned-for-delivery": "out_for_delivery",
    "order.delivered": "delivered",
    "order.partial-delivery": "partially_delivered",
    "order.returned": "returning",
    "order.delivery-failed": "delivery_failed",
    "order.on-hold": "on_hold",
    "order.paid": "paid_out",
    "order.paid-return": "returning",
    "order.exchanged": "delivered",
    "order.return-id-created": "returning",
    "order.return-in-transit": "returning",
    "order.returned-to-merchant": "returned",
    "order.something-new": "unknown",
}


def test_every_event_the_simulator_sends_has_a_state():
    from devtools.courier_sims.pathao_data import EVENTS

    assert set(EVENTS) <= set(EVENT_STATES)


@pytest.mark.parametrize(("event", "state"), EVENT_STATES.items())
def test_each_webhook_event_becomes_its_state(sim, event, state):
    booking = make_courier(sim).book(parcel=parcel())
    record = control(sim, f"parcels/{booking.consignment_id}/advance", {"event": event})
    [update] = make_courier(sim).webhook_parse(payload=record["payload"])
    assert (update.state, update.raw_status) == (state, event)
    assert update.consignment_id == booking.consignment_id
    assert update.merchant_order_id == "ZS-2026-000101"
    assert update.occurred_at is not None and update.occurred_at.tzinfo == UTC


def test_webhook_extras_become_amounts_and_the_payout_reference(sim):
    courier = make_courier(sim)
    booking = courier.book(parcel=parcel(cod_amount=Decimal("600")))
    path = f"parcels/{booking.consignment_id}/advance"
    [created] = courier.webhook_parse(
        payload=control(sim, path, {"event": "order.created"})["payload"]
    )
    assert created.delivery_fee == Decimal("75")
    [delivered] = courier.webhook_parse(
        payload=control(sim, path, {"event": "order.delivered"})["payload"]
    )
    assert delivered.collected_amount == Decimal("600")
    [partial] = courier.webhook_parse(
        payload=control(sim, path, {"event": "order.partial-delivery"})["payload"]
    )
    assert partial.collected_amount == Decimal("300") and partial.message
    [paid] = courier.webhook_parse(payload=control(sim, path, {"event": "order.paid"})["payload"])
    assert paid.raw["invoice_id"].startswith("INV") and paid.raw["invoice_id"] in paid.message


def test_the_time_is_pathaos_utc_timestamp_else_its_dhaka_local_time():
    courier = PathaoCourier(PathaoConfig(base_url="http://pathao.invalid"))
    base = {"consignment_id": "DL1", "event": "order.picked", "updated_at": "2026-12-05 19:06:41"}
    [stamped] = courier.webhook_parse(payload={**base, "timestamp": "2026-12-05T13:06:40Z"})
    assert stamped.occurred_at == datetime(2026, 12, 5, 13, 6, 40, tzinfo=UTC)
    [local] = courier.webhook_parse(payload=base)
    assert local.occurred_at == datetime(2026, 12, 5, 13, 6, 41, tzinfo=UTC)


@pytest.mark.parametrize(
    "payload",
    [
        {"event": "webhook_integration"},
        {"event": "store.created", "store_id": 7, "store_name": "Banani"},
        {"event": "order.picked"},  # no consignment
        {},
    ],
)
def test_handshakes_and_unrelated_notifications_carry_no_update(payload):
    courier = PathaoCourier(PathaoConfig(base_url="http://pathao.invalid"))
    assert courier.webhook_parse(payload=payload) == []
    reply = courier.webhook_reply(payload=payload)
    assert (reply.status, reply.headers) == (202, {INTEGRATION_HEADER: INTEGRATION_SECRET})


@pytest.mark.parametrize(
    ("configured", "headers", "authentic"),
    [
        ("s3cret", {"X-PATHAO-Signature": "s3cret"}, True),
        ("s3cret", {"x-pathao-signature": "s3cret"}, True),
        ("s3cret", {"X-PATHAO-Signature": "s3cret "}, False),
        ("s3cret", {"X-PATHAO-Signature": "other"}, False),
        ("s3cret", {}, False),
        ("", {"X-PATHAO-Signature": ""}, False),  # no secret configured: nothing is authentic
    ],
)
def test_the_webhook_signature_is_our_secret_verbatim(configured, headers, authentic):
    courier = PathaoCourier(PathaoConfig(base_url="http://p.invalid", webhook_secret=configured))
    assert courier.webhook_authentic(headers=headers, query={}) is authentic
