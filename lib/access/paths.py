"""Which public paths skip parts of the access pipeline: the one list, used everywhere.

Key-exempt paths authenticate their own way (payment callbacks verify the provider's signature,
cron checks `CRON_SECRET`, the admin has its own sign-in) or are public (health, API docs, static
files): no API key and no per-key rate limit. The geo gate exempts fewer of them: only what
machines outside Bangladesh must reach (payment providers, Vercel cron, uptime checks).

An entry ending in `/` matches everything under it; any other entry matches itself, and what
follows it after a `/` or a `.` (`/api/v1/openapi` covers `/api/v1/openapi.json` and
`/api/v1/openapi/catalog.json`, but not `/api/v1/openapi-x`).
"""

from __future__ import annotations

EXEMPT_PREFIXES: tuple[str, ...] = (
    "/api/webhooks/",
    "/api/cron/",
    "/api/health",
    "/api/v1/docs",
    "/api/v1/openapi",
    "/admin/",
    "/static/",
    "/media/",
)
GEO_EXEMPT_PREFIXES: tuple[str, ...] = (
    "/api/webhooks/",
    "/api/cron/",
    "/api/health",
)


def path_matches(path: str, prefixes: tuple[str, ...]) -> bool:
    for prefix in prefixes:
        if prefix.endswith("/"):
            if path.startswith(prefix):
                return True
        elif path == prefix or (path.startswith(prefix) and path[len(prefix)] in "/."):
            return True
    return False


def is_exempt(path: str) -> bool:
    """No API key (and no per-key rate limit) on this path."""
    return path_matches(path, EXEMPT_PREFIXES)


def is_geo_exempt(path: str) -> bool:
    """Reachable from any country."""
    return path_matches(path, GEO_EXEMPT_PREFIXES)
