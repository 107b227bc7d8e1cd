"""Access tokens: short-lived HS256 JWTs naming a user and the session they belong to.

Verification is CPU only (no I/O): the middleware runs it on every request that carries a
bearer token, then checks in the KV store that the session still exists, so signing out
revokes a token at once instead of at its expiry.
"""

from __future__ import annotations

import time
import uuid
from typing import Literal

from db.models import User, VendorMember, VendorStatus
from lib.access.context import AccessClaims
from lib.conf import config

ISSUER = "zest-store"
AUDIENCE = "zest-api"
ALGORITHM = "HS256"
ACCESS_TYPE = "access"
REQUIRED_CLAIMS = ["iss", "aud", "sub", "sid", "typ", "iat", "exp", "jti"]

TokenErrorReason = Literal["expired", "invalid"]


class TokenError(Exception):
    """A bearer token that cannot be accepted; `reason` is "expired" or "invalid"."""

    def __init__(self, reason: TokenErrorReason, detail: str = "") -> None:
        self.reason = reason
        super().__init__(detail or reason)


def user_vendor_ids(user: User) -> list[str]:
    """The vendors `user` is a member of and may act for (the `vnd` claim): a suspended
    vendor is left out."""
    return [
        str(vendor_id)
        for vendor_id in VendorMember.objects.filter(user_id=user.pk)
        .exclude(vendor__status=VendorStatus.SUSPENDED)
        .order_by("vendor_id")
        .values_list("vendor_id", flat=True)
    ]


def access_token_issue(*, user: User, session_id: str) -> tuple[str, int]:
    """A signed access token for `user` in session `session_id`, and its lifetime in seconds."""
    now = int(time.time())
    ttl = config.jwt_access_ttl
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(user.pk),
        "sid": session_id,
        "role": user.role,
        "vnd": user_vendor_ids(user),
        "typ": ACCESS_TYPE,
        "iat": now,
        "exp": now + ttl,
        "jti": uuid.uuid4().hex,
    }
    import jwt  # imported on first use: PyJWT loads `cryptography`, a cold-start cost that
    # requests without a bearer token (most storefront traffic) should not pay

    return jwt.encode(claims, config.jwt_signing_key, algorithm=ALGORITHM), ttl


def access_token_verify(token: str) -> AccessClaims:
    """The claims of a valid access token; raises `TokenError` otherwise.

    Only HS256 is accepted (`alg: none` and public-key confusion are refused), issuer and
    audience must be ours, and the token must be an access token (`typ`).
    """
    import jwt  # see access_token_issue

    try:
        claims = jwt.decode(
            token,
            config.jwt_signing_key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": REQUIRED_CLAIMS},
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenError("expired", str(exc)) from exc
    except jwt.InvalidTokenError as exc:
        raise TokenError("invalid", str(exc)) from exc
    vendors = claims.get("vnd", [])
    if (
        claims["typ"] != ACCESS_TYPE
        or not isinstance(claims["sub"], str)
        or not isinstance(claims["sid"], str)
        or not isinstance(claims.get("role"), str)
        or not isinstance(vendors, list)
    ):
        raise TokenError("invalid", "not an access token")
    return AccessClaims(
        user_id=claims["sub"],
        session_id=claims["sid"],
        role=claims["role"],
        vendor_ids=tuple(str(vendor) for vendor in vendors),
        expires_at=int(claims["exp"]),
    )
