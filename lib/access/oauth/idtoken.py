"""OpenID Connect ID tokens (Google, Apple): JWTs verified against the provider's JWKS.

Strict: the signature with a key the provider publishes, the algorithm pinned to RS256 (so
`alg=none` and HMAC-with-the-public-key tokens are refused before any key is fetched), the
issuer, the audience (one of our client ids), expiry and issue time (with `leeway_seconds` of
clock skew), a subject, and the nonce:

* the caller sends `nonce` when it asked the provider for one; the token's `nonce` claim
  must then match, and a token carrying a nonce is refused without one;
* Google puts the nonce in the token as given; Apple's native flows put the SHA-256 (lowercase
  hex) of the client's raw nonce there, so for Apple the client sends the RAW nonce and we
  compare its hash. A replayed Apple token is then useless without the raw nonce, which never
  appears in the token.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jwt

from lib.access.oauth.base import (
    OAuthIdentity,
    OAuthProviderDisabled,
    OAuthTokenInvalid,
    claim_bool,
    claim_str,
)
from lib.access.oauth.jwks import key_set
from lib.conf import OAuthConfig

ALGORITHM = "RS256"
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub"]
# Most specific first: InvalidSignatureError is a DecodeError, and so on.
FAILURE_REASONS: tuple[tuple[type[jwt.InvalidTokenError], str], ...] = (
    (jwt.ExpiredSignatureError, "expired"),
    (jwt.InvalidAudienceError, "audience"),
    (jwt.InvalidIssuerError, "issuer"),
    (jwt.InvalidSignatureError, "signature"),
    (jwt.InvalidAlgorithmError, "algorithm"),
    (jwt.MissingRequiredClaimError, "missing_claim"),
    (jwt.ImmatureSignatureError, "not_yet_valid"),
    (jwt.InvalidIssuedAtError, "issued_at"),
    (jwt.DecodeError, "malformed"),
)


@dataclass(frozen=True, slots=True)
class IdTokenIssuer:
    provider: str
    issuers: tuple[str, ...]
    # The token holds SHA-256(raw nonce) instead of the nonce itself (Apple).
    nonce_hashed: bool = False


def failure_reason(exc: jwt.InvalidTokenError) -> str:
    for error_type, reason in FAILURE_REASONS:
        if isinstance(exc, error_type):
            return reason
    return "invalid"


def verify_id_token(
    token: str,
    *,
    issuer: IdTokenIssuer,
    jwks_url: str,
    audiences: Sequence[str],
    nonce: str | None,
    settings: OAuthConfig,
) -> OAuthIdentity:
    provider = issuer.provider
    if not audiences:
        raise OAuthProviderDisabled()
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError as exc:
        raise OAuthTokenInvalid(provider, "malformed") from exc
    if header.get("alg") != ALGORITHM:
        raise OAuthTokenInvalid(provider, "algorithm")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise OAuthTokenInvalid(provider, "malformed")
    key = key_set(jwks_url, settings).signing_key(kid, provider=provider)
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=list(audiences),
            issuer=list(issuer.issuers),
            leeway=settings.leeway_seconds,
            options={"require": REQUIRED_CLAIMS},
        )
    except jwt.InvalidTokenError as exc:
        raise OAuthTokenInvalid(provider, failure_reason(exc)) from exc
    check_nonce(claims.get("nonce"), nonce, issuer=issuer)
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.strip():
        raise OAuthTokenInvalid(provider, "missing_claim")
    email = claim_str(claims.get("email"))
    return OAuthIdentity(
        provider=provider,
        subject=subject,
        email=email,
        email_verified=email is not None and claim_bool(claims.get("email_verified")),
        name=claim_str(claims.get("name")),
    )


def check_nonce(token_nonce: Any, nonce: str | None, *, issuer: IdTokenIssuer) -> None:
    if nonce is None:
        if token_nonce is not None:
            raise OAuthTokenInvalid(issuer.provider, "nonce_missing")
        return
    expected = hashlib.sha256(nonce.encode()).hexdigest() if issuer.nonce_hashed else nonce
    if not isinstance(token_nonce, str) or not hmac.compare_digest(
        token_nonce.encode(), expected.encode()
    ):
        raise OAuthTokenInvalid(issuer.provider, "nonce")
