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
