"""Access tokens: issued with the right claims, and every kind of bad token refused."""

from __future__ import annotations

import base64
import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from db.models import User, UserRole, Vendor, VendorMember
from lib.access.tokens import (
    AUDIENCE,
    ISSUER,
    TokenError,
    access_token_issue,
    access_token_verify,
)
from lib.conf import config, derived_jwt_key
from tests.support import run_python

pytestmark = pytest.mark.django_db


@pytest.fixture
def user():
    return User.objects.create_user(f"{uuid.uuid4().hex[:10]}@example.com", None)


def claims_for(user: User, **changes) -> dict:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(user.pk),
        "sid": uuid.uuid4().hex,
        "role": user.role,
        "vnd": [],
        "typ": "access",
        "iat": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def signed(claims: dict, key: str | None = None) -> str:
    return jwt.encode(claims, key or config.jwt_signing_key, algorithm="HS256")


def refused(token: str) -> str:
    with pytest.raises(TokenError) as caught:
        access_token_verify(token)
    return caught.value.reason


def test_issued_token_verifies_with_user_session_role_and_vendors(user):
    vendor = Vendor.objects.create(name="Dhaka Crafts", slug=f"dhaka-{uuid.uuid4().hex[:6]}")
    VendorMember.objects.create(vendor=vendor, user=user)
    user.role = UserRole.VENDOR_STAFF

    token, expires_in = access_token_issue(user=user, session_id="a" * 32)
    claims = access_token_verify(token)

    assert expires_in == config.jwt_access_ttl == 900
    assert claims.user_id == str(user.pk)
    assert claims.session_id == "a" * 32
    assert claims.role == "vendor_staff"
    assert claims.vendor_ids == (str(vendor.pk),)
    assert abs(claims.expires_at - (time.time() + 900)) < 5
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "HS256"


def test_two_tokens_of_one_session_differ_by_their_id(user):
    first, _ = access_token_issue(user=user, session_id="b" * 32)
    second, _ = access_token_issue(user=user, session_id="b" * 32)
    assert (
        jwt.decode(first, options={"verify_signature": False})["jti"]
        != jwt.decode(second, options={"verify_signature": False})["jti"]
    )


def test_token_signed_with_another_key_is_invalid(user):
    forged = signed(claims_for(user, role="admin"), key="x" * 64)
    assert refused(forged) == "invalid"


def test_expired_token_is_reported_as_expired(user):
    past = int(time.time()) - 3600
    assert refused(signed(claims_for(user, iat=past - 900, exp=past))) == "expired"


def test_alg_none_token_is_invalid(user):
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    unsigned = f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims_for(user))}."
    assert refused(unsigned) == "invalid"


def test_rs256_token_is_refused_even_when_signed_with_a_valid_key(user):
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    assert refused(jwt.encode(claims_for(user), pem, algorithm="RS256")) == "invalid"


@pytest.mark.parametrize(
    "changes",
    [
        {"typ": "refresh"},
        {"aud": "someone-else"},
        {"iss": "https://accounts.google.com"},
        {"sid": None},
        {"jti": None},
        {"sub": None},
        {"vnd": "not-a-list"},
    ],
    ids=["wrong-typ", "wrong-aud", "wrong-iss", "no-sid", "no-jti", "no-sub", "bad-vnd"],
)
def test_token_with_wrong_or_missing_claims_is_invalid(user, changes):
    assert refused(signed(claims_for(user, **changes))) == "invalid"


def test_tampered_payload_is_invalid(user):
    token, _ = access_token_issue(user=user, session_id="c" * 32)
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "admin"
    raw = json.dumps(claims).encode()
    forged_payload = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    assert refused(f"{header}.{forged_payload}.{signature}") == "invalid"


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "Bearer x.y.z"])
def test_garbage_is_invalid(garbage):
    assert refused(garbage) == "invalid"


def test_signing_key_is_derived_from_secret_key_unless_configured():
    script = "from lib.conf import config; print(config.jwt_signing_key)"
    derived = run_python(script, env={"SECRET_KEY": "s" * 50, "JWT_SIGNING_KEY": ""})
    explicit = run_python(script, env={"SECRET_KEY": "s" * 50, "JWT_SIGNING_KEY": "k" * 40})

    assert derived.returncode == 0, derived.stderr
    assert derived.stdout.strip() == derived_jwt_key("s" * 50)
    assert derived.stdout.strip() not in ("s" * 50, derived_jwt_key("t" * 50))
    assert len(derived.stdout.strip()) == 64
    assert explicit.stdout.strip() == "k" * 40
