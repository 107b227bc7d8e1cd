"""The shared pipeline every function runs: error envelope, request id, headers, threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from lib.runtime import FunctionApp, make_app

import pytest
from ninja import Router, Schema

import api.catalog
import api.health
import api.not_found
from lib.errors import Conflict
from tests.support import call

probe = Router()


class OrderIn(Schema):
    quantity: int
    note: str


@probe.post("/probe/orders")
def create(request, payload: OrderIn):
    if payload.quantity > 10:
        raise Conflict(message="too many")
    return {"quantity": payload.quantity}


@probe.get("/probe/boom")
def boom(request):
    raise RuntimeError("kaput")


probe_app = make_app("probe", [("", probe)], title="Probe")
pytestmark = pytest.mark.django_db


@pytest.fixture
def send(server_key):
    """`call` with a valid API key, as every caller of a non-exempt path must send."""

    def send(app, method, url, *, headers=None, **kwargs):
        return call(app, method, url, headers={**server_key, **(headers or {})}, **kwargs)

    return send


def assert_envelope(response, status: int, code: str) -> dict:
    assert response.status == status
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert error["request_id"] == response.headers["x-request-id"]
    return error


@pytest.mark.parametrize("app", [api.catalog.app, api.health.app, api.not_found.app, probe_app])
def test_unknown_routes_get_the_json_envelope(app, send):
    assert_envelope(send(app, "GET", "/nowhere/at/all"), 404, "not_found")
    assert_envelope(send(app, "GET", "/api/v1/unknown"), 404, "not_found")


def test_malformed_json_is_a_400_envelope(send):
    response = send(probe_app, "POST", "/api/v1/probe/orders", body="{not json")
    assert_envelope(response, 400, "malformed_json")


def test_invalid_fields_are_listed(send):
    response = send(probe_app, "POST", "/api/v1/probe/orders", json_body={"quantity": "many"})
    error = assert_envelope(response, 422, "validation_error")
    assert set(error["fields"]) == {"quantity", "note"}


def test_domain_errors_keep_their_status_and_message(send):
    response = send(
        probe_app, "POST", "/api/v1/probe/orders", json_body={"quantity": 11, "note": ""}
    )
    assert assert_envelope(response, 409, "conflict")["message"] == "too many"


def test_method_not_allowed_is_json_with_allow_header(send):
    response = send(probe_app, "DELETE", "/api/v1/probe/orders")
    assert_envelope(response, 405, "method_not_allowed")
    assert "POST" in response.headers["allow"]


def test_unexpected_errors_are_a_500_envelope_without_details(caplog, send):
    response = send(probe_app, "GET", "/api/v1/probe/boom")
    error = assert_envelope(response, 500, "internal_error")
    assert "kaput" not in response.body.decode()
    assert error["fields"] == {}
    assert "kaput" in caplog.text  # logged (and sent to Sentry when configured)


def test_errors_speak_bangla_when_asked(send):
    response = send(
        probe_app, "GET", "/api/v1/nothing", headers={"Accept-Language": "bn-BD,bn;q=0.9,en;q=0.5"}
    )
    assert assert_envelope(response, 404, "not_found")["message"] == "অনুরোধ করা তথ্য পাওয়া যায়নি।"


def test_request_id_is_kept_when_well_formed_and_replaced_otherwise(send):
    kept = send(probe_app, "GET", "/api/v1/x", headers={"X-Request-ID": "abc-123"})
    assert kept.headers["x-request-id"] == "abc-123"
    replaced = send(probe_app, "GET", "/api/v1/x", headers={"X-Request-ID": "<script>"})
    assert replaced.headers["x-request-id"] != "<script>"
    assert len(replaced.headers["x-request-id"]) == 32


def test_security_headers_on_api_responses(send):
    response = send(probe_app, "GET", "/api/v1/x")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["content-security-policy"].startswith("default-src 'none'")


def test_each_function_serves_its_own_schema(send):
    schema = send(api.catalog.app, "GET", "/api/v1/openapi/catalog.json").json()
    assert "/api/v1/products" in schema["paths"]
    assert "/api/health" not in schema["paths"]
    health_schema = send(api.health.app, "GET", "/api/v1/openapi/health.json").json()
    assert list(health_schema["paths"]) == ["/api/health"]


def test_functions_are_independent_in_one_process(send):
    # The catalog's routes are not reachable through the health function and vice versa.
    assert send(api.health.app, "GET", "/api/v1/products").status == 404
    assert send(api.catalog.app, "GET", "/api/health").status == 404


def test_an_api_cannot_be_mounted_where_its_schema_path_cannot_live():
    with pytest.raises(ValueError, match="cannot serve"):
        make_app("misplaced", [("", Router())], title="x", prefix="api/cron/")


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_on_threads_share_one_app(send):
    def fetch(index: int) -> tuple[int, str]:
        response = send(
            probe_app,
            "POST",
            "/api/v1/probe/orders",
            json_body={"quantity": index % 10, "note": f"n{index}"},
            headers={"X-Request-ID": f"req-{index}"},
            isolated=True,
        )
        return response.json()["quantity"], response.headers["x-request-id"]

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(fetch, range(64)))
    assert results == [(index % 10, f"req-{index}") for index in range(64)]


def test_function_app_is_a_wsgi_callable_with_a_name():
    assert isinstance(api.catalog.app, FunctionApp)
    assert api.catalog.app.name == "catalog"


def test_requests_without_an_api_key_are_refused_before_routing():
    for url in ("/api/v1/probe/orders", "/api/v1/no-such-route"):
        response = call(probe_app, "GET", url)
        assert_envelope(response, 401, "api_key_required")


def test_rewrite_parameters_vercel_appends_never_reach_django():
    from lib.runtime import without_rewrite_param

    query = "rewrite=db%2Fproduct&page=2&rewrite2=x&rewriter=kept&q=rewrite"
    assert without_rewrite_param(query) == "page=2&rewriter=kept&q=rewrite"
