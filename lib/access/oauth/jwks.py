"""Providers' signing keys (JWKS), fetched with PyJWT's `PyJWKClient` and cached per process.

One `KeySet` per JWKS URL (and timing settings) per process, shared by all threads:

* the fetched key set is reused for `jwks_cache_seconds`, so a warm instance verifies tokens
  without any HTTP request;
* a token naming a key id (`kid`) we do not hold makes the set be fetched again (the provider
  rotated its keys), but not more often than once per `jwks_refetch_seconds`: random key ids
  sent by a caller cannot turn each request into a call to the provider;
* each fetch has a short timeout (`http_timeout`); a failed or slow fetch is the provider being
  unavailable (502), and for the next few seconds requests needing a fetch get that answer at
  once instead of queueing behind timeouts; an unknown key id is an invalid token (401).
"""

from __future__ import annotations

import threading
import time

from jwt import PyJWK, PyJWKClient
from jwt.exceptions import (
    PyJWKClientConnectionError,
    PyJWKClientError,
    PyJWKError,
    PyJWKSetError,
)

from lib.access.oauth.base import OAuthProviderUnavailable, OAuthTokenInvalid, tls_context
from lib.conf import OAuthConfig

USER_AGENT = "zest-store/1 (+jwks)"
FAILURE_BACKOFF_SECONDS = 5.0
# A key set that cannot be fetched or read (JSON errors surface as ValueError).
FETCH_ERRORS = (PyJWKClientError, PyJWKError, PyJWKSetError, ValueError)


class KeySet:
    """The signing keys published at one JWKS URL."""

    def __init__(
        self, url: str, *, timeout: float, cache_seconds: float, refetch_seconds: float
    ) -> None:
        self.url = url
        self._client = PyJWKClient(
            url,
            cache_jwk_set=True,
            lifespan=cache_seconds,
            cooldown_duration=refetch_seconds,
            timeout=timeout,
            headers={"User-Agent": USER_AGENT},
            ssl_context=tls_context(),
        )
        # Threads arriving while the set is being fetched wait for that fetch instead of
        # starting their own.
        self._lock = threading.Lock()
        # After a failed fetch, requests that would fetch again fail at once for a while
        # (at most `refetch_seconds`), instead of each waiting out its own timeout.
        self._failure_backoff = min(FAILURE_BACKOFF_SECONDS, refetch_seconds)
        self._failed_at: float | None = None

    def _failing(self) -> bool:
        return (
            self._failed_at is not None
            and time.monotonic() - self._failed_at < self._failure_backoff
        )

    def signing_key(self, kid: str, *, provider: str) -> PyJWK:
        with self._lock:
            cache = self._client.jwk_set_cache
            if self._failing() and (cache is None or cache.get() is None):
                raise OAuthProviderUnavailable(provider, "jwks: failed moments ago")
            try:
                keys = self._client.get_signing_keys()
            except FETCH_ERRORS as exc:
                self._failed_at = time.monotonic()
                raise OAuthProviderUnavailable(provider, f"jwks: {exc}") from exc
            key = self._client.match_kid(keys, kid)
            if key is not None:
                return key
            try:
                # Refetches once, unless the set was fetched less than `refetch_seconds` ago.
                return self._client.get_signing_key(kid)
            except (PyJWKClientConnectionError, PyJWKSetError, ValueError) as exc:
                self._failed_at = time.monotonic()
                raise OAuthProviderUnavailable(provider, f"jwks: {exc}") from exc
            except (PyJWKClientError, PyJWKError) as exc:  # no key with that id, even refetched
                raise OAuthTokenInvalid(provider, "unknown_key") from exc


_key_sets: dict[tuple[str, float, float, float], KeySet] = {}
_key_sets_lock = threading.Lock()


def key_set(url: str, settings: OAuthConfig) -> KeySet:
    """The process's `KeySet` for `url` (created on first use)."""
    key = (url, settings.http_timeout, settings.jwks_cache_seconds, settings.jwks_refetch_seconds)
    found = _key_sets.get(key)
    if found is None:
        with _key_sets_lock:
            found = _key_sets.get(key)
            if found is None:
                found = _key_sets[key] = KeySet(
                    url,
                    timeout=settings.http_timeout,
                    cache_seconds=settings.jwks_cache_seconds,
                    refetch_seconds=settings.jwks_refetch_seconds,
                )
    return found
