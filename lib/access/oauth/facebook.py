"""Facebook Login: the user access token the client got from the Facebook SDK.

Facebook issues no ID token to classic Login, so the token is checked with Facebook itself:

1. `GET {graph}/debug_token?input_token=<token>&access_token=<app_id>|<app_secret>`: the token
   must be valid (`data.is_valid`), issued to OUR app (`data.app_id`, a token issued to any
   other app is refused: that is the audience check), a user token, and not expired
   (`data.expires_at`, 0 meaning no expiry);
2. `GET {graph}/me?fields=id,name,email&access_token=<token>&appsecret_proof=<proof>` with
   `proof = HMAC-SHA256(app_secret, token)` (works whether or not the app requires it): the
   profile, whose `id` must be the token's `user_id`.

Graph answers 2xx with `{"data": ...}` or a 4xx with `{"error": {"code", "message", ...}}`;
code 190 on `/me` means the token died between the two calls (401). Anything else that is not
a clean answer (5xx, timeouts, our app credentials refused) is the provider being unavailable
(502). `nonce` does not apply to access tokens and is ignored. Facebook has no
`email_verified`: `OAUTH_FACEBOOK_TRUST_EMAIL` decides whether its email counts as verified.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import http.client
import json
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

from lib.access.oauth.base import (
    OAuthIdentity,
    OAuthProviderDisabled,
    OAuthProviderUnavailable,
    OAuthTokenInvalid,
    claim_str,
    settings_or_default,
    tls_context,
)
from lib.conf import OAuthConfig

PROVIDER = "facebook"
GRAPH_TOKEN_ERROR = 190  # OAuthException: invalid, expired or revoked access token


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@functools.cache
def graph_opener() -> urllib.request.OpenerDirector:
    """Built on first use (not at import: the TLS context costs cold-start time)."""
    return urllib.request.build_opener(
        _NoRedirects(), urllib.request.HTTPSHandler(context=tls_context())
    )


def appsecret_proof(token: str, app_secret: str) -> str:
    return hmac.new(app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def graph_get(path: str, params: dict[str, str], *, settings: OAuthConfig) -> tuple[int, Any]:
    """`(status, JSON body)` of a Graph API GET; unreachable or non-JSON answers raise 502."""
    url = f"{settings.facebook_graph_url}{path}?{urlencode(params)}"
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    try:
        try:
            with graph_opener().open(request, timeout=settings.http_timeout) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:  # a 4xx/5xx answer, still read
            with exc:
                status, raw = exc.code, exc.read()
    except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, TLS, resets
        raise OAuthProviderUnavailable(PROVIDER, f"{path}: {exc}") from exc
    if status >= 500:
        raise OAuthProviderUnavailable(PROVIDER, f"{path}: HTTP {status}")
    try:
        return status, json.loads(raw)
    except ValueError as exc:
        raise OAuthProviderUnavailable(PROVIDER, f"{path}: not JSON (HTTP {status})") from exc


def graph_error_code(body: Any) -> int | None:
    error = body.get("error") if isinstance(body, dict) else None
    return error.get("code") if isinstance(error, dict) else None


def debug_token(token: str, settings: OAuthConfig) -> dict[str, Any]:
    app_token = f"{settings.facebook_app_id}|{settings.facebook_app_secret}"
    status, body = graph_get(
        "/debug_token", {"input_token": token, "access_token": app_token}, settings=settings
    )
    data = body.get("data") if isinstance(body, dict) else None
    if status != 200 or not isinstance(data, dict):
        # Problems with the input token come back inside `data`; an error here is about our
        # app credentials or Graph itself.
        raise OAuthProviderUnavailable(PROVIDER, f"debug_token: HTTP {status} {body!r:.200}")
    if data.get("is_valid") is not True:
        error = data.get("error") if isinstance(data.get("error"), dict) else {}
        expired = error.get("subcode") == 463 or error.get("error_subcode") == 463
        raise OAuthTokenInvalid(PROVIDER, "expired" if expired else "not_valid")
    if str(data.get("app_id", "")) != settings.facebook_app_id:
        raise OAuthTokenInvalid(PROVIDER, "audience")
    if data.get("type", "USER") != "USER":
        raise OAuthTokenInvalid(PROVIDER, "token_type")
    expires_at = data.get("expires_at") or 0
    if not isinstance(expires_at, int) or (expires_at and expires_at <= time.time()):
        raise OAuthTokenInvalid(PROVIDER, "expired")
    if not claim_str(str(data.get("user_id") or "")):
        raise OAuthTokenInvalid(PROVIDER, "missing_claim")
    return data


def profile(token: str, settings: OAuthConfig) -> dict[str, Any]:
    params = {
        "fields": "id,name,email",
        "access_token": token,
        "appsecret_proof": appsecret_proof(token, settings.facebook_app_secret),
    }
    status, body = graph_get("/me", params, settings=settings)
    if status != 200 or not isinstance(body, dict):
        if graph_error_code(body) == GRAPH_TOKEN_ERROR:
            raise OAuthTokenInvalid(PROVIDER, "revoked")
        raise OAuthProviderUnavailable(PROVIDER, f"me: HTTP {status} {body!r:.200}")
    return body


def verify(
    token: str, *, nonce: str | None = None, settings: OAuthConfig | None = None
) -> OAuthIdentity:
    settings = settings_or_default(settings)
    if not (settings.facebook_app_id and settings.facebook_app_secret):
        raise OAuthProviderDisabled()
    if not token.strip():
        raise OAuthTokenInvalid(PROVIDER, "malformed")
    user_id = str(debug_token(token, settings)["user_id"])
    me = profile(token, settings)
    if str(me.get("id", "")) != user_id:
        raise OAuthTokenInvalid(PROVIDER, "subject")
    email = claim_str(me.get("email"))
    return OAuthIdentity(
        provider=PROVIDER,
        subject=user_id,
        email=email,
        email_verified=email is not None and settings.facebook_trust_email,
        name=claim_str(me.get("name")),
    )
