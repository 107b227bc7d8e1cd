"""Rate limits over the real KV (Redis through the Upstash bridge): the limit and its headers,
one bucket per principal, the stricter sensitive routes, one round trip per request, and
failing open when the KV is unreachable."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from django.test import RequestFactory

from lib.access.api_keys import api_key_create
from lib.access.context import AccessClaims, AccessContext, ApiKeyInfo
from lib.access.ratelimit import RateLimiter, build_rate_limiter, is_sensitive_path, rate_limit
from lib.conf import Rate, config
from lib.errors import MESSAGES
from lib.kv import local_bridge
from tests.support import call, run_python

DAY = 86_400  # a window this long does not roll over in the middle of a test (in practice)
rf = RequestFactory()


def user(user_id: str) -> AccessClaims:
    return AccessClaims(user_id=user_id, session_id=f"s-{user_id}", role="customer")


def api_key(key_id: str, kind: str) -> ApiKeyInfo:
    return ApiKeyInfo(id=key_id, key_id=key_id, kind=kind)


def attempt(
    limiter: RateLimiter | None,
    *,
    ip: str = "203.0.113.7",
    path: str = "/api/v1/products",
    claims: AccessClaims | None = None,
    key: ApiKeyInfo | None = None,
) -> tuple[int, dict[str, str]]:
    """(status, rate limit headers) of one request through `rate_limit`."""
    access = AccessContext(ip=ip, claims=claims, api_key=key)
    try:
        if limiter is None:
            rate_limit(rf.get(path, REMOTE_ADDR=ip), access)
        else:
            rate_limit(rf.get(path, REMOTE_ADDR=ip), access, limiter=limiter)
    except Exception as exc:
        assert getattr(exc, "code", None) == "rate_limited"
        assert getattr(exc, "status_code", None) == 429
        return 429, access.rate_limit_headers
    return 200, access.rate_limit_headers


@pytest.fixture
def limiter(kv) -> RateLimiter:
    return build_rate_limiter(
        kv, default=Rate(3, DAY), sensitive=Rate(2, DAY), prefix=f"test-rl:{uuid.uuid4().hex}"
    )


def test_requests_over_the_limit_get_429_with_retry_after_and_headers(limiter):
    started = time.time()
    answers = [attempt(limiter) for _ in range(4)]
    assert [status for status, _ in answers] == [200, 200, 200, 429]
    assert [h["X-RateLimit-Remaining"] for _, h in answers] == ["2", "1", "0", "0"]
    assert {h["X-RateLimit-Limit"] for _, h in answers} == {"3"}
    window_end = (int(started) // DAY + 1) * DAY
    assert {int(h["X-RateLimit-Reset"]) for _, h in answers} == {window_end}
    assert "Retry-After" not in answers[2][1]
    retry_after = int(answers[3][1]["Retry-After"])
    assert 1 <= retry_after <= window_end - int(started)
    assert attempt(limiter)[0] == 429  # refusals keep being refused


def test_each_principal_has_its_own_bucket(limiter):
    ip = "203.0.113.9"
    principals = {
        "user a": {"claims": user("a")},
        "user b": {"claims": user("b")},
        "secret key": {"key": api_key("zk_server", "secret")},
        "other secret key": {"key": api_key("zk_server2", "secret")},
        "publishable key": {"key": api_key("zk_shop", "publishable")},
        "the ip alone": {},
    }
    for name, principal in principals.items():
        statuses = [attempt(limiter, ip=ip, **principal)[0] for _ in range(4)]
        assert statuses == [200, 200, 200, 429], name


def test_a_signed_in_user_is_counted_as_the_user_whatever_key_or_network(limiter):
    shop = api_key("zk_shop", "publishable")
    for ip in ("203.0.113.1", "198.51.100.2", "192.0.2.3"):
        assert attempt(limiter, ip=ip, claims=user("a"), key=shop)[0] == 200
    assert attempt(limiter, ip="192.0.2.4", claims=user("a"), key=shop)[0] == 429
    # The storefront key itself, without that user, is untouched.
    assert attempt(limiter, ip="192.0.2.4", key=shop)[0] == 200


def test_a_publishable_key_is_counted_per_shopper_address(limiter):
    shop = api_key("zk_shop", "publishable")
    assert [attempt(limiter, ip="203.0.113.1", key=shop)[0] for _ in range(4)][-1] == 429
    assert attempt(limiter, ip="203.0.113.2", key=shop)[0] == 200
    # A secret key is one server: its bucket does not depend on the address.
    server = api_key("zk_server", "secret")
    for ip in ("203.0.113.1", "203.0.113.2", "203.0.113.3"):
        assert attempt(limiter, ip=ip, key=server)[0] == 200
    assert attempt(limiter, ip="203.0.113.4", key=server)[0] == 429


def test_ipv6_callers_are_counted_per_64(limiter):
    for ip in ("2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::9"):
        assert attempt(limiter, ip=ip)[0] == 200
    assert attempt(limiter, ip="2001:db8:1:2::3")[0] == 429
    assert attempt(limiter, ip="2001:db8:1:3::1")[0] == 200


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/auth/login",
        "/api/v1/auth/register",
        "/api/v1/auth/password/forgot",
        "/api/v1/auth/password/reset",
        "/api/v1/auth/password/change",
        "/api/v1/auth/verify-email/request",
        "/api/v1/auth/verify-email/confirm",
        "/api/v1/auth/oauth/google",
        "/api/v1/auth/refresh",
    ],
)
def test_sensitive_routes_are_stricter_and_counted_per_address(limiter, path):
    assert is_sensitive_path(path)
    # Different users, one address: the address is what counts here.
    answers = [attempt(limiter, path=path, claims=user(f"u{n}")) for n in range(3)]
    assert [status for status, _ in answers] == [200, 200, 429]
    assert answers[0][1]["X-RateLimit-Limit"] == "2"
    assert attempt(limiter, path=path, ip="198.51.100.20")[0] == 200
    # The default limit of the same caller is a separate, larger bucket.
    assert attempt(limiter, claims=user("u0"))[1]["X-RateLimit-Limit"] == "3"


@pytest.mark.parametrize("path", ["/api/v1/auth/me", "/api/v1/auth/logout", "/api/v1/products"])
def test_other_routes_use_the_default_limit(path):
    assert not is_sensitive_path(path)


def test_the_process_limiters_use_the_configured_limits(kv):
    assert config.rate_limit_sensitive.requests < config.rate_limit_default.requests
    status, headers = attempt(None)
    assert (status, headers["X-RateLimit-Limit"]) == (200, str(config.rate_limit_default.requests))
    status, headers = attempt(None, path="/api/v1/auth/login")
    assert (status, headers["X-RateLimit-Limit"]) == (
        200,
        str(config.rate_limit_sensitive.requests),
    )
    # The two limiters keep separate counters under their own prefixes.
    assert any(key.startswith("ratelimit:default:ip:") for key in kv.keys("ratelimit:*"))
    assert any(key.startswith("ratelimit:sensitive:ip:") for key in kv.keys("ratelimit:*"))


def test_each_request_costs_one_kv_round_trip(limiter):
    bridge = local_bridge()
    assert bridge is not None, "the tests talk to the embedded bridge, which counts requests"
    calls = [
        {"claims": user("a")},
        {"key": api_key("zk_server", "secret")},
        {"key": api_key("zk_shop", "publishable")},
        {},
        {"path": "/api/v1/auth/login"},
        {"path": "/api/v1/auth/login"},
        {"path": "/api/v1/auth/login"},  # refused: still one round trip
        {},
        {},
        {},  # refused
    ]
    counts, statuses = [], []
    for call_args in calls:
        before = bridge.request_count
        statuses.append(attempt(limiter, **call_args)[0])
        counts.append(bridge.request_count - before)
    assert statuses == [200] * 6 + [429, 200, 200, 429]
    assert counts == [1] * len(calls)
    # The process's own limiters (built on first use) cost the same.
    for path in ("/api/v1/products", "/api/v1/auth/refresh"):
        before = bridge.request_count
        assert attempt(None, path=path)[0] == 200
        assert bridge.request_count - before == 1


FAIL_OPEN_SCRIPT = """
import json
import lib.runtime
from django.test import RequestFactory
from lib.access.context import AccessContext
from lib.access.ratelimit import rate_limit

access = AccessContext(ip="203.0.113.7")
for path in ("/api/v1/products", "/api/v1/auth/login"):
    rate_limit(RequestFactory().get(path, REMOTE_ADDR="203.0.113.7"), access)
print(json.dumps({"headers": access.rate_limit_headers}))
"""


def test_an_unreachable_kv_lets_requests_through_and_logs_a_warning():
    result = run_python(
        FAIL_OPEN_SCRIPT,
        env={"UPSTASH_REDIS_REST_URL": "http://127.0.0.1:9", "UPSTASH_REDIS_REST_TOKEN": "t"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"headers": {}}
    warnings = [line for line in result.stderr.splitlines() if "rate limit not checked" in line]
    assert len(warnings) == 2
    assert warnings[0].startswith("WARNING zest.access.ratelimit")
    assert "ConnectError" in warnings[0]


# --- through the functions themselves (AccessMiddleware in their pipeline) ----------


def away_from_a_window_edge(window: int, margin: float = 2.0) -> None:
    """Start a burst early in a sliding window, so it is not split between two windows."""
    into_window = time.time() % window
    if into_window > window - margin:
        time.sleep(window - into_window + 0.05)


def test_the_sign_in_function_answers_429_with_headers_after_the_sensitive_limit(db, kv):
    from api.auth import app as auth
    from api.catalog import app as catalog

    key, secret = api_key_create(name="server", kind="secret", scopes=["catalog:manage"])
    headers = {"X-API-Key": key.key_id, "X-API-Secret": secret, "Accept-Language": "bn"}

    listed = call(catalog, "GET", "/api/v1/products", headers=headers)
    assert listed.status == 200, listed.body
    assert listed.headers["x-ratelimit-limit"] == str(config.rate_limit_default.requests)
    assert listed.headers["x-ratelimit-remaining"] == str(config.rate_limit_default.requests - 1)

    wrong = {"email": "nobody@example.com", "password": "not-the-password"}
    limit = config.rate_limit_sensitive.requests
    away_from_a_window_edge(config.rate_limit_sensitive.window)
    answers = [
        call(auth, "POST", "/api/v1/auth/login", json_body=wrong, headers=headers)
        for _ in range(limit + 1)
    ]
    assert [answer.status for answer in answers] == [401] * limit + [429]
    assert answers[0].headers["x-ratelimit-limit"] == str(limit)
    refused = answers[-1]
    assert refused.headers["x-ratelimit-limit"] == str(limit)
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert 1 <= int(refused.headers["retry-after"]) <= config.rate_limit_sensitive.window
    assert int(refused.headers["x-ratelimit-reset"]) >= int(time.time())
    assert refused.json()["error"]["code"] == "rate_limited"
    assert refused.json()["error"]["message"] == MESSAGES["rate_limited"][1]
    # The caller's other routes are counted separately and still answer.
    assert call(catalog, "GET", "/api/v1/products", headers=headers).status == 200
