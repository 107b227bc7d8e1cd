"""What the access pipeline learnt about a request, attached as `request.access`."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.http import HttpRequest

from lib.conf import config


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """A verified access token whose session is still alive."""

    user_id: str
    session_id: str
    role: str
    vendor_ids: tuple[str, ...] = ()
    expires_at: int = 0


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    """The calling client application (from the `X-API-Key` header)."""

    id: str
    key_id: str
    kind: str  # "publishable" or "secret"
    scopes: frozenset[str] = frozenset()
    allowed_origins: tuple[str, ...] = ()
    vendor_id: str | None = None


@dataclass(slots=True)
class AccessContext:
    ip: str = ""
    country: str | None = None
    api_key: ApiKeyInfo | None = None
    claims: AccessClaims | None = None
    # Why a bearer token was not accepted ("expired", "invalid", "revoked"), if one was sent.
    token_error: str | None = None
    rate_limit_headers: dict[str, str] = field(default_factory=dict)


def get_access(request: HttpRequest) -> AccessContext:
    access = getattr(request, "access", None)
    if access is None:
        access = request.access = AccessContext()  # type: ignore[attr-defined]
    return access


def client_ip(request: HttpRequest) -> str:
    """The caller's IP. On Vercel the platform overwrites `x-real-ip` and puts the client in
    REMOTE_ADDR; elsewhere forwarding headers are client input and are ignored."""
    if config.on_vercel:
        real_ip = request.headers.get("X-Real-IP", "").strip()
        if real_ip:
            return real_ip
    return request.META.get("REMOTE_ADDR", "") or ""
