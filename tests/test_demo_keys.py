"""The API keys `zest dev` prints work, survive restarts, and a lost secret is re-issued."""

from __future__ import annotations

import pytest

import api.catalog
from devtools.demo_keys import demo_keys_ensure
from tests.support import call

pytestmark = pytest.mark.django_db


def products(headers: dict[str, str]) -> int:
    return call(api.catalog.app, "GET", "/api/v1/products", headers=headers).status


def test_demo_keys_authenticate_and_are_stable_across_runs(tmp_path, kv):
    keys = demo_keys_ensure(data_dir=tmp_path, dev_origin="http://127.0.0.1:8000")
    again = demo_keys_ensure(data_dir=tmp_path, dev_origin="http://127.0.0.1:8000")

    assert again == keys
    assert products({"X-API-Key": keys.storefront_key}) == 200
    assert products({"X-API-Key": keys.storefront_key, "Origin": "http://127.0.0.1:8000"}) == 200
    assert products({"X-API-Key": keys.storefront_key, "Origin": "https://evil.test"}) == 403
    assert products({"X-API-Key": keys.server_key, "X-API-Secret": keys.server_secret}) == 200
    assert (tmp_path / "demo-keys.json").stat().st_mode & 0o077 == 0


def test_a_lost_demo_secret_is_replaced(tmp_path, kv):
    keys = demo_keys_ensure(data_dir=tmp_path, dev_origin="http://127.0.0.1:8000")
    (tmp_path / "demo-keys.json").unlink()

    renewed = demo_keys_ensure(data_dir=tmp_path, dev_origin="http://127.0.0.1:8000")

    assert renewed.server_key == keys.server_key
    assert renewed.server_secret != keys.server_secret
    assert products({"X-API-Key": renewed.server_key, "X-API-Secret": renewed.server_secret}) == 200
    assert products({"X-API-Key": keys.server_key, "X-API-Secret": keys.server_secret}) == 401
