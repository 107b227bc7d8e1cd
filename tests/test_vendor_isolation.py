"""No vendor reads or changes another vendor's data, through any route of the API.

The walk takes every operation of every function's OpenAPI document (the merged API), and
keeps those a vendor's owner may call but a customer may not (the vendor routes: the
vendor console, catalog administration, inventory, order transitions, couriers, and any
added later). Each is called as the owner of vendor B with vendor A's ids in the path and
the body (and, where the path names a vendor, also with B's own vendor id beside A's
resource ids). Every call must be refused (401/403/404), or answer without anything of
A's (beyond the ids B itself sent); and nothing of A's may have changed afterwards.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest

from db.models import (
    Consignment,
    InventoryAlert,
    Order,
    Product,
    ProductImage,
    ProductVariation,
    StockAdjustment,
    VendorLedgerEntry,
    VendorMember,
    VendorOrder,
)
from lib.openapi import function_schemas
from lib.orders.state import order_transition
from tests import factories
from tests.support import call
from tests.vendor_shop import geo_load, order_of, person, signed_in, vendor_with_owner

pytestmark = pytest.mark.django_db

REFUSED = {401, 403, 404}
# Not about vendors' data: the walk cannot tell them apart by their answers alone.
SKIPPED_FUNCTIONS = {"docs", "health", "graphql"}


@pytest.fixture
def world(server_key, kv):
    """Vendor A with a product (and one with a variation), an image, stock moves, an alert,
    an order in processing split into its part, a consignment and a delivered sale; vendor B
    with its owner."""
    geo_load()
    a, a_owner = vendor_with_owner()
    b, b_owner = vendor_with_owner()
    category = factories.category()
    product = factories.product(category=category, vendor=a, price=Decimal("300.00"))
    with_sizes = factories.product(category=category, vendor=a, images=0)
    variation = factories.variation(product=with_sizes, value="XL")
    StockAdjustment.objects.create(
        product=product, delta=5, quantity_after=product.quantity, reason="restock"
    )
    alert = InventoryAlert.objects.create(product=product, kind="low_stock", quantity_at_alert=1)
    delivered = order_of(product, server_key=server_key)
    for status in ("processing", "shipped", "delivered"):
        order_transition(order=delivered, to_status=status)
    order = order_of(product, server_key=server_key)
    order_transition(order=order, to_status="processing")
    consignment = Consignment.objects.create(
        order=order, courier="steadfast", consignment_id="A-CN-1", tracking_code="A-TRK-1"
    )
    return {
        "a": a,
        "b": b,
        "a_owner": a_owner,
        "b_owner": b_owner,
        "product": product,
        "variation": variation,
        "image": ProductImage.objects.filter(product=product).first(),
        "alert": alert,
        "order": order,
        "part": VendorOrder.objects.get(order=order),
        "member": VendorMember.objects.get(vendor=a),
        "consignment": consignment,
        "server_key": server_key,
        "bystander": person(),
    }


def ids_of_a(world: dict[str, Any], *, vendor: str) -> dict[str, str]:
    """Path and body values by parameter name: A's rows (the vendor as given)."""
    return {
        "vendor": vendor,
        "vendor_id": vendor,
        "product_id": str(world["product"].pk),
        "variation_id": str(world["variation"].pk),
        "image_id": str(world["image"].pk),
        "alert_id": str(world["alert"].pk),
        "number": world["order"].number,
        "order_number": world["order"].number,
        "part_id": str(world["part"].pk),
        "member_id": str(world["member"].pk),
        "consignment_id": str(world["consignment"].pk),
        "slug": world["product"].slug,
        "email": world["bystander"].email,
    }


def a_fingerprints(world: dict[str, Any]) -> list[str]:
    """Strings that only A's data contains."""
    return [
        str(world["a"].pk),
        world["a"].slug,
        str(world["product"].pk),
        world["product"].sku,
        world["order"].number,
        str(world["part"].pk),
        world["a_owner"].email,
        "A-CN-1",
    ]


def a_state(world: dict[str, Any]) -> Any:
    """Everything of A's a write could change."""
    a = world["a"]
    return (
        list(
            Product.objects.filter(vendor=a)
            .order_by("pk")
            .values_list("pk", "name_en", "price", "quantity", "is_active", "is_featured")
        ),
        list(
            ProductVariation.objects.filter(product__vendor=a)
            .order_by("pk")
            .values_list("pk", "quantity", "is_active")
        ),
        ProductImage.objects.filter(product__vendor=a).count(),
        StockAdjustment.objects.filter(product__vendor=a).count(),
        list(InventoryAlert.objects.filter(product__vendor=a).values_list("pk", "resolved_at")),
        list(Order.objects.filter(items__vendor=a).order_by("pk").values_list("pk", "status")),
        list(VendorOrder.objects.filter(vendor=a).order_by("pk").values_list("pk", "status")),
        list(VendorMember.objects.filter(vendor=a).order_by("pk").values_list("user_id", "role")),
        VendorLedgerEntry.objects.filter(vendor=a).count(),
        list(Consignment.objects.filter(order__items__vendor=a).values_list("pk", "state")),
        type(a).objects.filter(pk=a.pk).values_list("status", "name").get(),
    )


# --- request bodies from the OpenAPI schema -------------------------------------------------


def resolve(node: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = components[node["$ref"].rsplit("/", 1)[-1]]
    options = node.get("anyOf") or node.get("oneOf")
    if options:
        return resolve(
            next((o for o in options if o.get("type") != "null"), options[0]), components
        )
    if "allOf" in node and len(node["allOf"]) == 1:
        return resolve(node["allOf"][0], components)
    return node


def example(
    node: dict[str, Any], components: dict[str, Any], ids: dict[str, str], name: str
) -> Any:
    """A valid-looking value for `node`, taking A's ids for the names they answer to."""
    node = resolve(node, components)
    kind = node.get("type")
    if name in ids and kind in ("string", None):
        return ids[name]
    if name.endswith("_ids") and name[:-1] in ids:
        return [ids[name[:-1]]]
    if name in ("order_numbers", "numbers"):
        return [ids["number"]]
    if "enum" in node:
        return node["enum"][0]
    if "examples" in node:
        return node["examples"][0]
    if "default" in node and node["default"] is not None:
        return node["default"]
    if kind == "object":
        props = node.get("properties", {})
        wanted = set(node.get("required", [])) | {p for p in props if p in ids}
        return {p: example(props[p], components, ids, p) for p in props if p in wanted}
    if kind == "array":
        return [example(node.get("items", {}), components, ids, name[:-1])] * max(
            node.get("minItems", 1), 1
        )
    if kind == "integer":
        return max(node.get("minimum", node.get("exclusiveMinimum", 0) + 1), 1)
    if kind == "number":
        return "1.00"
    if kind == "boolean":
        return False
    fmt = node.get("format")
    if fmt == "uuid":
        return str(uuid.uuid4())
    if fmt == "date-time":
        return datetime.now(UTC).isoformat()
    if fmt == "date":
        return date.today().isoformat()
    if fmt == "email":
        return "someone@shop.test"
    return "x" * max(node.get("minLength", 1), 3)


# A 1x1 PNG, for uploads.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
BOUNDARY = "isolation-walk-boundary"


def body_of(operation: dict[str, Any], components: dict[str, Any], ids: dict[str, str]) -> Any:
    """A JSON body, or `(bytes, content type)` for a multipart upload, or None."""
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        return example(content["application/json"]["schema"], components, ids, "")
    if "multipart/form-data" not in content:
        return None
    form = resolve(content["multipart/form-data"]["schema"], components)
    parts = []
    for name, prop in form.get("properties", {}).items():
        prop = resolve(prop, components)
        disposition = f'Content-Disposition: form-data; name="{name}"'
        if prop.get("format") == "binary":
            head = f'{disposition}; filename="a.png"\r\nContent-Type: image/png'
            parts.append(head.encode() + b"\r\n\r\n" + PNG)
        elif name in form.get("required", []):
            value = str(example(prop, components, ids, name))
            parts.append(f"{disposition}\r\n\r\n{value}".encode())
    raw = b"".join(f"--{BOUNDARY}\r\n".encode() + part + b"\r\n" for part in parts)
    return raw + f"--{BOUNDARY}--\r\n".encode(), f"multipart/form-data; boundary={BOUNDARY}"


def url_of(
    path: str, ids: dict[str, str], operation: dict[str, Any], components: dict[str, Any]
) -> str:
    """The path with A's ids, and the required query parameters."""
    for name, value in ids.items():
        path = path.replace("{" + name + "}", value)
    while "{" in path:  # a parameter A has no row for: a well-formed unknown id
        start, end = path.index("{"), path.index("}")
        path = path[:start] + str(uuid.uuid4()) + path[end + 1 :]
    query = {
        p["name"]: example(p.get("schema", {}), components, ids, p["name"])
        for p in operation.get("parameters", [])
        if p["in"] == "query" and (p.get("required") or p["name"] in ids)
    }
    return f"{path}?{urlencode(query, doseq=True)}" if query else path


# --- the walk -----------------------------------------------------------------------------------


def operations():
    apps = {}
    for name, schema in function_schemas().items():
        if name in SKIPPED_FUNCTIONS:
            continue
        module = __import__(f"api.{name.replace('/', '.')}", fromlist=["app"])
        apps[name] = module.app
        components = schema.get("components", {}).get("schemas", {})
        for path, items in schema["paths"].items():
            for method, operation in items.items():
                yield name, module.app, method.upper(), path, operation, components


def send(app, method: str, path: str, headers: dict[str, str], body: Any):
    headers = {**headers, "Idempotency-Key": f"isolation-{uuid.uuid4()}"}
    if body is None:
        return call(app, method, path, headers=headers)
    if isinstance(body, tuple):
        raw, content_type = body
        return call(app, method, path, headers={**headers, "Content-Type": content_type}, body=raw)
    return call(app, method, path, headers=headers, json_body=body)


def sent_text(url: str, body: Any) -> str:
    return url + (repr(body) if isinstance(body, tuple) else json.dumps(body))


def test_no_vendor_route_reaches_another_vendors_data(world):
    server_key = world["server_key"]
    a_ids = ids_of_a(world, vendor=str(world["a"].pk))
    b_path_ids = ids_of_a(world, vendor=str(world["b"].pk))
    fingerprints = a_fingerprints(world)
    before = a_state(world)
    walked, holes, unclear = [], [], []

    for _, app, method, path, operation, components in operations():
        body = body_of(operation, components, a_ids)
        customer = send(
            app,
            method,
            url_of(path, a_ids, operation, components),
            signed_in(server_key, person()),
            body,
        )
        if customer.status not in (401, 403):
            continue  # open to customers (or the public): not a vendor route
        variants = [a_ids] + ([b_path_ids] if "{vendor_id}" in path else [])
        for ids in variants:
            url, body = (
                url_of(path, ids, operation, components),
                body_of(operation, components, ids),
            )
            reply = send(app, method, url, signed_in(server_key, world["b_owner"]), body)
            # what B sent it knows already: an echo of it (a per-item "not found") is no leak
            sent = sent_text(url, body)
            marks = [mark for mark in fingerprints if mark not in sent]
            label = f"{method} {path} ({'B' if ids is b_path_ids else 'A'} in path)"
            if reply.status in (401, 403) and ids is a_ids:
                # refused to vendors altogether? then it is a staff route: not walked
                codes = json.loads(reply.body or b"{}").get("error", {}).get("fields", {})
                if "permissions" in codes or "scope" in codes:
                    break
            walked.append(label)
            text = reply.body.decode("utf-8", "replace")
            if reply.status in REFUSED:
                continue
            if reply.status == 422:
                unclear.append(f"{label}: {text[:300]}")
            elif reply.status >= 500 or any(mark in text for mark in marks):
                holes.append(f"{label}: {reply.status} {text[:300]}")

    assert holes == []
    assert unclear == [], "\n".join(unclear)
    assert a_state(world) == before
    # the walk reached the vendor routes of every area (it must not pass by walking nothing)
    for expected in (
        "GET /api/v1/vendors/{vendor_id}/orders (A in path)",
        "POST /api/v1/vendors/{vendor_id}/orders/{part_id}/transition (B in path)",
        "DELETE /api/v1/vendors/{vendor_id}/members/{member_id} (A in path)",
        "PATCH /api/v1/admin/products/{product_id} (A in path)",
        "POST /api/v1/admin/inventory/adjustments (A in path)",
        "POST /api/v1/admin/orders/{number}/transition (A in path)",
        "GET /api/v1/admin/couriers/consignments/{consignment_id} (A in path)",
        "DELETE /api/v1/admin/products/{product_id}/images/{image_id} (A in path)",
    ):
        assert expected in walked, expected
