"""The merged OpenAPI document (/api/v1/openapi.json, served by the docs function) as a
contract: what a client generated from it, or a developer on the docs page, can rely on."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

import api.docs
from tests.support import call

MONEY_REF = "#/components/schemas/Money"
# Response properties that hold an amount of money, by name.
MONEY_NAME = re.compile(
    r"(^|_)(price|total|subtotal|amount|fee|captured|refunded|adjustment|discount|min_order)$"
)

# Named like money but not money.
NOT_MONEY = {"ReconcileRunOut.captured"}  # how many payments a reconciliation run captured


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    response = call(api.docs.app, "GET", "/api/v1/openapi.json")
    assert response.status == 200
    return response.json()


def operations(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, items in schema["paths"].items():
        for method, operation in items.items():
            yield method.upper(), path, operation


def refs_in(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for value in node.values():
            yield from refs_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs_in(value)


def response_schema_names(schema: dict[str, Any]) -> set[str]:
    """Every component schema a response can contain (followed through nested refs)."""
    components = schema["components"]["schemas"]
    pending = [
        ref
        for _, _, operation in operations(schema)
        for response in operation.get("responses", {}).values()
        for ref in refs_in(response)
    ]
    seen: set[str] = set()
    while pending:
        name = pending.pop().rsplit("/", 1)[-1]
        if name in seen or name not in components:
            continue
        seen.add(name)
        pending.extend(refs_in(components[name]))
    return seen


def is_money(prop: dict[str, Any]) -> bool:
    """`Money`, or `Money | null`."""
    if prop.get("$ref") == MONEY_REF:
        return True
    options = prop.get("anyOf", [])
    return {o.get("$ref") or o.get("type") for o in options} == {MONEY_REF, "null"}


def test_money_is_one_schema_of_amount_currency_and_display(schema):
    money = schema["components"]["schemas"]["Money"]

    assert set(money["properties"]) == {"amount", "currency", "display"}
    assert set(money["required"]) == {"amount", "currency", "display"}
    assert money["properties"]["amount"]["type"] == "string"
    assert re.fullmatch(money["properties"]["amount"]["pattern"], "445.00")
    assert not re.fullmatch(money["properties"]["amount"]["pattern"], "445")
    assert money["properties"]["currency"]["const"] == "BDT"


def test_every_money_field_of_every_response_is_the_money_schema(schema):
    components = schema["components"]["schemas"]
    names = response_schema_names(schema)
    money_fields, wrong = [], []
    for name in sorted(names - {"Money"}):
        for field, prop in components[name].get("properties", {}).items():
            if field.endswith("_display"):
                wrong.append(f"{name}.{field}: a display string beside the amount")
            elif MONEY_NAME.search(field) and f"{name}.{field}" not in NOT_MONEY:
                money_fields.append(f"{name}.{field}")
                if not is_money(prop):
                    wrong.append(f"{name}.{field}: {prop}")

    assert wrong == []
    # The walk reaches the money of every area (a renamed schema must not empty it).
    for field in (
        "ProductCardOut.price",
        "CartOut.subtotal",
        "QuoteOut.total",
        "PlacedOrderOut.total",
        "OrderDetailOut.total_amount",
        "AdminPaymentOut.refunded",
        "DiscountOut.min_order",
        "ManagedProductOut.cost_price",
        "HeldOrderOut.total_amount",
    ):
        assert field in money_fields


# --- what a developer enters on the docs page ---------------------------------------------


def header_parameters(operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "header"}


@pytest.mark.parametrize(
    ("method", "path", "header", "required"),
    [
        ("post", "/api/v1/checkout/orders", "Idempotency-Key", True),
        ("post", "/api/v1/checkout/one-click", "Idempotency-Key", True),
        ("post", "/api/v1/payments/{order_number}/start", "Idempotency-Key", True),
        ("post", "/api/v1/checkout/quote", "X-Cart-Token", False),
        ("post", "/api/v1/checkout/orders", "X-Cart-Token", False),
        ("get", "/api/v1/cart", "X-Cart-Token", False),
        ("post", "/api/v1/cart/lines", "X-Cart-Token", False),
        ("patch", "/api/v1/cart/lines/{line_id}", "X-Cart-Token", False),
        ("delete", "/api/v1/cart", "X-Cart-Token", False),
        ("post", "/api/v1/auth/login", "X-Cart-Token", False),
        ("post", "/api/v1/auth/register", "X-Cart-Token", False),
    ],
)
def test_headers_a_route_reads_are_header_parameters(schema, method, path, header, required):
    parameter = header_parameters(schema["paths"][path][method]).get(header)

    assert parameter is not None, f"{method.upper()} {path} does not declare {header}"
    assert parameter["required"] is required
    assert parameter.get("description")


def test_one_security_scheme_per_credential(schema):
    schemes = schema["components"]["securitySchemes"]

    assert schemes["ApiKey"] == {**schemes["ApiKey"], "type": "apiKey", "in": "header"}
    assert schemes["ApiKey"]["name"] == "X-API-Key"
    assert (schemes["ApiSecret"]["type"], schemes["ApiSecret"]["name"]) == (
        "apiKey",
        "X-API-Secret",
    )
    assert (schemes["ApiSignature"]["in"], schemes["ApiSignature"]["name"]) == (
        "header",
        "X-Signature",
    )
    assert (schemes["ApiTimestamp"]["in"], schemes["ApiTimestamp"]["name"]) == (
        "header",
        "X-Timestamp",
    )
    assert "HMAC-SHA256" in schemes["ApiSignature"]["description"]
    assert schemes["Bearer"] == {**schemes["Bearer"], "type": "http", "scheme": "bearer"}
    bearers = [name for name, s in schemes.items() if s.get("scheme") == "bearer"]
    assert sorted(bearers) == ["Bearer", "CronSecret"]  # not one box per route guard


def test_every_operation_says_which_credentials_it_takes(schema):
    for method, path, operation in operations(schema):
        alternatives = operation["security"]
        if path.startswith("/api/cron/"):
            assert alternatives == [{"CronSecret": []}], path
        elif path == "/api/health":
            assert alternatives == [], path
        else:
            assert all("ApiKey" in a for a in alternatives), (method, path)
            assert {"ApiKey": [], "ApiSecret": []} in alternatives or all(
                "Bearer" in a for a in alternatives
            ), (method, path)
    me = schema["paths"]["/api/v1/auth/me"]["get"]["security"]
    products = schema["paths"]["/api/v1/products"]["get"]["security"]
    assert all("Bearer" in a for a in me)  # a signed-in user is required
    assert {"ApiKey": []} in products and {"ApiKey": [], "Bearer": []} in products


# --- what every operation answers ---------------------------------------------------------


def response_schema_of(response: dict[str, Any]) -> dict[str, Any] | None:
    return response.get("content", {}).get("application/json", {}).get("schema")


def is_typed(node: dict[str, Any]) -> bool:
    """A `$ref`, or a list/union of them: not a bare object or "any"."""
    if "$ref" in node:
        return True
    if node.get("type") == "array":
        return is_typed(node.get("items", {}))
    if "anyOf" in node:
        return all(is_typed(o) or o.get("type") == "null" for o in node["anyOf"])
    return False


def test_every_success_answer_is_typed(schema):
    untyped = []
    for method, path, operation in operations(schema):
        for status, response in operation["responses"].items():
            if not str(status).startswith("2") or str(status) == "204":
                continue
            body = response_schema_of(response)
            if body is None or not is_typed(body):
                untyped.append(f"{method} {path} {status}: {body}")
    assert untyped == []


def test_every_operation_documents_its_errors_with_the_one_envelope(schema):
    error_ref = "#/components/schemas/ErrorOut"
    missing, wrong = [], []
    for method, path, operation in operations(schema):
        errors = {int(s): r for s, r in operation["responses"].items() if int(s) >= 400}
        if not errors:
            missing.append(f"{method} {path}")
        for status, response in errors.items():
            body = response_schema_of(response)
            if 400 <= status < 500 and (body or {}).get("$ref") != error_ref:
                wrong.append(f"{method} {path} {status}")
    assert (missing, wrong) == ([], [])
    envelope = schema["components"]["schemas"]["ErrorOut"]
    assert envelope["required"] == ["error"]

    def statuses(method: str, path: str) -> set[int]:
        return {int(s) for s in schema["paths"][path][method]["responses"]}

    assert {400, 401, 403, 409, 422, 429} <= statuses("post", "/api/v1/checkout/orders")
    assert {401, 403, 404, 429} <= statuses("get", "/api/v1/products/{slug}")
    assert 409 in statuses("post", "/api/v1/admin/products")
    assert 401 in statuses("get", "/api/cron/outbox")


def test_every_operation_has_a_summary_and_a_description(schema):
    bare = [
        f"{method} {path}"
        for method, path, operation in operations(schema)
        if not (operation.get("summary") and operation.get("description", "").strip())
    ]
    assert bare == []


# --- shapes shared by many operations -----------------------------------------------------


def test_every_endpoint_that_issues_tokens_answers_one_session_shape(schema):
    components = schema["components"]["schemas"]
    session = components["SessionOut"]
    assert set(session["required"]) == {"user", "tokens"}
    assert session["properties"]["tokens"]["$ref"].endswith("/TokenOut")
    for method, path, status in (
        ("post", "/api/v1/auth/register", "201"),
        ("post", "/api/v1/auth/login", "200"),
        ("post", "/api/v1/auth/refresh", "200"),
        ("post", "/api/v1/auth/oauth/{provider}", "200"),
    ):
        response = schema["paths"][path][method]["responses"][status]
        name = response_schema_of(response)["$ref"].rsplit("/", 1)[-1]
        shape = components[name]
        assert shape["properties"]["tokens"] == session["properties"]["tokens"], path
        assert shape["properties"]["user"] == session["properties"]["user"], path


def test_every_json_request_body_refuses_unknown_fields(schema):
    components = schema["components"]["schemas"]
    open_bodies = []
    for method, path, operation in operations(schema):
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body is None:
            continue
        pending = [ref.rsplit("/", 1)[-1] for ref in refs_in(body["schema"])]
        assert pending, f"{method} {path}: an untyped body"
        seen: set[str] = set()
        while pending:  # the body and every object nested in it
            name = pending.pop()
            if name in seen or "properties" not in components[name]:
                continue
            seen.add(name)
            pending.extend(ref.rsplit("/", 1)[-1] for ref in refs_in(components[name]))
            if components[name].get("additionalProperties") is not False:
                open_bodies.append(f"{method} {path}: {name}")
    assert open_bodies == []
