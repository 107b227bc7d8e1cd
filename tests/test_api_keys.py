"""API keys: the services (create, rotate, revoke, last use) and the admin API at
/api/v1/admin/api-keys behind the real access pipeline."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from api.api_keys import app
from db.models import ApiKey, ApiKeySecret, User, UserRole, Vendor
from lib.access.api_key_cache import ApiKeyRecord, api_key_record_load, cache_key
from lib.access.api_keys import api_key_create, api_key_revoke, api_key_rotate, secret_hash
from lib.access.sessions import session_start
from lib.errors import ApiError
from tests.support import call

BASE = "/api/v1/admin/api-keys"


def assert_api_error(exc_info, status: int, code: str, field: str | None = None) -> None:
    error = exc_info.value
    assert (error.status_code, error.code) == (status, code)
    if field:
        assert field in error.fields


# --- creating ---------------------------------------------------------------------------


def test_a_secret_key_gets_a_secret_shown_once_and_stored_as_a_hash(db, kv):
    key, secret = api_key_create(name="ERP sync", kind="secret", scopes=["orders:manage"])
    assert re.fullmatch(r"zk_sec_[A-Za-z0-9]{24}", key.key_id)
    assert secret is not None and re.fullmatch(r"zk_secret_[A-Za-z0-9]{40}", secret)
    stored = ApiKeySecret.objects.get(api_key=key)
    assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert stored.prefix == secret[:14]
    assert stored.expires_at is None
    assert secret not in json.dumps([stored.secret_hash, stored.prefix])


def test_a_publishable_key_has_no_secret_and_normalised_origins(db, kv):
    key, secret = api_key_create(
        name="Web shop",
        kind="publishable",
        scopes=["storefront:read"],
        allowed_origins=[
            "https://Shop.Example.com/",
            "https://shop.example.com:443",
            "http://localhost:3000",
        ],
    )
    assert secret is None
    assert key.key_id.startswith("zk_pub_")
    assert key.allowed_origins == ["http://localhost:3000", "https://shop.example.com"]
    assert not ApiKeySecret.objects.filter(api_key=key).exists()


def test_key_ids_are_unique(db, kv):
    ids = {
        api_key_create(name=f"k{n}", kind="publishable", scopes=["storefront:read"])[0].key_id
        for n in range(20)
    }
    assert len(ids) == 20


@pytest.mark.parametrize(
    ("kind", "scopes", "origins", "field"),
    [
        ("publishable", ["storefront:read", "orders:manage"], [], "scopes"),
        ("publishable", ["api_keys:manage"], [], "scopes"),
        ("secret", ["orders:launch_rockets"], [], "scopes"),
        ("secret", [], [], "scopes"),
        ("secret", ["orders:manage"], ["https://shop.example.com"], "allowed_origins"),
        ("publishable", ["storefront:read"], ["shop.example.com"], "allowed_origins"),
        ("publishable", ["storefront:read"], ["https://shop.example.com/cart"], "allowed_origins"),
        ("publishable", ["storefront:read"], ["javascript://x"], "allowed_origins"),
    ],
)
def test_invalid_keys_are_refused(db, kind, scopes, origins, field):
    with pytest.raises(ApiError) as exc_info:
        api_key_create(name="Bad", kind=kind, scopes=scopes, allowed_origins=origins)
    assert_api_error(exc_info, 422, "validation_error", field)
    assert not ApiKey.objects.exists()


# --- rotating and revoking ------------------------------------------------------------------


def test_rotation_overlaps_then_expires_and_prunes(db, kv):
    key, first = api_key_create(name="ERP", kind="secret", scopes=["orders:manage"])
    before = timezone.now()
    second = api_key_rotate(api_key=key, overlap_seconds=600)

    assert second != first
    secrets = {s.secret_hash: s for s in ApiKeySecret.objects.filter(api_key=key)}
    old, new = secrets[secret_hash(first)], secrets[secret_hash(second)]
    assert new.expires_at is None
    assert (
        before + timedelta(seconds=599) <= old.expires_at <= timezone.now() + timedelta(seconds=600)
    )

    record = api_key_record_load(key_id=key.key_id)
    assert {digest for digest, _ in record.secrets} == {old.secret_hash, new.secret_hash}

    ApiKeySecret.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert [d for d, _ in api_key_record_load(key_id=key.key_id).secrets] == [new.secret_hash]
    third = api_key_rotate(api_key=key, overlap_seconds=600)
    remaining = set(ApiKeySecret.objects.filter(api_key=key).values_list("secret_hash", flat=True))
    assert remaining == {secret_hash(second), secret_hash(third)}  # the expired one is gone


def test_a_second_rotation_does_not_extend_an_ending_overlap(db, kv):
    key, first = api_key_create(name="ERP", kind="secret", scopes=["orders:manage"])
    api_key_rotate(api_key=key, overlap_seconds=60)
    api_key_rotate(api_key=key, overlap_seconds=3600)
    oldest = ApiKeySecret.objects.get(secret_hash=secret_hash(first))
    assert oldest.expires_at <= timezone.now() + timedelta(seconds=60)


def test_the_record_checks_expiry_when_used_not_only_when_cached():
    record = ApiKeyRecord(
        id="1",
        key_id="zk_sec_x",
        kind="secret",
        scopes=(),
        origins=(),
        vendor_id=None,
        revoked=False,
        secrets=(("a" * 64, 1_000), ("b" * 64, None)),
    )
    assert record.live_secret_hashes(999.0) == ["a" * 64, "b" * 64]
    assert record.live_secret_hashes(1_000.0) == ["b" * 64]
    assert ApiKeyRecord.from_json(record.to_json()) == record


def test_publishable_and_revoked_keys_cannot_be_rotated(db, kv):
    publishable, _ = api_key_create(name="Web", kind="publishable", scopes=["storefront:read"])
    with pytest.raises(ApiError) as exc_info:
        api_key_rotate(api_key=publishable)
    assert_api_error(exc_info, 409, "conflict", "kind")

    key, _ = api_key_create(name="ERP", kind="secret", scopes=["orders:manage"])
    api_key_revoke(api_key=key)
    with pytest.raises(ApiError) as exc_info:
        api_key_rotate(api_key=key)
    assert_api_error(exc_info, 409, "conflict", "revoked_at")


def test_revoking_twice_keeps_the_first_time_and_rewrites_the_cache(db, kv):
    key, _ = api_key_create(name="ERP", kind="secret", scopes=["orders:manage"])
    api_key_revoke(api_key=key)
    first = key.revoked_at
    assert first is not None
    assert json.loads(kv.get(cache_key(key.key_id)))["revoked"] is True
    api_key_revoke(api_key=key)
    key.refresh_from_db()
    assert key.revoked_at == first


# --- the admin API ----------------------------------------------------------------------


@pytest.fixture
def console(db, kv):
    """The admin console: a key with the `api_keys:manage` scope, used by a signed-in admin."""
    key, secret = api_key_create(name="Admin console", kind="secret", scopes=["api_keys:manage"])
    admin = User.objects.create_user(
        "admin@example.com", "a long enough password", role=UserRole.ADMIN
    )
    tokens = session_start(user=admin, ip="127.0.0.1", user_agent="pytest")
    return {
        "X-API-Key": key.key_id,
        "X-API-Secret": secret,
        "Authorization": f"Bearer {tokens.access_token}",
    }


def bearer_of(email: str, role: str) -> str:
    user = User.objects.create_user(email, "a long enough password", role=role)
    return f"Bearer {session_start(user=user, ip='127.0.0.1', user_agent='pytest').access_token}"


def test_create_shows_the_secret_once(console):
    created = call(
        app,
        "POST",
        BASE,
        json_body={"name": "Warehouse", "kind": "secret", "scopes": ["orders:manage"]},
        headers=console,
    )
    assert created.status == 201, created.body
    body = created.json()
    secret, key_id = body["secret"], body["key"]["key_id"]
    assert secret.startswith("zk_secret_")
    assert body["key"]["secrets"][0]["prefix"] == secret[:14]

    detail = call(app, "GET", f"{BASE}/{key_id}", headers=console)
    assert detail.status == 200
    assert secret not in detail.body.decode()
    assert detail.json()["scopes"] == ["orders:manage"]

    # The new key authenticates straight away (and lacks this route's scope).
    probe = call(app, "GET", BASE, headers={"X-API-Key": key_id, "X-API-Secret": secret})
    assert (probe.status, probe.json()["error"]["code"]) == (403, "scope_denied")


def test_create_refuses_a_publishable_key_with_back_office_scopes(console):
    response = call(
        app,
        "POST",
        BASE,
        json_body={"name": "Web", "kind": "publishable", "scopes": ["orders:manage"]},
        headers=console,
    )
    assert response.status == 422
    assert response.json()["error"]["code"] == "validation_error"
    assert "scopes" in response.json()["error"]["fields"]


def test_create_for_a_vendor(console):
    vendor = Vendor.objects.create(name="Sylhet Tea", slug="sylhet-tea")
    response = call(
        app,
        "POST",
        BASE,
        json_body={
            "name": "Tea sync",
            "kind": "secret",
            "scopes": ["vendor:manage"],
            "vendor_id": str(vendor.pk),
        },
        headers=console,
    )
    assert response.status == 201
    assert response.json()["key"]["vendor_id"] == str(vendor.pk)
    unknown = call(
        app,
        "POST",
        BASE,
        json_body={
            "name": "x",
            "kind": "secret",
            "scopes": ["vendor:manage"],
            "vendor_id": "00000000-0000-0000-0000-000000000000",
        },
        headers=console,
    )
    assert unknown.status == 422
    assert "vendor_id" in unknown.json()["error"]["fields"]


def test_list_is_paginated_in_a_fixed_number_of_queries(console, django_assert_max_num_queries):
    for n in range(6):
        api_key_create(name=f"Key {n}", kind="secret", scopes=["orders:manage"])
    call(app, "GET", BASE, headers=console)  # the console's key record is cached from now on
    # last-use sync (the key ids, one UPDATE), count, page, the page's secrets
    with django_assert_max_num_queries(5):
        page = call(app, "GET", f"{BASE}?page=1&page_size=4&kind=secret", headers=console)
    assert page.status == 200, page.body
    body = page.json()
    assert (body["count"], body["pages"], len(body["items"])) == (7, 2, 4)
    assert all(item["secrets"] for item in body["items"])

    revoked = call(app, "GET", f"{BASE}?revoked=true", headers=console)
    assert revoked.json()["count"] == 0


def test_list_shows_last_use(console):
    call(app, "GET", BASE, headers=console)  # the console key is used (and so marked)
    listed = call(app, "GET", f"{BASE}?q=Admin%20console", headers=console).json()
    assert listed["items"][0]["last_used_at"] is not None


def test_rotate_and_revoke_through_the_api(console):
    created = call(
        app,
        "POST",
        BASE,
        json_body={"name": "ERP", "kind": "secret", "scopes": ["orders:manage"]},
        headers=console,
    ).json()
    key_id, first = created["key"]["key_id"], created["secret"]

    rotated = call(
        app, "POST", f"{BASE}/{key_id}/rotate", json_body={"overlap_seconds": 120}, headers=console
    )
    assert rotated.status == 200, rotated.body
    second = rotated.json()["secret"]
    assert second != first
    expiries = [s["expires_at"] for s in rotated.json()["key"]["secrets"]]
    assert expiries[0] is None and expiries[1] is not None  # newest first; the old one ends

    revoked = call(app, "POST", f"{BASE}/{key_id}/revoke", headers=console)
    assert revoked.status == 200
    assert revoked.json()["revoked_at"] is not None
    again = call(app, "POST", f"{BASE}/{key_id}/rotate", json_body={}, headers=console)
    assert again.status == 409

    missing = call(app, "GET", f"{BASE}/zk_sec_{'Z' * 24}", headers=console)
    assert missing.status == 404


def test_only_admins_through_a_key_with_the_scope(console):
    staff = {**console, "Authorization": bearer_of("staff@example.com", UserRole.STAFF)}
    forbidden = call(app, "GET", BASE, headers=staff)
    assert (forbidden.status, forbidden.json()["error"]["code"]) == (403, "forbidden")

    anonymous = {k: v for k, v in console.items() if k != "Authorization"}
    unauthenticated = call(app, "GET", BASE, headers=anonymous)
    assert unauthenticated.status == 401

    other_key, other_secret = api_key_create(name="Orders", kind="secret", scopes=["orders:manage"])
    wrong_scope = {
        "X-API-Key": other_key.key_id,
        "X-API-Secret": other_secret,
        "Authorization": console["Authorization"],
    }
    refused = call(app, "GET", BASE, headers=wrong_scope)
    assert (refused.status, refused.json()["error"]["code"]) == (403, "scope_denied")
