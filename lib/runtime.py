"""Process start-up and the factory that turns a function's routers into its WSGI `app`.

Importing this module configures Django once per process (the cold start), so every
`api/` file imports it before django-ninja. Everything created here at module level is
shared by the threads of one Fluid instance and is safe to share.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterable, Sequence
from functools import partial

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lib.django_settings")

import django
from django.conf import settings

from lib.conf import config

django.setup(set_prefix=False)

from django.core.exceptions import (  # noqa: E402
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
)
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.db import DataError  # noqa: E402
from django.http import Http404, HttpRequest, HttpResponse  # noqa: E402
from django.http.multipartparser import MultiPartParserError  # noqa: E402
from django.urls import URLPattern, URLResolver, get_urlconf, path, set_urlconf  # noqa: E402
from django.utils.datastructures import MultiValueDict  # noqa: E402
from ninja import NinjaAPI, Router  # noqa: E402
from ninja.errors import AuthenticationError, HttpError, ValidationError  # noqa: E402
from ninja.parser import Parser  # noqa: E402
from ninja.renderers import JSONRenderer  # noqa: E402

from lib.errors import ApiError, error_response, validation_fields  # noqa: E402
from lib.input_guard import field_with_nul, json_body_parse, nul_refused  # noqa: E402
from lib.outbox import outbox_dispatch_after_response  # noqa: E402

logger = logging.getLogger("zest.runtime")
API_PREFIX = "api/v1/"
UrlPatterns = list[URLPattern | URLResolver]


def init_sentry() -> None:
    """Report errors to Sentry when `SENTRY_DSN` is set; off otherwise."""
    if not config.sentry_dsn:
        return
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=config.sentry_dsn,
        environment=config.sentry_environment,
        traces_sample_rate=config.sentry_traces_sample_rate,
        send_default_pii=False,
        integrations=[DjangoIntegration()],
    )


def capture_exception(exc: BaseException) -> None:
    logger.exception("unhandled error", exc_info=exc)
    if config.sentry_dsn:
        import sentry_sdk

        sentry_sdk.capture_exception(exc)
        # Instances freeze after the response; do not lose the event.
        sentry_sdk.flush(timeout=2)


init_sentry()


# --- error handlers shared by every function's API -------------------------------------


def handle_api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return error_response(
        request, exc.status_code, exc.code, message=exc.message, fields=exc.fields
    )


def handle_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return error_response(request, 422, "validation_error", fields=validation_fields(exc.errors))


def handle_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc.__cause__, ApiError):  # ninja wraps the JSON parser's refusals...
        return handle_api_error(request, exc.__cause__)
    if isinstance(exc.__cause__, ValueError):  # ... and its parse errors
        return error_response(request, 400, "malformed_json")
    if isinstance(exc, AuthenticationError):
        return error_response(request, 401, "unauthenticated")
    return error_response(request, exc.status_code)


def handle_not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error_response(request, 404, "not_found")


def handle_permission_denied(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error_response(request, 403, "forbidden")


def handle_data_error(request: HttpRequest, exc: DataError) -> HttpResponse:
    """The database refused a value (a number past its column's range, a text it cannot
    hold): the caller's input, so a 422; nothing was written (the statement failed)."""
    logger.warning("value refused by the database: %s", exc)
    return error_response(request, 422, "value_out_of_range")


def handle_body_too_large(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return error_response(request, 413, "payload_too_large")


def handle_malformed_multipart(request: HttpRequest, exc: MultiPartParserError) -> HttpResponse:
    return error_response(request, 400, "multipart_invalid")


def handle_suspicious(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
    return error_response(request, 400, "bad_request")


def handle_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    capture_exception(exc)
    return error_response(request, 500, "internal_error")


def install_error_handlers(api: NinjaAPI) -> None:
    api.add_exception_handler(Exception, handle_unexpected)
    api.add_exception_handler(Http404, handle_not_found)
    api.add_exception_handler(PermissionDenied, handle_permission_denied)
    api.add_exception_handler(DataError, handle_data_error)
    api.add_exception_handler(SuspiciousOperation, handle_suspicious)
    api.add_exception_handler(RequestDataTooBig, handle_body_too_large)
    api.add_exception_handler(MultiPartParserError, handle_malformed_multipart)
    api.add_exception_handler(HttpError, handle_http_error)
    api.add_exception_handler(ValidationError, handle_validation_error)
    api.add_exception_handler(ApiError, handle_api_error)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, 404, "not_found")


def server_error(request: HttpRequest) -> HttpResponse:
    return error_response(request, 500, "internal_error")


# --- the function factory ------------------------------------------------------------

_middleware_lock = threading.Lock()
# vercel.json names every rewrite parameter `rewrite` (a second one in the same source
# `rewrite2`, ...). Vercel appends rewrite parameters to the query string; a function routes on
# the original path, so they are dropped before Django sees them (the admin would read them
# as changelist filters).
REWRITE_PARAM = re.compile(r"rewrite[0-9]*")


def without_rewrite_param(query: str) -> str:
    return "&".join(
        part for part in query.split("&") if not REWRITE_PARAM.fullmatch(part.split("=", 1)[0])
    )


class FunctionUrls:
    """A function's URLconf: Django accepts any (hashable) object with `urlpatterns`."""

    handler404 = staticmethod(page_not_found)
    handler500 = staticmethod(server_error)

    def __init__(self, urlpatterns: UrlPatterns) -> None:
        self.urlpatterns = urlpatterns


class FunctionApp(WSGIHandler):
    """A WSGI app serving one Vercel function: its own URLconf and middleware list.

    Several functions can live in one process (the local dev server, the merged docs), so
    the URLconf is set per request instead of through `ROOT_URLCONF`.
    """

    def __init__(
        self,
        name: str,
        urlpatterns: UrlPatterns,
        *,
        api: NinjaAPI | None = None,
        middleware: Sequence[str] | None = None,
    ) -> None:
        self.name = name
        self.api = api
        self.urlconf = FunctionUrls(urlpatterns)
        self.middleware = list(middleware if middleware is not None else settings.MIDDLEWARE)
        super().__init__()

    def load_middleware(self, is_async: bool = False) -> None:
        with _middleware_lock:  # runs once per app at cold start
            default = settings.MIDDLEWARE
            settings.MIDDLEWARE = self.middleware
            try:
                super().load_middleware(is_async)
            finally:
                settings.MIDDLEWARE = default

    def __call__(self, environ: dict, start_response):  # type: ignore[override]
        query = environ.get("QUERY_STRING", "")
        if "rewrite" in query:
            environ["QUERY_STRING"] = without_rewrite_param(query)
        return super().__call__(environ, start_response)

    def get_response(self, request: HttpRequest) -> HttpResponse:
        request.urlconf = self.urlconf
        response = super().get_response(request)
        # When the server closes the response (the body is sent), and before Django hands the
        # database connection back: deliver the outbox messages this request committed. What
        # does not get delivered here is swept by the outbox cron.
        response._resource_closers.append(partial(outbox_dispatch_after_response, request))
        return response

    def openapi_schema(self) -> dict:
        """This function's OpenAPI document (paths are resolved against its own URLconf)."""
        if self.api is None:
            return {}
        previous = get_urlconf()
        set_urlconf(self.urlconf)
        try:
            return self.api.get_openapi_schema()
        finally:
            set_urlconf(previous)

    def __repr__(self) -> str:
        return f"<FunctionApp {self.name}>"


class Utf8JSONRenderer(JSONRenderer):
    """Bangla text as UTF-8, not `\\u09..` escapes (a third of the bytes)."""

    json_dumps_params = {"ensure_ascii": False}


class GuardedParser(Parser):
    """Bodies through `lib.input_guard`: JSON without NUL and nested within bounds, form
    fields without NUL (a query string was checked by `RequestGuardMiddleware`)."""

    def parse_body(self, request: HttpRequest) -> dict:
        return json_body_parse(request.body)

    def parse_querydict(
        self, data: MultiValueDict, list_fields: list[str], request: HttpRequest
    ) -> dict:
        field = field_with_nul(data)
        if field is not None:
            raise nul_refused(field)
        return super().parse_querydict(data, list_fields, request)


class FunctionApi(NinjaAPI):
    """A function's Ninja API; operation ids read `<function>_<view>` (`catalog_list_products`)."""

    def get_openapi_operation_id(self, operation) -> str:
        return f"{self.urls_namespace}_{operation.view_func.__name__}"


def build_api(
    name: str, *, title: str, description: str = "", prefix: str = API_PREFIX
) -> NinjaAPI:
    # Wherever the API is mounted, its schema is at /api/v1/openapi/<name>.json.
    schema_path = f"{API_PREFIX}openapi/{name}.json"
    if not schema_path.startswith(prefix):
        raise ValueError(f"an API mounted at {prefix!r} cannot serve /{schema_path}")
    schema_path = schema_path.removeprefix(prefix)
    api = FunctionApi(
        title=title,
        version="1",
        description=description,
        urls_namespace=name,
        renderer=Utf8JSONRenderer(),
        parser=GuardedParser(),
        openapi_url=f"/{schema_path}",
        docs_url=None,
    )
    install_error_handlers(api)
    return api


def make_app(
    name: str,
    routers: Iterable[tuple[str, Router]],
    *,
    title: str,
    description: str = "",
    prefix: str = API_PREFIX,
    extra_urls: UrlPatterns | None = None,
) -> FunctionApp:
    """Build the WSGI `app` of one function from its routers.

    Routes live under `prefix` (`/api/v1/` unless the public path says otherwise). The
    function's own OpenAPI schema is served at `/api/v1/openapi/<name>.json` and merged
    with every other function's at `/api/v1/openapi.json`.
    """
    api = build_api(name, title=title, description=description, prefix=prefix)
    for router_prefix, router in routers:
        api.add_router(router_prefix, router)
    urlpatterns: UrlPatterns = [path(prefix, api.urls), *(extra_urls or [])]
    return FunctionApp(name, urlpatterns, api=api)
