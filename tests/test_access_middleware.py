"""The access pipeline through a real function: API keys (publishable, secret, signed),
origins and CORS, bearer tokens and their sessions, exempt paths, and the cost of an
authenticated request in KV round trips (counted at the Upstash bridge) and SQL queries."""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import timedelta

from lib.runtime import FunctionApp, build_api

import pytest
from django.conf import settings
from django.http import JsonResponse
from django.urls import path
from django.utils import timezone
from ninja import Router

from db.models import ApiKeySecret, User, UserRole, Vendor
from lib.access.api_key_cache import cache_key, used_marker_key
from lib.access.api_keys import (
    api_key_create,
    api_key_revoke,
    api_key_rotate,
    api_key_sync_last_used,
    secret_hash,
)
from lib.access.context import get_access
from lib.access.paths import is_exempt, is_geo_exempt
from lib.access.permissions import Require
from lib.access.sessions import TokenPair, session_end, session_start
from lib.kv import local_bridge
from tests.support import call

ACCESS_MIDDLEWARE = "lib.access.middleware.AccessMiddleware"
SHOP = "https://shop.example.com"


def access_summary(request) -> dict:
    access = get_access(request)
    key, claims = access.api_key, access.claims
    return {
        "key_id": key.key_id if key else None,
        "kind": key.kind if key else None,
        "scopes": sorted(key.scopes) if key else [],
        "vendor_id": key.vendor_id if key else None,
        "user_id": claims.user_id if claims else None,
        "role": claims.role if claims else None,
        "token_error": access.token_error,
    }


router = Router()


@router.api_operation(["GET", "POST", "DELETE"], "", auth=None)
def probe(request):
    return access_summary(request)


@router.get("/catalog-admin", auth=Require(scope="catalog:manage", user=False))
def catalog_admin(request):
    return {"ok": True}


def exempt_probe(request):
    return JsonResponse(access_summary(request))


probe_api = build_api("access_probe", title="Access probe")
probe_api.add_router("/probe", router)
app = FunctionApp(
    "access_probe",
    [
        path("api/v1/", probe_api.urls),
        path("api/webhooks/probe", exempt_probe),
        path("api/cron/probe", exempt_probe),
    ],
    api=probe_api,
    middleware=list(dict.fromkeys([*settings.MIDDLEWARE, ACCESS_MIDDLEWARE])),
)


def signature_headers(
    secret: str,
    method: str,
    path: str,
    query: str = "",
    body: bytes = b"",
    *,
    timestamp: int | None = None,
) -> dict[str, str]:
    """The signing recipe of `lib.access.api_key_auth`, written out independently."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    message = f"{stamp}\n{method}\n{path}?{query}\n{hashlib.sha256(body).hexdigest()}"
    signing_key = hashlib.sha256(secret.encode()).hexdigest().encode()
    signature = hmac.new(signing_key, message.encode(), hashlib.sha256).hexdigest()
    return {"X-Timestamp": stamp, "X-Signature": signature}


def error_code(response) -> str:
    return response.json()["error"]["code"]


@pytest.fixture
def server_key(db, kv):
    key, secret = api_key_create(name="Fulfilment", kind="secret", scopes=["catalog:manage"])
    return key, secret


@pytest.fixture
def storefront_key(db, kv):
    key, secret = api_key_create(
        name="Storefront",
        kind="publishable",
        scopes=["storefront:read", "storefront:write"],
        allowed_origins=[SHOP, "http://localhost:3000"],
    )
    assert secret is None
    return key


def signed_in(email: str, role: str = UserRole.CUSTOMER) -> tuple[User, TokenPair]:
    user = User.objects.create_user(email, "a long enough password", role=role)
    return user, session_start(user=user, ip="127.0.0.1", user_agent="pytest")


def round_trips_and_queries(django_assert_max_num_queries, make_request):
    """(response, KV round trips, SQL queries) of one request."""
    bridge = local_bridge()
    assert bridge is not None, "tests talk to the local Upstash bridge"
    with django_assert_max_num_queries(10) as queries:
        before = bridge.request_count
        response = make_request()
        trips = bridge.request_count - before
    return response, trips, len(queries)


# --- exempt paths ---------------------------------------------------------------------


def test_exempt_paths_need_no_key(db, kv):
    for url in ("/api/webhooks/probe", "/api/cron/probe"):
        response = call(app, "GET", url)
        assert response.status == 200, url
        assert response.json()["key_id"] is None
        assert "x-ratelimit-limit" not in response.headers  # no per-key limit either


def test_the_exempt_list_matches_whole_segments():
    assert is_exempt("/api/health")
    assert is_exempt("/api/v1/openapi.json")
    assert is_exempt("/api/v1/openapi/catalog.json")
    assert is_exempt("/api/v1/docs")
    assert is_exempt("/admin/db/product/")
    assert is_exempt("/api/webhooks/bkash")
    assert not is_exempt("/api/healthz")
    assert not is_exempt("/api/v1/openapi-private")
    assert not is_exempt("/api/v1/products")
    assert is_geo_exempt("/api/cron/outbox")
    assert not is_geo_exempt("/api/v1/docs")


# --- missing, wrong and revoked keys --------------------------------------------------


def test_a_request_without_a_key_is_refused_in_the_callers_language(db, kv):
    response = call(app, "GET", "/api/v1/probe", headers={"Accept-Language": "bn"})
    assert response.status == 401
    assert error_code(response) == "api_key_required"
    assert "X-API-Key" in response.json()["error"]["message"]


def test_a_malformed_key_costs_no_round_trip(db, kv, django_assert_max_num_queries):
    response, trips, queries = round_trips_and_queries(
        django_assert_max_num_queries,
        lambda: call(app, "GET", "/api/v1/probe", headers={"X-API-Key": "not-a-key"}),
    )
    assert (response.status, error_code(response)) == (401, "api_key_invalid")
    assert (trips, queries) == (0, 0)


def test_an_unknown_key_is_refused_and_remembered(db, kv, django_assert_max_num_queries):
    headers = {"X-API-Key": "zk_sec_" + "A" * 24, "X-API-Secret": "zk_secret_whatever"}
    first, _, first_queries = round_trips_and_queries(
        django_assert_max_num_queries, lambda: call(app, "GET", "/api/v1/probe", headers=headers)
    )
    again, _, again_queries = round_trips_and_queries(
        django_assert_max_num_queries, lambda: call(app, "GET", "/api/v1/probe", headers=headers)
    )
    assert [error_code(first), error_code(again)] == ["api_key_invalid"] * 2
    assert (first_queries, again_queries) == (1, 0)  # probing costs no SQL once cached


def test_revocation_takes_effect_on_the_next_request(server_key, kv):
    key, secret = server_key
    headers = {"X-API-Key": key.key_id, "X-API-Secret": secret}
    assert call(app, "GET", "/api/v1/probe", headers=headers).status == 200
    assert kv.get(cache_key(key.key_id)) is not None  # the record is cached and warm

    api_key_revoke(api_key=key)

    refused = call(app, "GET", "/api/v1/probe", headers=headers)
    assert (refused.status, error_code(refused)) == (401, "api_key_revoked")


# --- publishable keys, origins and CORS ------------------------------------------------


def test_a_publishable_key_works_without_an_origin_and_from_its_origins(storefront_key):
    headers = {"X-API-Key": storefront_key.key_id}
    server_side = call(app, "GET", "/api/v1/probe", headers=headers)
    assert server_side.status == 200
    assert server_side.json()["kind"] == "publishable"
    assert "access-control-allow-origin" not in server_side.headers

    browser = call(app, "GET", "/api/v1/probe", headers={**headers, "Origin": SHOP})
    assert browser.status == 200
    assert browser.headers["access-control-allow-origin"] == SHOP
    assert "Origin" in browser.headers["vary"]
    assert "X-RateLimit-Remaining" in browser.headers["access-control-expose-headers"]


def test_a_publishable_key_from_another_origin_is_refused(storefront_key):
    response = call(
        app,
        "GET",
        "/api/v1/probe",
        headers={"X-API-Key": storefront_key.key_id, "Origin": "https://evil.example"},
    )
    assert (response.status, error_code(response)) == (403, "origin_denied")
    assert "access-control-allow-origin" not in response.headers


def test_an_origin_with_its_default_port_is_the_same_origin(storefront_key):
    response = call(
        app,
        "GET",
        "/api/v1/probe",
        headers={"X-API-Key": storefront_key.key_id, "Origin": "https://SHOP.example.com:443"},
    )
    assert response.status == 200


def test_preflight_is_answered_for_allowed_origins_only(storefront_key):
    preflight = {
        "Origin": SHOP,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-api-key, authorization, content-type",
    }
    allowed = call(app, "OPTIONS", "/api/v1/probe", headers=preflight)
    assert allowed.status == 204
    assert allowed.headers["access-control-allow-origin"] == SHOP
    assert "POST" in allowed.headers["access-control-allow-methods"]
    allowed_headers = allowed.headers["access-control-allow-headers"].lower()
    assert {"x-api-key", "authorization", "content-type"} <= {
        name.strip() for name in allowed_headers.split(",")
    }
    assert "x-api-secret" not in allowed_headers  # secrets never come from browsers
    assert int(allowed.headers["access-control-max-age"]) > 0

    denied = call(
        app, "OPTIONS", "/api/v1/probe", headers={**preflight, "Origin": "https://evil.example"}
    )
    assert (denied.status, error_code(denied)) == (403, "origin_denied")

    api_key_revoke(api_key=storefront_key)
    after_revoke = call(app, "OPTIONS", "/api/v1/probe", headers=preflight)
    assert after_revoke.status == 403


# --- scopes ---------------------------------------------------------------------------


def test_a_route_refuses_a_key_without_its_scope(storefront_key, server_key):
    refused = call(
        app, "GET", "/api/v1/probe/catalog-admin", headers={"X-API-Key": storefront_key.key_id}
    )
    assert (refused.status, error_code(refused)) == (403, "scope_denied")

    key, secret = server_key
    allowed = call(
        app,
        "GET",
        "/api/v1/probe/catalog-admin",
        headers={"X-API-Key": key.key_id, "X-API-Secret": secret},
    )
    assert allowed.status == 200, allowed.body


# --- secret keys: the secret itself -----------------------------------------------------


def test_a_secret_key_authenticates_with_its_secret(db, kv):
    vendor = Vendor.objects.create(name="Dhaka Crafts", slug="dhaka-crafts")
    key, secret = api_key_create(
        name="Vendor sync", kind="secret", scopes=["vendor:manage"], vendor=vendor
    )
    response = call(
        app, "GET", "/api/v1/probe", headers={"X-API-Key": key.key_id, "X-API-Secret": secret}
    )
    assert response.status == 200
    assert response.json() == {
        "key_id": key.key_id,
        "kind": "secret",
        "scopes": ["vendor:manage"],
        "vendor_id": str(vendor.pk),
        "user_id": None,
        "role": None,
        "token_error": None,
    }


def test_a_secret_key_without_or_with_a_wrong_secret_is_refused(server_key):
    key, secret = server_key
    missing = call(app, "GET", "/api/v1/probe", headers={"X-API-Key": key.key_id})
    assert (missing.status, error_code(missing)) == (401, "api_secret_required")
    wrong = call(
        app,
        "GET",
        "/api/v1/probe",
        headers={
            "X-API-Key": key.key_id,
            "X-API-Secret": secret[:-1] + ("y" if secret.endswith("x") else "x"),
        },
    )
    assert (wrong.status, error_code(wrong)) == (401, "api_secret_invalid")


def test_another_keys_secret_does_not_work(server_key):
    key, _ = server_key
    _, other_secret = api_key_create(name="Other", kind="secret", scopes=["orders:manage"])
    response = call(
        app, "GET", "/api/v1/probe", headers={"X-API-Key": key.key_id, "X-API-Secret": other_secret}
    )
    assert error_code(response) == "api_secret_invalid"


# --- secret keys: signed requests --------------------------------------------------------


def test_a_signed_request_is_accepted_once(server_key):
    key, secret = server_key
    body = b'{"sku": "TEA-1", "quantity": 3}'
    headers = {
        "X-API-Key": key.key_id,
        **signature_headers(secret, "POST", "/api/v1/probe", "page=2&q=cha", body),
    }
    first = call(app, "POST", "/api/v1/probe?page=2&q=cha", body=body, headers=headers)
    assert first.status == 200, first.body
    assert first.json()["key_id"] == key.key_id

    replay = call(app, "POST", "/api/v1/probe?page=2&q=cha", body=body, headers=headers)
    assert (replay.status, error_code(replay)) == (401, "signature_replayed")


def test_a_signed_get_without_body_or_query(server_key):
    key, secret = server_key
    headers = {"X-API-Key": key.key_id, **signature_headers(secret, "GET", "/api/v1/probe")}
    assert call(app, "GET", "/api/v1/probe", headers=headers).status == 200


@pytest.mark.parametrize(
    "tamper",
    ["body", "query", "method", "path-secret", "malformed"],
)
def test_a_bad_signature_is_refused(server_key, tamper):
    key, secret = server_key
    body = b'{"quantity": 3}'
    signed = signature_headers(secret, "POST", "/api/v1/probe", "a=1", body)
    method, url, sent_body = "POST", "/api/v1/probe?a=1", body
    if tamper == "body":
        sent_body = b'{"quantity": 300}'
    elif tamper == "query":
        url = "/api/v1/probe?a=2"
    elif tamper == "method":
        method = "DELETE"
    elif tamper == "path-secret":  # signed with the plain secret instead of its hash
        message = f"{signed['X-Timestamp']}\nPOST\n/api/v1/probe?a=1\n"
        message += hashlib.sha256(body).hexdigest()
        signed["X-Signature"] = hmac.new(
            secret.encode(), message.encode(), hashlib.sha256
        ).hexdigest()
    else:
        signed["X-Signature"] = "not hex"
    response = call(app, method, url, body=sent_body, headers={"X-API-Key": key.key_id, **signed})
    assert (response.status, error_code(response)) == (401, "signature_invalid")


@pytest.mark.parametrize("offset", [-301, 301, -3600])
def test_a_signature_outside_the_window_is_refused(server_key, offset):
    key, secret = server_key
    stamp = int(time.time()) + offset
    headers = {
        "X-API-Key": key.key_id,
        **signature_headers(secret, "GET", "/api/v1/probe", timestamp=stamp),
    }
    response = call(app, "GET", "/api/v1/probe", headers=headers)
    assert (response.status, error_code(response)) == (401, "signature_expired")


def test_a_signature_inside_the_window_is_accepted(server_key):
    key, secret = server_key
    stamp = int(time.time()) - 290
    headers = {
        "X-API-Key": key.key_id,
        **signature_headers(secret, "GET", "/api/v1/probe", timestamp=stamp),
    }
    assert call(app, "GET", "/api/v1/probe", headers=headers).status == 200


# --- rotation -----------------------------------------------------------------------------


def test_rotation_keeps_the_old_secret_working_during_the_overlap(server_key):
    key, old_secret = server_key
    new_secret = api_key_rotate(api_key=key, overlap_seconds=3600)
    assert new_secret != old_secret
    for secret in (old_secret, new_secret):
        response = call(
            app, "GET", "/api/v1/probe", headers={"X-API-Key": key.key_id, "X-API-Secret": secret}
        )
        assert response.status == 200
        signed = {
            "X-API-Key": key.key_id,
            **signature_headers(secret, "GET", "/api/v1/probe", f"s={secret[-6:]}"),
        }
        assert call(app, "GET", f"/api/v1/probe?s={secret[-6:]}", headers=signed).status == 200


def test_a_secret_past_its_expiry_is_refused(server_key):
    key, current = server_key
    expired = "zk_secret_" + "E" * 40
    ApiKeySecret.objects.create(
        api_key=key,
        secret_hash=secret_hash(expired),
        prefix=expired[:14],
        expires_at=timezone.now() - timedelta(seconds=1),  # the overlap ended a second ago
    )
    refused = call(
        app, "GET", "/api/v1/probe", headers={"X-API-Key": key.key_id, "X-API-Secret": expired}
    )
    assert (refused.status, error_code(refused)) == (401, "api_secret_invalid")
    signed = {"X-API-Key": key.key_id, **signature_headers(expired, "GET", "/api/v1/probe")}
    assert error_code(call(app, "GET", "/api/v1/probe", headers=signed)) == "signature_invalid"
    still = call(
        app, "GET", "/api/v1/probe", headers={"X-API-Key": key.key_id, "X-API-Secret": current}
    )
    assert still.status == 200


def test_rotation_without_overlap_retires_the_old_secret_at_once(server_key):
    key, old_secret = server_key
    headers = {"X-API-Key": key.key_id, "X-API-Secret": old_secret}
    assert call(app, "GET", "/api/v1/probe", headers=headers).status == 200  # record cached

    new_secret = api_key_rotate(api_key=key, overlap_seconds=0)

    assert error_code(call(app, "GET", "/api/v1/probe", headers=headers)) == "api_secret_invalid"
    fresh = {"X-API-Key": key.key_id, "X-API-Secret": new_secret}
    assert call(app, "GET", "/api/v1/probe", headers=fresh).status == 200


# --- bearer tokens --------------------------------------------------------------------------


def test_a_bearer_token_of_a_live_session_names_the_user(server_key):
    key, secret = server_key
    user, tokens = signed_in("rahim@example.com", role=UserRole.STAFF)
    headers = {
        "X-API-Key": key.key_id,
        "X-API-Secret": secret,
        "Authorization": f"Bearer {tokens.access_token}",
    }
    signed_in_answer = call(app, "GET", "/api/v1/probe", headers=headers).json()
    assert (signed_in_answer["user_id"], signed_in_answer["role"]) == (str(user.pk), "staff")
    assert signed_in_answer["token_error"] is None

    session_end(session_id=tokens.refresh_token.partition(".")[0])

    signed_out = call(app, "GET", "/api/v1/probe", headers=headers)
    assert signed_out.status == 200  # the route decides whether it needs a user
    assert (signed_out.json()["user_id"], signed_out.json()["token_error"]) == (None, "revoked")


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [("Bearer not.a.jwt", "invalid"), ("Basic dXNlcjpwYXNz", "invalid"), ("Bearer ", "invalid")],
)
def test_a_bad_bearer_token_is_reported_not_refused(storefront_key, authorization, reason):
    response = call(
        app,
        "GET",
        "/api/v1/probe",
        headers={"X-API-Key": storefront_key.key_id, "Authorization": authorization},
    )
    assert response.status == 200
    assert (response.json()["user_id"], response.json()["token_error"]) == (None, reason)


# --- headers and last use -------------------------------------------------------------------


def test_rate_limit_headers_are_on_successes_and_refusals(server_key):
    key, secret = server_key
    ok = call(
        app, "GET", "/api/v1/probe", headers={"X-API-Key": key.key_id, "X-API-Secret": secret}
    )
    assert int(ok.headers["x-ratelimit-limit"]) > 0
    refused = call(
        app, "GET", "/api/v1/probe/catalog-admin", headers={"X-API-Key": key.key_id}
    )  # no secret: refused before the limiter
    assert refused.status == 401
    assert "x-ratelimit-limit" not in refused.headers


def test_last_use_is_recorded_and_synced_forward_only(server_key, kv):
    key, secret = server_key
    assert key.last_used_at is None
    before = int(time.time())
    call(app, "GET", "/api/v1/probe", headers={"X-API-Key": key.key_id, "X-API-Secret": secret})

    kv.set(used_marker_key("zk_sec_" + "Q" * 24), str(before))  # a made-up key id: ignored
    assert api_key_sync_last_used() == 1
    key.refresh_from_db()
    assert key.last_used_at is not None
    assert before <= key.last_used_at.timestamp() <= time.time()
    synced = key.last_used_at

    kv.set(used_marker_key(key.key_id), str(before - 3600))  # an older marker
    api_key_sync_last_used()
    key.refresh_from_db()
    assert key.last_used_at == synced


# --- the budget ---------------------------------------------------------------------------


def test_an_authenticated_request_costs_two_round_trips_and_no_query_when_warm(
    server_key, django_assert_max_num_queries
):
    key, secret = server_key
    user, tokens = signed_in("budget@example.com")
    headers = {
        "X-API-Key": key.key_id,
        "X-API-Secret": secret,
        "Authorization": f"Bearer {tokens.access_token}",
    }

    def authenticated():
        return call(app, "GET", "/api/v1/probe", headers=headers)

    cold, cold_trips, cold_queries = round_trips_and_queries(
        django_assert_max_num_queries, authenticated
    )
    warm, warm_trips, warm_queries = round_trips_and_queries(
        django_assert_max_num_queries, authenticated
    )

    for response in (cold, warm):
        assert response.status == 200
        assert response.json()["user_id"] == str(user.pk)
    # Key record not cached yet: the pipeline, filling the cache, the rate limit; one query.
    assert (cold_trips, cold_queries) == (3, 1)
    # Warm: the pipeline (key record, session, last-used marker) and the rate limit.
    assert (warm_trips, warm_queries) == (2, 0)
    with django_assert_max_num_queries(1):
        assert authenticated().status == 200


def test_a_signed_request_costs_the_same(server_key, django_assert_max_num_queries):
    key, secret = server_key
    _, tokens = signed_in("signed-budget@example.com")
    bearer = {"Authorization": f"Bearer {tokens.access_token}", "X-API-Key": key.key_id}
    call(app, "GET", "/api/v1/probe", headers={"X-API-Key": key.key_id, "X-API-Secret": secret})

    response, trips, queries = round_trips_and_queries(
        django_assert_max_num_queries,
        lambda: call(
            app,
            "GET",
            "/api/v1/probe?n=1",
            headers={**bearer, **signature_headers(secret, "GET", "/api/v1/probe", "n=1")},
        ),
    )
    assert response.status == 200
    assert response.json()["user_id"] is not None
    assert (trips, queries) == (2, 0)
