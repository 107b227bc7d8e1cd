"""Hostile input gets a clear 4xx from the shared pipeline, never a 500, and changes nothing:
the NUL character anywhere (path, query, headers, JSON), bodies over the platform's limit,
numbers past a column's range, broken multipart bodies, odd JSON."""

from __future__ import annotations

import json
import uuid

import pytest

import api.addresses
import api.auth
import api.cart
import api.catalog
import api.checkout
import api.discounts
import api.graphql
import api.product_images
from db.models import Address, Discount, ProductImage, User, UserRole
from devtools.demo_images import product_png
from lib.access.sessions import session_start
from tests import factories
from tests.support import call

pytestmark = pytest.mark.django_db
OVER_LIMIT = 4_500_001  # Vercel's request body limit is 4.5 MB


@pytest.fixture
def send(server_key):
    def send(app, method, url, *, headers=None, **kwargs):
        return call(app, method, url, headers={**server_key, **(headers or {})}, **kwargs)

    return send


@pytest.fixture
def signed_in(server_key):
    """Headers of a freshly signed-in user of `role`, through the all-scopes server key."""

    def signed_in(role: str = UserRole.CUSTOMER) -> tuple[User, dict[str, str]]:
        user = User.objects.create_user(
            email=f"{role}-{uuid.uuid4().hex[:8]}@zest.test", password=None, role=role
        )
        tokens = session_start(user=user, ip="127.0.0.1", user_agent="test")
        return user, {**server_key, "Authorization": f"Bearer {tokens.access_token}"}

    return signed_in


def refusal(response) -> tuple[int, str, list[str]]:
    error = response.json()["error"]
    return response.status, error["code"], sorted(error["fields"])


# --- the NUL character --------------------------------------------------------------------


def test_a_nul_in_the_query_string_is_refused_naming_the_parameter(send):
    response = send(api.catalog.app, "GET", "/api/v1/products?q=tea%00cup")

    assert refusal(response) == (400, "nul_character", ["q"])


def test_a_nul_in_the_path_is_refused(send):
    # A WSGI server hands the function the decoded path: `%00` arrives as U+0000.
    response = send(api.catalog.app, "GET", "/api/v1/products/green\x00tea")

    assert refusal(response) == (400, "nul_character", ["path"])


def test_a_nul_in_a_header_is_refused_naming_the_header(send):
    response = send(api.cart.app, "GET", "/api/v1/cart", headers={"X-Cart-Token": "ab\x00cd"})

    assert refusal(response) == (400, "nul_character", ["X-Cart-Token"])


def test_a_nul_in_a_json_field_is_refused_and_nothing_is_stored(send):
    body = {
        "email": "nul@zest.test",
        "password": "Long-enough-pass-1",
        "full_name": "Rahim\x00Uddin",
    }

    response = send(api.auth.app, "POST", "/api/v1/auth/register", json_body=body)

    assert refusal(response) == (400, "nul_character", ["full_name"])
    assert not User.objects.filter(email="nul@zest.test").exists()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32-be"])
def test_a_nul_is_found_whatever_unicode_encoding_the_json_body_uses(send, encoding):
    body = json.dumps(
        {"email": "e@zest.test", "password": "Long-enough-pass-1", "full_name": "a\x00"}
    )

    response = send(api.auth.app, "POST", "/api/v1/auth/register", body=body.encode(encoding))

    assert refusal(response) == (400, "nul_character", ["full_name"])


def test_a_nul_deep_in_a_json_body_is_named_by_its_path(signed_in):
    user, headers = signed_in()
    address = {
        "full_name": "Rahim Uddin",
        "phone": "01712345678",
        "address_line1": "House 12\x00",
        "division": "Dhaka",
        "district": "Dhaka",
    }
    checkout = {"address": address, "coupon_codes": ["EID\x00"], "lines": []}

    saved = call(
        api.addresses.app, "POST", "/api/v1/me/addresses", json_body=address, headers=headers
    )
    quoted = call(
        api.checkout.app, "POST", "/api/v1/checkout/quote", json_body=checkout, headers=headers
    )

    assert refusal(saved) == (400, "nul_character", ["address_line1"])
    assert refusal(quoted)[:2] == (400, "nul_character")
    assert refusal(quoted)[2] in (["address.address_line1"], ["coupon_codes.0"])
    assert not Address.objects.filter(user=user).exists()


def test_a_nul_in_a_form_field_is_refused_before_the_upload_is_stored(signed_in):
    _, headers = signed_in(UserRole.STAFF)
    product = factories.product(category=factories.category(), images=0)
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="alt_text_en"\r\n\r\nTea\x00\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + product_png("tea")
        + f"\r\n--{boundary}--\r\n".encode()
    )

    response = call(
        api.product_images.app,
        "POST",
        f"/api/v1/admin/products/{product.pk}/images",
        body=body,
        headers={**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )

    assert refusal(response) == (400, "nul_character", ["alt_text_en"])
    assert not ProductImage.objects.filter(product=product).exists()


def test_a_nul_in_a_graphql_variable_is_refused(send):
    body = {"query": "query($s: String!) { product(slug: $s) { id } }", "variables": {"s": "a\x00"}}

    response = send(api.graphql.app, "POST", "/api/graphql", json_body=body)

    assert response.status == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "nul_character"


# --- sizes and numbers --------------------------------------------------------------------


def test_a_body_over_the_platform_limit_is_413_before_it_is_read(send):
    body = json.dumps({"lines": [], "email": "x" * OVER_LIMIT})

    sent = send(api.checkout.app, "POST", "/api/v1/checkout/quote", body=body)
    declared = send(
        api.checkout.app,
        "POST",
        "/api/v1/checkout/quote",
        body="{}",
        headers={"Content-Length": str(OVER_LIMIT)},
    )

    assert refusal(sent) == (413, "payload_too_large", [])
    assert refusal(declared) == (413, "payload_too_large", [])


@pytest.mark.parametrize("limit", [2**31, 2**63, 10**30])
def test_an_integer_past_its_column_range_is_422_and_nothing_is_stored(signed_in, limit):
    _, headers = signed_in(UserRole.STAFF)
    body = {"name": "Eid", "kind": "fixed", "value": "50", "usage_limit": limit}

    response = call(
        api.discounts.app, "POST", "/api/v1/admin/discounts", json_body=body, headers=headers
    )

    assert refusal(response) == (422, "validation_error", ["usage_limit"])
    assert not Discount.objects.exists()


@pytest.mark.parametrize(
    "query", ["page=99999999999999999999999", "page_size=99999999999999999999"]
)
def test_huge_page_numbers_are_not_a_server_error(send, query):
    factories.product(category=factories.category(), images=0)

    response = send(api.catalog.app, "GET", f"/api/v1/products?{query}")

    assert response.status < 500, response.body


# --- malformed bodies ---------------------------------------------------------------------


CUT_SHORT = (
    b'--cut\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
    b"Content-Type: image/png\r\n\r\n\x89PNG\r\n"
)


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        ("multipart/form-data", b"--y\r\nno boundary", (400, "multipart_invalid")),
        ("multipart/form-data; boundary=", b"--\r\nempty boundary", (400, "multipart_invalid")),
        ("multipart/form-data; boundary=x", b"no part at all", (422, "validation_error")),
        ("multipart/form-data; boundary=cut", CUT_SHORT, (422, "validation_error")),
    ],
    ids=["no-boundary", "empty-boundary", "no-part", "cut-short"],
)
def test_a_broken_multipart_upload_is_a_4xx_and_stores_nothing(
    signed_in, content_type, body, expected
):
    _, headers = signed_in(UserRole.STAFF)
    product = factories.product(category=factories.category(), images=0)

    response = call(
        api.product_images.app,
        "POST",
        f"/api/v1/admin/products/{product.pk}/images",
        body=body,
        headers={**headers, "Content-Type": content_type},
    )

    assert refusal(response)[:2] == expected, response.body
    assert not ProductImage.objects.filter(product=product).exists()


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000 + "]" * 100_000,  # nested past the parser's recursion limit
        b'{"email": "\xff\xfe"}',  # not UTF-8
        '{"email": "a"',  # cut short
    ],
    ids=["deeply-nested", "not-utf-8", "truncated"],
)
def test_bodies_that_are_not_json_are_400_malformed_json(send, body):
    response = send(api.checkout.app, "POST", "/api/v1/checkout/quote", body=body)

    assert refusal(response) == (400, "malformed_json", [])
