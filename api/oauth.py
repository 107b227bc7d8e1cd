"""Sign-in with Google, Apple or Facebook: POST /api/v1/auth/oauth/{provider}."""

from typing import Literal

from lib.runtime import make_app

from django.http import HttpResponse
from ninja import Field, Router

from lib.access.context import client_ip
from lib.access.oauth.services import oauth_sign_in
from lib.access.schemas import ProviderSessionOut
from lib.access.services import user_get
from lib.schemas import ErrorOut, InputSchema

router = Router(tags=["auth"])


class OAuthSignInIn(InputSchema):
    token: str = Field(
        ...,
        min_length=1,
        max_length=8192,
        description="Google or Apple: the ID token. Facebook: the user access token.",
    )
    nonce: str | None = Field(
        None,
        min_length=1,
        max_length=256,
        description="The nonce the client gave the provider; for Apple the RAW nonce "
        "(Apple's token holds its SHA-256). Required when the token carries a nonce.",
    )


@router.post("/{provider}", response={200: ProviderSessionOut, 409: ErrorOut}, auth=None)
def oauth_sign_in_with(
    request,
    response: HttpResponse,
    provider: Literal["google", "apple", "facebook"],
    body: OAuthSignInIn,
):
    """Verify the provider's token and sign in: the account linked to this provider account,
    else the account with the same provider-verified email, else a new one. 401 for a bad
    token, 409 when the email matches an account but the provider has not verified it, 502
    when the provider cannot be reached."""
    tokens, created = oauth_sign_in(
        provider=provider,
        token=body.token,
        nonce=body.nonce,
        ip=client_ip(request),
        user_agent=request.headers.get("User-Agent", ""),
    )
    response["Cache-Control"] = "no-store"
    return {"user": user_get(user_id=tokens.user_id), "tokens": tokens, "created": created}


app = make_app("oauth", [("/auth/oauth", router)], title="Zest Store sign-in with providers")
