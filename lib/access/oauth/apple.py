"""Sign in with Apple: the identity token (`identityToken` / `id_token`) the client got.

`aud` must be one of `APPLE_CLIENT_IDS` (the Services ID for web sign-in, the bundle id for the
app); `iss` is `https://appleid.apple.com`. Apple signs with RS256 and sends `email_verified`
as `true` or the string "true"; the email may be a private relay address, which is verified
too. Apple's token carries no name (the app gets it once, outside the token).

Nonce: the client generates a random raw nonce, gives Apple its SHA-256 (lowercase hex), and
sends us the RAW nonce; we hash it and compare with the token's `nonce` claim. Web clients using
Apple's JS SDK do the same: pass the hash to Apple, send us the raw value.
"""

from __future__ import annotations

from lib.access.oauth.base import OAuthIdentity, settings_or_default
from lib.access.oauth.idtoken import IdTokenIssuer, verify_id_token
from lib.conf import OAuthConfig

ISSUER = IdTokenIssuer("apple", ("https://appleid.apple.com",), nonce_hashed=True)


def verify(
    token: str, *, nonce: str | None = None, settings: OAuthConfig | None = None
) -> OAuthIdentity:
    settings = settings_or_default(settings)
    return verify_id_token(
        token,
        issuer=ISSUER,
        jwks_url=settings.apple_jwks_url,
        audiences=settings.apple_client_ids,
        nonce=nonce,
        settings=settings,
    )
