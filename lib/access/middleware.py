"""The access pipeline of every API function: geo gate, bearer token, API key, rate limit.

For a path outside `lib.access.paths.EXEMPT_PREFIXES`, in this order:

1. the geo gate (`lib.access.geo.geo_gate`, which knows its own exemptions);
2. the API key headers read for form, and the bearer token verified (CPU only);
3. ONE KV pipeline: the cached key record, whether the token's session is alive, the claim
   of a signature's nonce, the key's last-used marker, the site's maintenance switch;
4. the API key authenticated (`lib.access.api_key_auth`); on a cache miss the key record is
   read from Postgres (one query) and cached;
5. maintenance mode (`lib.site.maintenance`): 503 for storefront callers while it is on;
6. the rate limit (`lib.access.ratelimit.rate_limit`, one EVAL).

So a request costs two KV round trips and no SQL when its key record is cached (the usual
case), three and one query when it is not. Ninja route auth (`lib.access.permissions.Require`)
then reads what this established in `get_access(request)`: `claims` only when the token
verified AND its session exists, else `token_error` ("expired", "invalid", "revoked").

Browsers: a CORS preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) is
answered here for any origin some active publishable key allows; a response to a publishable
key used from one of its origins gets `Access-Control-Allow-Origin`. Failures are rendered as
the JSON error envelope; every response carries the rate-limit headers once they are known.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from upstash_redis.errors import UpstashError

from db.models import ApiKeyKind
from lib.access.api_key_auth import (
    KeyCredentials,
    api_key_authenticate,
    credentials_read,
    origin_key,
)
from lib.access.api_key_cache import (
    USED_MARKER_TTL,
    ApiKeyRecord,
    allowed_origins_get,
    api_key_record_fill,
    cache_key,
    used_marker_key,
)
from lib.access.context import AccessClaims, AccessContext, client_ip, get_access
from lib.access.geo import geo_gate
from lib.access.paths import is_exempt
from lib.access.ratelimit import rate_limit
from lib.access.sessions import session_key
from lib.access.tokens import TokenError, access_token_verify
from lib.conf import config
from lib.errors import ApiError, error_response
from lib.kv import get_kv
from lib.site.maintenance import MAINTENANCE_KEY, maintenance_answer

logger = logging.getLogger("zest.access")

Handler = Callable[[HttpRequest], HttpResponse]
KV_FAILURES = (UpstashError, httpx.HTTPError, OSError)
CORS_ALLOW_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
CORS_ALLOW_HEADERS = (
    "Accept, Accept-Language, Authorization, Content-Type, Idempotency-Key, X-API-Key, "
    "X-Cart-Token, X-Request-ID"
)
CORS_EXPOSE_HEADERS = (
    "Retry-After, X-Cart-Token, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, "
    "X-Request-ID"
)
CORS_MAX_AGE = "600"


class AccessMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        access = get_access(request)
        access.ip = client_ip(request)
        try:
            answer = access_check(request, access)
            response = self.get_response(request) if answer is None else answer
        except ApiError as exc:
            response = error_response(
                request, exc.status_code, exc.code, message=exc.message, fields=exc.fields
            )
        for name, value in access.rate_limit_headers.items():
            response[name] = value
        if cors_origin_allowed(request, access):
            cors_headers(response, request.headers["Origin"])
            response["Access-Control-Expose-Headers"] = CORS_EXPOSE_HEADERS
        return response


def access_check(request: HttpRequest, access: AccessContext) -> HttpResponse | None:
    """Everything before the handler; a response when the middleware answers by itself
    (a CORS preflight), None to go on to the handler. Raises ApiError to refuse."""
    geo_gate(request, access)
    if is_exempt(request.path):
        return None
    if is_preflight(request):
        return preflight_response(request)
    now = time.time()
    credentials = credentials_read(request, now=now)
    claims, access.token_error = bearer_read(request)
    facts = kv_facts(credentials, claims, now=now)
    record = facts.record if facts.cached else record_fill(credentials.key_id)
    access.api_key = api_key_authenticate(
        record,
        credentials,
        origin=request.headers.get("Origin"),
        nonce_claimed=facts.nonce_claimed,
        now=now,
    )
    if claims is not None:
        if facts.session_alive:
            access.claims = claims
        else:
            access.token_error = "revoked"  # noqa: S105 - a reason, not a password
    answer = maintenance_answer(request, facts.maintenance, access.claims)
    if answer is not None:
        return answer
    rate_limit(request, access)
    return None


def bearer_read(request: HttpRequest) -> tuple[AccessClaims | None, str | None]:
    """The verified claims of `Authorization: Bearer <token>`, or why it was refused."""
    header = request.headers.get("Authorization", "")
    if not header:
        return None, None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None, "invalid"
    try:
        return access_token_verify(token.strip()), None
    except TokenError as exc:
        return None, exc.reason


@dataclass(frozen=True, slots=True)
class KvFacts:
    cached: bool  # the key record (or a cached "no such key") was in KV
    record: ApiKeyRecord | None
    session_alive: bool
    nonce_claimed: bool
    maintenance: str | None = None  # the site's maintenance switch (lib.site.maintenance)


def kv_facts(credentials: KeyCredentials, claims: AccessClaims | None, *, now: float) -> KvFacts:
    """Everything the request needs from KV, in one round trip."""
    pipe = get_kv().pipeline()
    pipe.get(cache_key(credentials.key_id))
    if claims is not None:
        pipe.exists(session_key(claims.session_id))
    nonce_key = credentials.nonce_key
    if nonce_key is not None:
        # A signature is valid for at most twice the window: keep its claim that long.
        pipe.set(nonce_key, "1", nx=True, ex=2 * config.api_signature_window)
    pipe.set(used_marker_key(credentials.key_id), str(int(now)), ex=USED_MARKER_TTL)
    pipe.get(MAINTENANCE_KEY)
    with kv_guard():
        replies = iter(pipe.exec())
        raw_record = next(replies)
        session_alive = bool(next(replies)) if claims is not None else False
        nonce_claimed = bool(next(replies)) if nonce_key is not None else False
        next(replies)  # the used marker
        maintenance = next(replies)
        record = ApiKeyRecord.from_json(raw_record) if raw_record is not None else None
    return KvFacts(raw_record is not None, record, session_alive, nonce_claimed, maintenance)


def record_fill(key_id: str) -> ApiKeyRecord | None:
    with kv_guard():
        return api_key_record_fill(key_id=key_id)


@contextmanager
def kv_guard() -> Iterator[None]:
    """Without the KV store no caller can be authenticated: refuse with 503, log the cause."""
    try:
        yield
    except KV_FAILURES as exc:
        logger.error("access check failed, KV unavailable: %s: %s", type(exc).__name__, exc)
        raise ApiError("service_unavailable", status=503) from exc


# --- CORS -----------------------------------------------------------------------------


def is_preflight(request: HttpRequest) -> bool:
    return (
        request.method == "OPTIONS"
        and "Origin" in request.headers
        and "Access-Control-Request-Method" in request.headers
    )


def preflight_response(request: HttpRequest) -> HttpResponse:
    """A browser asks before sending `X-API-Key`, so the key is unknown here: the origin must
    be allowed by some active publishable key. The real request is then checked in full."""
    origin = request.headers["Origin"]
    with kv_guard():
        allowed = origin_key(origin) in allowed_origins_get()
    if not allowed:
        raise ApiError("origin_denied", status=403)
    response = HttpResponse(status=204)
    cors_headers(response, origin)
    response["Access-Control-Allow-Methods"] = CORS_ALLOW_METHODS
    response["Access-Control-Allow-Headers"] = CORS_ALLOW_HEADERS
    response["Access-Control-Max-Age"] = CORS_MAX_AGE
    patch_vary_headers(
        response, ("Access-Control-Request-Method", "Access-Control-Request-Headers")
    )
    return response


def cors_origin_allowed(request: HttpRequest, access: AccessContext) -> bool:
    origin = request.headers.get("Origin")
    key = access.api_key
    return (
        origin is not None
        and key is not None
        and key.kind == ApiKeyKind.PUBLISHABLE
        and origin_key(origin) in key.allowed_origins
    )


def cors_headers(response: HttpResponse, origin: str) -> None:
    response["Access-Control-Allow-Origin"] = origin
    patch_vary_headers(response, ("Origin",))
