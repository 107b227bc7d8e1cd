"""Rate limits per caller: sliding windows in the shared KV, with `upstash-ratelimit`.

Each request makes ONE `.limit()` call, which is one EVAL, i.e. one KV round trip, on the most
specific principal known once the API key and the access token are checked:

- a signed-in user: `user:{id}` (whatever app or network they call from);
- else a secret API key (a server): `key:{key_id}`;
- else a publishable key (a browser storefront, shared by all its shoppers): `key:{key_id}:ip:{ip}`;
- else the IP alone: `ip:{ip}`.

An IPv6 caller is counted per /64 (one subscriber's allocation), an IPv4 caller per address.
Routes that guess secrets (sign-in, register, password reset, email verification, OAuth, token
refresh, SMS codes; `SENSITIVE_PATHS`) use a stricter limiter keyed per IP only, and instead of
the default one, so they too cost one round trip. Limits come from `RATE_LIMIT_DEFAULT` and
`RATE_LIMIT_SENSITIVE` ("requests/seconds").

`access.rate_limit_headers` receives `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
`X-RateLimit-Reset` (Unix seconds); a refusal adds `Retry-After` (seconds) and raises 429
`rate_limited`.

When the KV cannot be reached the request is ALLOWED (fail open) and a warning is logged: an
outage of the limiter's store must not take the whole API down with it, and the sessions and API
keys that also live there fail on their own terms. No headers are set then.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import threading
import time
from dataclasses import dataclass

from django.http import HttpRequest
from upstash_ratelimit import Ratelimit, SlidingWindow
from upstash_ratelimit.limiter import Response
from upstash_redis import Redis

from lib.access.context import AccessContext, client_ip
from lib.access.paths import path_matches
from lib.conf import Rate, config
from lib.errors import ApiError
from lib.kv import get_kv

logger = logging.getLogger("zest.access.ratelimit")

# Each entry matches itself and anything below it (see `lib.access.paths.path_matches`).
SENSITIVE_PATHS: tuple[str, ...] = (
    "/api/v1/auth/login",
    "/api/v1/auth/register",
    "/api/v1/auth/password",  # forgot, reset, change
    "/api/v1/auth/verify-email",  # request, confirm
    "/api/v1/auth/oauth",  # every provider
    "/api/v1/auth/refresh",
    "/api/v1/auth/phone",  # SMS codes: ask, verify
)
KEY_PREFIX = "ratelimit"


def is_sensitive_path(path: str) -> bool:
    return path_matches(path, SENSITIVE_PATHS)


@dataclass(frozen=True, slots=True)
class RateLimiter:
    """The two limiters of a process; each keeps its counters under its own KV prefix."""

    default: Ratelimit
    sensitive: Ratelimit


def build_rate_limiter(
    redis: Redis, *, default: Rate, sensitive: Rate, prefix: str = KEY_PREFIX
) -> RateLimiter:
    return RateLimiter(
        default=Ratelimit(
            redis, SlidingWindow(default.requests, default.window, "s"), f"{prefix}:default"
        ),
        sensitive=Ratelimit(
            redis, SlidingWindow(sensitive.requests, sensitive.window, "s"), f"{prefix}:sensitive"
        ),
    )


_lock = threading.Lock()
_limiter: RateLimiter | None = None


def get_rate_limiter() -> RateLimiter:
    """The process's limiters over `get_kv()`, built on first use (once: each `Ratelimit`
    construction also extends the client's telemetry header)."""
    global _limiter
    if _limiter is None:
        with _lock:
            if _limiter is None:
                _limiter = build_rate_limiter(
                    get_kv(),
                    default=config.rate_limit_default,
                    sensitive=config.rate_limit_sensitive,
                )
    return _limiter


_named: dict[tuple[str, Rate], Ratelimit] = {}


def named_limiter(name: str, rate: Rate) -> Ratelimit:
    """A limiter of something other than requests (SMS codes per number, per IP...), keeping
    its counters under `ratelimit:{name}`; one per (name, rate) for the life of the process."""
    limiter = _named.get((name, rate))
    if limiter is None:
        with _lock:
            limiter = _named.get((name, rate))
            if limiter is None:
                window = SlidingWindow(rate.requests, rate.window, "s")
                limiter = Ratelimit(get_kv(), window, f"{KEY_PREFIX}:{name}")
                _named[(name, rate)] = limiter
    return limiter


def ip_bucket(ip: str) -> str:
    """The counted network of an address: itself for IPv4, its /64 for IPv6."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def rate_limit_identifier(access: AccessContext, ip: str) -> str:
    """The most specific principal of a (non-sensitive) request."""
    if access.claims is not None:
        return f"user:{access.claims.user_id}"
    if access.api_key is not None:
        if access.api_key.kind == "secret":
            return f"key:{access.api_key.key_id}"
        return f"key:{access.api_key.key_id}:ip:{ip_bucket(ip)}"
    return f"ip:{ip_bucket(ip)}"


def rate_limit_headers(result: Response, now: float) -> dict[str, str]:
    headers = {
        "X-RateLimit-Limit": str(result.limit),
        "X-RateLimit-Remaining": str(result.remaining),
        "X-RateLimit-Reset": str(math.ceil(result.reset)),
    }
    if not result.allowed:
        headers["Retry-After"] = str(max(1, math.ceil(result.reset - now)))
    return headers


def rate_limit(
    request: HttpRequest, access: AccessContext, *, limiter: RateLimiter | None = None
) -> None:
    """Count this request against its principal; 429 `rate_limited` when over the limit."""
    limiter = limiter or get_rate_limiter()
    ip = access.ip or client_ip(request)
    if is_sensitive_path(request.path):
        ratelimit, identifier = limiter.sensitive, f"ip:{ip_bucket(ip)}"
    else:
        ratelimit, identifier = limiter.default, rate_limit_identifier(access, ip)
    try:
        result = ratelimit.limit(identifier)
    except Exception as exc:  # any failure of the store or its transport: fail open
        logger.warning(
            "rate limit not checked, request allowed (KV unavailable): %s: %s",
            type(exc).__name__,
            exc,
        )
        return
    access.rate_limit_headers = rate_limit_headers(result, time.time())
    if not result.allowed:
        raise ApiError("rate_limited", status=429)
