"""What every provider verifier shares: the verified identity, the errors, the TLS context."""

from __future__ import annotations

import functools
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lib.conf import OAuthConfig, config
from lib.errors import ApiError

logger = logging.getLogger("zest.oauth")


@dataclass(frozen=True, slots=True)
class OAuthIdentity:
    """A user as the provider vouches for them. `subject` is the provider's stable user id."""

    provider: str
    subject: str
    email: str | None
    email_verified: bool
    name: str | None = None


class OAuthTokenInvalid(ApiError):
    """The token is not one the provider issued to us for this user, now (401).

    `reason` says which check failed ("expired", "audience", ...); it is logged and kept for
    tests, not sent to the caller.
    """

    status_code = 401
    code = "oauth_token_invalid"

    def __init__(self, provider: str, reason: str) -> None:
        self.provider = provider
        self.reason = reason
        super().__init__()
        logger.info("%s token refused: %s", provider, reason)


class OAuthProviderUnavailable(ApiError):
    """The provider could not be asked: down, slow, or answering nonsense (502)."""

    status_code = 502
    code = "oauth_provider_unavailable"

    def __init__(self, provider: str, reason: str) -> None:
        self.provider = provider
        self.reason = reason
        super().__init__()
        logger.warning("%s unavailable: %s", provider, reason)


class OAuthProviderDisabled(ApiError):
    """This deployment has no client id for the provider (404)."""

    status_code = 404
    code = "oauth_provider_disabled"


Verifier = Callable[..., OAuthIdentity]


def claim_bool(value: Any) -> bool:
    """Apple sends booleans as JSON booleans or as the strings "true"/"false"."""
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return value is True


def claim_str(value: Any) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One verifying TLS context per process: loading the CA store costs tens of ms."""
    return ssl.create_default_context()


def settings_or_default(settings: OAuthConfig | None) -> OAuthConfig:
    """The settings a caller passed, else this process's (`config.oauth`)."""
    return config.oauth if settings is None else settings
