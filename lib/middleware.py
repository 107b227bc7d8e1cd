"""The shared request pipeline every function runs: request id, security headers, JSON errors."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from lib.conf import config
from lib.errors import ApiError, error_response
from lib.input_guard import request_guard

Handler = Callable[[HttpRequest], HttpResponse]
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
JSON_CONTENT_TYPES = ("application/json", "application/problem+json")


def incoming_request_id(request: HttpRequest) -> str:
    """Keep a well-formed caller or platform id (for tracing across hops), else mint one."""
    for header in ("X-Request-ID", "X-Vercel-Id"):
        candidate = request.headers.get(header, "")
        if REQUEST_ID_PATTERN.match(candidate):
            return candidate
    return uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.id = incoming_request_id(request)  # type: ignore[attr-defined]
        if config.sentry_dsn:
            import sentry_sdk

            sentry_sdk.get_isolation_scope().set_tag("request_id", request.id)
        response = self.get_response(request)
        response["X-Request-ID"] = request.id
        return response


class SecurityHeadersMiddleware:
    """Conservative headers for a JSON API; HTML pages (admin, docs) set their own CSP."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if response.get("Content-Type", "").startswith(JSON_CONTENT_TYPES):
            response.headers.setdefault(
                "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"
            )
        if config.on_vercel:
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=63072000; includeSubDomains; preload"
            )
        return response


class RequestGuardMiddleware:
    """Refuses, before anything reads it, a request no handler should see: a body over the
    platform's limit (413) or a NUL character in the path, a header or the query string (400).
    See `lib.input_guard`."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            request_guard(request)
        except ApiError as exc:
            return error_response(request, exc.status_code, exc.code, fields=exc.fields)
        return self.get_response(request)


class JsonErrorMiddleware:
    """Any error response that is not JSON already (Django's 404/405/400 pages, a bare
    `HttpResponseNotAllowed`) is replaced by the JSON envelope; HTML pages of the admin
    function are left alone because that function does not install this middleware."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code < 400 or is_json(response):
            return response
        headers = {}
        if response.status_code == 405 and response.has_header("Allow"):
            headers["Allow"] = response["Allow"]
        return error_response(request, response.status_code, headers=headers)


def is_json(response: HttpResponse) -> bool:
    return response.get("Content-Type", "").startswith(JSON_CONTENT_TYPES)
