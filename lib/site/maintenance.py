"""Maintenance mode in the request pipeline: storefront routes answer 503 `maintenance` with
`Retry-After` while the switch is on.

The switch is read from KV (`site:maintenance`, see `lib.site.cache`) in the access
middleware's own pipeline, so it costs no extra round trip and no SQL. Paths the access
pipeline exempts (admin, webhooks, cron, health, docs) never get here; signed-in admin, staff
and support users pass, and so do the sign-in routes (staff must be able to sign in) and the
store settings themselves (the storefront shows the message from there).
"""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse

from lib.access.context import AccessClaims
from lib.access.paths import path_matches
from lib.errors import error_response
from lib.i18n import request_language

MAINTENANCE_KEY = "site:maintenance"
MAINTENANCE_OFF = "0"
MAINTENANCE_BYPASS_ROLES = frozenset({"admin", "staff", "support"})
MAINTENANCE_OPEN_PREFIXES: tuple[str, ...] = ("/api/v1/auth/", "/api/v1/store")


def maintenance_answer(
    request: HttpRequest, raw: str | None, claims: AccessClaims | None
) -> HttpResponse | None:
    """The 503 to send instead of the handler's answer, or None to go on. `raw` is the
    `site:maintenance` value (None or "0": off)."""
    if not raw or raw == MAINTENANCE_OFF:
        return None
    if claims is not None and claims.role in MAINTENANCE_BYPASS_ROLES:
        return None
    if path_matches(request.path, MAINTENANCE_OPEN_PREFIXES):
        return None
    try:
        state = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(state, dict) or not state.get("on"):
        return None
    language = request_language(request)
    message = state.get(language) or state.get("en") or None
    headers = {"Retry-After": str(int(state.get("retry_after") or 0) or 3600)}
    return error_response(request, 503, "maintenance", message=message, headers=headers)
