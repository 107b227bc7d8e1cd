"""Helpers for courier and order-SMS tests driven through the HTTP API against the simulators:
a COD order placed at checkout and packed by staff, booked through the couriers' admin API,
its parcel moved on the simulator, and the order's timeline read back."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import threading
from collections.abc import Iterator

import httpx
import pytest
from django.db import connection

import api.couriers
import api.orders
from db.models import Consignment, Order, OrderStatusEvent
from devtools.courier_sims import redx as redx_sim_module
from devtools.courier_sims import steadfast as steadfast_sim_module
from devtools.courier_sims.pathao import env as pathao_env
from devtools.courier_sims.pathao import start_pathao_simulator
from devtools.courier_sims.redx import start_redx_simulator
from devtools.sms_sims import gateway as sms_sim_module
from devtools.sms_sims.gateway import start_sms_simulator
from devtools.wsgi_server import BackgroundServer, server_url, start_server
from lib import conf
from lib.conf import RedxConfig, SteadfastConfig
from tests.payment_shop import order_place, shop_product, signed_in
from tests.support import WsgiResponse, call

SAVAR = {"address_line1": "House 4, Bank Colony", "upazila": "Savar"}  # Dhaka's suburbs
GULSHAN = {"address_line1": "House 12, Road 7", "area": "Gulshan"}  # Dhaka city
REDX_TRACKING = "https://redx.com.bd/track-parcel/?trackingId={code}"
STEADFAST_TRACKING = "https://steadfast.com.bd/t/{code}"


# --- orders ----------------------------------------------------------------------------------


def order_move(order: Order, staff: dict[str, str], *statuses: str) -> None:
    """Staff move the order through `statuses`, one transition each, in the admin API."""
    for status in statuses:
        reply = call(
            api.orders.app,
            "POST",
            f"/api/v1/admin/orders/{order.number}/transition",
            json_body={"to_status": status},
            headers=staff,
        )
        assert reply.status == 200, reply.body


def cod_order_processing(
    headers: dict[str, str],
    staff: dict[str, str],
    *,
    price: str = "445.00",
    quantity: int = 2,
    email: str | None = "karim@shop.test",
    address: dict[str, str] = SAVAR,
) -> Order:
    """A COD order placed at checkout by `headers` (a customer, or the server key for a
    guest), to Savar unless `address` says otherwise, and packed by staff (processing)."""
    product = shop_product(price)
    order = order_place(
        product, headers, "cod", quantity=quantity, email=email, address=address, status="placed"
    )
    order_move(order, staff, "processing")
    order.refresh_from_db()
    return order


def cod_order_to_gulshan(server_key: dict[str, str], staff: dict[str, str]) -> Order:
    """A new customer's cash-on-delivery order to Gulshan, confirmed and packed by staff."""
    _, customer = signed_in(server_key, "customer")
    return cod_order_processing(
        customer, staff, price="500.00", quantity=1, email=None, address=GULSHAN
    )


def timeline(order: Order) -> list[tuple[str, str]]:
    return list(
        OrderStatusEvent.objects.filter(order=order)
        .order_by("created_at", "id")
        .values_list("from_status", "to_status")
    )


# --- the couriers' admin API -------------------------------------------------------------------


def couriers_admin(
    method: str, path: str, headers: dict, body: dict | None = None, **options
) -> WsgiResponse:
    url = f"/api/v1/admin/couriers{path}"
    return call(api.couriers.app, method, url, json_body=body, headers=headers, **options)


def booking(order: Order, headers: dict, courier: str, **options) -> WsgiResponse:
    """Staff ask to book the order with `courier`; the admin API's reply, whatever it is."""
    body = {"order_number": order.number, "courier": courier}
    return couriers_admin("POST", "/consignments", headers, body, **options)


def bookings_at_once(order: Order, headers: dict, courier: str, count: int = 6) -> list:
    """`count` requests to book the order let go at the same moment, each on its own database
    connection; their replies in the order they came back."""
    barrier = threading.Barrier(count)
    replies: list[WsgiResponse] = []
    lock = threading.Lock()

    def attempt() -> None:
        try:
            barrier.wait()
            reply = booking(order, headers, courier, isolated=True)
        finally:
            connection.close()
        with lock:
            replies.append(reply)

    threads = [threading.Thread(target=attempt) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return replies


def booked(order: Order, headers: dict, courier: str) -> dict:
    """Staff book the order with `courier`: a new consignment (201), as the API answers it."""
    reply = booking(order, headers, courier)
    assert reply.status == 201, reply.body
    return reply.json()


def consignment_booked(order: Order, headers: dict, courier: str, tracking: str) -> Consignment:
    """As `booked`, the answer's tracking URL being `tracking` with its code filled in."""
    answer = booked(order, headers, courier)
    assert answer["tracking_url"] == tracking.format(code=answer["tracking_code"])
    return Consignment.objects.get(pk=answer["id"])


def redx_book(order: Order, staff: dict) -> Consignment:
    """Staff book the order with RedX through the admin API."""
    return consignment_booked(order, staff, "redx", REDX_TRACKING)


# --- the simulators --------------------------------------------------------------------------


def sim_control(sim, route: str, body: dict | None = None) -> dict:
    """A test's move on a simulator, over HTTP like any other client."""
    reply = httpx.post(f"{sim.url}/__sim/{route}", json=body or {}, timeout=15)
    assert reply.status_code == 200, reply.text
    return reply.json()


def parcel_advance(sim, parcel_id: str, status: str, **extra) -> dict:
    """The courier moves the parcel to `status`: its webhook is posted, its reply recorded."""
    return sim_control(sim, f"parcels/{parcel_id}/advance", {"status": status, **extra})


@contextlib.contextmanager
def webhook_served(app, name: str) -> Iterator[BackgroundServer]:
    """Our webhook function served over HTTP, for a simulator to post to."""
    server, thread = start_server(app, "127.0.0.1", 0, name=name)
    running = BackgroundServer(server, thread)
    try:
        yield running
    finally:
        running.stop()


@contextlib.contextmanager
def pathao_served(monkeypatch, *, http_timeout: float):
    """The Pathao simulator, posting its webhooks to our webhook function served over HTTP
    (its URL kept as `.webhook_url`), and the API configured for it from the environment as in
    production."""
    import api.webhooks.pathao

    sim = start_pathao_simulator()
    server, _thread = start_server(api.webhooks.pathao.app, "127.0.0.1", 0, name="pathao-hook")
    webhook_url = f"{server_url(server)}/api/webhooks/pathao"
    sim_control(sim, "config", {"webhook_url": webhook_url})
    for name, value in pathao_env(sim.url).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("COURIER_HTTP_TIMEOUT", str(http_timeout))
    monkeypatch.setattr(conf, "pathao_config", conf.load_pathao_config(), raising=False)
    sim.webhook_url = webhook_url
    try:
        yield sim
    finally:
        server.shutdown()
        server.server_close()
        sim.stop()


def redx_config(url: str, **overrides) -> RedxConfig:
    """The RedX settings for a simulator served at `url`, as `zest dev` makes them."""
    values = redx_sim_module.env(url)
    config = RedxConfig(
        base_url=values["REDX_BASE_URL"],
        access_token=values["REDX_ACCESS_TOKEN"],
        pickup_store_id=int(values["REDX_PICKUP_STORE_ID"]),
        pickup_area_id=int(values["REDX_PICKUP_AREA_ID"]),
        webhook_token=values["REDX_WEBHOOK_TOKEN"],
        http_timeout=2.0,
    )
    return dataclasses.replace(config, **overrides)


def redx_config_set(monkeypatch, url: str, **overrides) -> None:
    """Points the RedX adapter at a simulator served at `url`."""
    monkeypatch.setattr(conf, "redx_config", redx_config(url, **overrides))


def steadfast_config_set(monkeypatch, url: str, *, sim_tracking: bool = False, **overrides) -> None:
    """Points the Steadfast adapter at a simulator served at `url`; with `sim_tracking` its
    tracking links are the simulator's pages, otherwise Steadfast's own."""
    values = steadfast_sim_module.env(url)
    config = SteadfastConfig(
        base_url=values["STEADFAST_BASE_URL"],
        api_key=values["STEADFAST_API_KEY"],
        secret_key=values["STEADFAST_SECRET_KEY"],
        webhook_token=values["STEADFAST_WEBHOOK_TOKEN"],
        http_timeout=2.0,
    )
    if sim_tracking:
        overrides = {"tracking_url": values["STEADFAST_TRACKING_URL"], **overrides}
    monkeypatch.setattr(conf, "steadfast_config", dataclasses.replace(config, **overrides))


@contextlib.contextmanager
def simulator_posting_to_us(courier: str, start_simulator):
    """A courier's simulator whose moves post to our webhook function for it, served over HTTP."""
    webhooks = importlib.import_module(f"api.webhooks.{courier}")
    with (
        webhook_served(webhooks.app, f"{courier}-webhook") as hook,
        start_simulator(webhook_url=f"{hook.url}/api/webhooks/{courier}") as server,
    ):
        yield server


@pytest.fixture(scope="module")
def redx_running():
    with simulator_posting_to_us("redx", start_redx_simulator) as server:
        yield server


@pytest.fixture
def redx(redx_running, kv, monkeypatch):
    """The RedX simulator, posting to our webhook over HTTP, with the adapter pointed at it."""
    redx_running.reset()
    redx_config_set(monkeypatch, redx_running.url)
    return redx_running


@pytest.fixture(scope="module")
def sms_running():
    with start_sms_simulator() as server:
        yield server


@pytest.fixture
def sms_sim(sms_running, kv):
    sms_running.reset()
    return sms_running


def sms_backend_use(monkeypatch, sim, backend: str, **overrides) -> None:
    """Point the SMS settings at the simulator for `backend` (as `zest dev` does)."""
    settings = {
        name.lower(): value
        for name, value in sms_sim_module.env(sim.url, backend).items()
        if name != "SMS_BACKEND"
    }
    monkeypatch.setattr(
        conf,
        "sms_config",
        dataclasses.replace(conf.sms_config, backend=backend, **{**settings, **overrides}),
    )
