"""A courier's bearer token, cached in KV and shared by every function instance.

`SharedToken.get()` answers the cached token while it is fresh. Past half its life one
instance renews it (a `SET NX` lock in KV: single flight) while the others carry on with the
current token, which stays usable until shortly before it expires; with no usable token the
others wait for the renewing instance's result. `renew(record)` is the adapter's call to the
courier: it gets the current record (with its refresh token) or None, and answers a
`TokenGrant`. `drop(token)` forgets a token the courier refused, so the next `get()` renews.
A KV that does not answer costs the cache, never the call: the token is then fetched anew.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lib.couriers.base import CourierError

logger = logging.getLogger(__name__)

FRESH_FRACTION = 0.5  # renew once half the token's life has passed
MAX_MARGIN = 300.0  # stop using a token this long (at most) before it expires
LOCK_SECONDS = 30


@dataclass(frozen=True, slots=True)
class TokenGrant:
    access_token: str
    refresh_token: str
    expires_in: float  # seconds


class SharedToken:
    def __init__(
        self,
        *,
        key: str,
        renew: Callable[[dict | None], TokenGrant],
        wait_seconds: float,
        kv: Any = None,
    ) -> None:
        self.key = key
        self.lock_key = f"{key}:lock"
        self.renew = renew
        self.wait_seconds = wait_seconds
        self._kv = kv

    @property
    def kv(self) -> Any:
        if self._kv is None:
            from lib.kv import get_kv

            self._kv = get_kv()
        return self._kv

    # --- the record in KV -------------------------------------------------------------------

    def cached(self) -> dict | None:
        try:
            raw = self.kv.get(self.key)
        except Exception:
            logger.warning("courier token cache unreadable", exc_info=True)
            return None
        try:
            record = json.loads(raw) if raw else None
        except ValueError:
            return None
        return record if isinstance(record, dict) and record.get("access_token") else None

    @staticmethod
    def fresh(record: dict | None) -> bool:
        return bool(record) and time.time() < float(record.get("fresh_until", 0))

    @staticmethod
    def usable(record: dict | None) -> bool:
        return bool(record) and time.time() < float(record.get("usable_until", 0))

    def store(self, grant: TokenGrant) -> dict:
        now, life = time.time(), max(float(grant.expires_in), 1.0)
        record = {
            "access_token": grant.access_token,
            "refresh_token": grant.refresh_token,
            "expires_at": now + life,
            "fresh_until": now + life * FRESH_FRACTION,
            "usable_until": now + life - min(MAX_MARGIN, life * 0.1),
        }
        try:
            self.kv.set(self.key, json.dumps(record), ex=max(int(life), 1))
        except Exception:
            logger.warning("courier token cache unwritable", exc_info=True)
        return record

    # --- use --------------------------------------------------------------------------------

    def get(self) -> str:
        record = self.cached()
        if self.fresh(record):
            return record["access_token"]
        deadline = time.monotonic() + self.wait_seconds
        while True:
            owner = secrets.token_hex(8)
            try:
                locked = bool(self.kv.set(self.lock_key, owner, ex=LOCK_SECONDS, nx=True))
            except Exception:
                locked, owner = True, ""  # no KV: no single flight either
            if locked:
                try:
                    return self._renew_locked(record)
                finally:
                    self._unlock(owner)
            if self.usable(record):  # another instance is renewing; this one still works
                return record["access_token"]
            if time.monotonic() > deadline:
                raise CourierError(
                    "timed out waiting for another instance's courier token",
                    code="courier_unavailable",
                    retryable=True,
                )
            time.sleep(0.05)
            record = self.cached()
            if self.usable(record):
                return record["access_token"]

    def _renew_locked(self, record: dict | None) -> str:
        current = self.cached()  # another instance may have renewed it meanwhile
        if self.fresh(current):
            return current["access_token"]
        record = current or None
        try:
            grant = self.renew(record)
        except CourierError as error:
            if error.retryable and self.usable(record):
                return record["access_token"]  # keep using it; the next call tries again
            raise
        return self.store(grant)["access_token"]

    def _unlock(self, owner: str) -> None:
        if not owner:
            return
        try:
            if self.kv.get(self.lock_key) == owner:
                self.kv.delete(self.lock_key)
        except Exception:
            logger.warning("courier token lock not released", exc_info=True)

    def drop(self, token: str) -> None:
        """Forget `token` (the courier refused it) unless another instance already replaced it."""
        record = self.cached()
        if record and record["access_token"] == token:
            try:
                self.kv.delete(self.key)
            except Exception:
                logger.warning("courier token cache not cleared", exc_info=True)
