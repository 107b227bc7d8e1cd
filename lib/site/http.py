"""Conditional GET for the public store reads: a strong ETag of the body, 304 when the
caller already holds it, and a short `Cache-Control`."""

from __future__ import annotations

import hashlib
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils.http import parse_etags, quote_etag

from lib.catalog.cache import json_response, render
from lib.conf import site_config


def cache_control(max_age: int | None) -> str:
    """`public, max-age=N`: `STORE_HTTP_MAX_AGE`, or less when a schedule changes sooner."""
    seconds = (
        site_config.http_max_age if max_age is None else min(max_age, site_config.http_max_age)
    )
    return f"public, max-age={max(seconds, 0)}"


def conditional_json_response(
    request: HttpRequest, schema: Any, data: Any, *, max_age: int | None = None
) -> HttpResponse:
    """200 with `data` rendered by `schema`, or 304 when `If-None-Match` names its ETag."""
    body = render(schema, data, request)
    etag = quote_etag(hashlib.sha256(body.encode()).hexdigest()[:32])
    # Weak comparison (RFC 9110 13.1.2): a proxy may have weakened the tag (W/"...").
    wanted = {
        tag.removeprefix("W/") for tag in parse_etags(request.headers.get("If-None-Match", ""))
    }
    if etag in wanted or "*" in wanted:
        response: HttpResponse = HttpResponseNotModified()
        response["Vary"] = "Accept-Language"
    else:
        response = json_response(body)
    response["ETag"] = etag
    response["Cache-Control"] = cache_control(max_age)
    return response
