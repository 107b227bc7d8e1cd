"""The Pathao simulator for adapter tests: one per module, reset (with KV) for each test, and
driven over HTTP through its control routes."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import httpx
import pytest

from devtools.courier_sims import pathao as sim_module
from devtools.courier_sims.pathao import start_pathao_simulator
from lib.conf import PathaoConfig
from lib.couriers.base import Parcel
from lib.couriers.pathao import PathaoCourier
from tests.courier_shop import sim_control


@pytest.fixture(scope="module")
def running():
    with start_pathao_simulator() as server:
        yield server


@pytest.fixture
def sim(running, kv):
    running.reset()
    return running


control = sim_control  # a test's move on the simulator, over HTTP like any other client


def sim_state(sim) -> dict:
    return httpx.get(f"{sim.url}/__sim/state", timeout=5).json()


def settings(sim, **overrides) -> PathaoConfig:
    values = {
        "base_url": sim.url,
        "client_id": sim_module.CLIENT_ID,
        "client_secret": sim_module.CLIENT_SECRET,
        "username": sim_module.USERNAME,
        "password": sim_module.PASSWORD,
        "store_id": str(sim_module.STORE_ID),
        "webhook_secret": sim_module.WEBHOOK_SECRET,
        "http_timeout": 2.0,
        **overrides,
    }
    return dataclasses.replace(PathaoConfig(), **values)


def make_courier(sim, **overrides) -> PathaoCourier:
    return PathaoCourier(settings(sim, **overrides))


def parcel(**fields) -> Parcel:
    values = {
        "merchant_order_id": "ZS-2026-000101",
        "recipient_name": "Karim Ahmed",
        "recipient_phone": "01812345678",
        "recipient_address": "Flat 3B, Road 7",
        "district": "Dhaka",
        "area": "Gulshan",
        "cod_amount": Decimal("545.50"),
        "declared_value": Decimal("545.50"),
        "weight_grams": 1200,
        "item_count": 2,
        "description": "2 items",
        **fields,
    }
    return Parcel(**values)
