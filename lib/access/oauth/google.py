"""Google Sign-In: the ID token the client got from Google Identity Services / Google Sign-In.

`aud` must be one of `GOOGLE_CLIENT_IDS` (list the web, Android and iOS client ids whose tokens
we accept); `iss` is `accounts.google.com` with or without `https://`. Google reports
`email_verified` as a boolean.
"""

from __future__ import annotations

from lib.access.oauth.base import OAuthIdentity, settings_or_default
from lib.access.oauth.idtoken import IdTokenIssuer, verify_id_token
from lib.conf import OAuthConfig

ISSUER = IdTokenIssuer("google", ("accounts.google.com", "https://accounts.google.com"))


def verify(
    token: str, *, nonce: str | None = None, settings: OAuthConfig | None = None
) -> OAuthIdentity:
    settings = settings_or_default(settings)
    return verify_id_token(
        token,
        issuer=ISSUER,
        jwks_url=settings.google_jwks_url,
        audiences=settings.google_client_ids,
        nonce=nonce,
        settings=settings,
    )
