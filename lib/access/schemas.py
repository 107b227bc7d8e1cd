"""The response shapes of signing in: one for every endpoint that issues tokens (register,
login, refresh, sign-in with a provider)."""

from __future__ import annotations

from ninja import Field, Schema

from db.models import User


class TokenOut(Schema):
    access_token: str = Field(..., description="Send as `Authorization: Bearer <access_token>`")
    refresh_token: str = Field(..., description="Single use: each refresh returns a new one")
    token_type: str = "Bearer"  # noqa: S105 - the scheme's name
    expires_in: int = Field(..., description="Seconds the access token is valid")


class UserOut(Schema):
    id: str
    email: str | None = Field(..., description="None for an account made with a phone number")
    full_name: str
    phone: str | None
    role: str
    email_verified: bool
    preferred_language: str

    @staticmethod
    def resolve_id(user: User) -> str:
        return str(user.pk)

    @staticmethod
    def resolve_phone(user: User) -> str | None:
        return user.phone or None

    @staticmethod
    def resolve_email_verified(user: User) -> bool:
        return user.is_email_verified


class SessionOut(Schema):
    """A signed-in session: who, and the tokens to call the API as them."""

    user: UserOut
    tokens: TokenOut


class ProviderSessionOut(SessionOut):
    created: bool = Field(..., description="A new account was created by this sign-in")
