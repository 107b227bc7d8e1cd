"""The whole API's OpenAPI schema (/api/v1/openapi.json) and its docs page (/api/v1/docs)."""

from lib.runtime import FunctionApp

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.http import require_safe

from lib.docs_site import docs_asset, docs_page
from lib.openapi import merged_openapi_schema


@require_safe
def openapi_json(request: HttpRequest) -> HttpResponse:
    return JsonResponse(merged_openapi_schema(), json_dumps_params={"ensure_ascii": False})


@require_safe
def docs(request: HttpRequest) -> HttpResponse:
    return docs_page(assets_url="/api/v1/docs/assets/", spec_url="/api/v1/openapi.json")


@require_safe
def asset(request: HttpRequest, name: str) -> HttpResponse:
    return docs_asset(name)


app = FunctionApp(
    "docs",
    [
        path("api/v1/openapi.json", openapi_json),
        path("api/v1/docs", docs),
        path("api/v1/docs/assets/<str:name>", asset),
    ],
)
