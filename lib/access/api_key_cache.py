"""The API key record cached in KV: what the access middleware reads on every request.

KV layout:
* `apikey:{key_id}`: the key record as JSON (`ApiKeyRecord`), `API_KEY_CACHE_TTL` seconds; a key
  id that does not exist is cached as `{"missing": true}` so probing costs no SQL either. A
  change rewrites the record (never merely deletes it) once the change is committed, and a
  reader filling a miss writes with `NX`: a reader that loaded the old row meanwhile cannot
  leave it cached.
* `apikey:origins`: the allowed origins of every active publishable key (CORS preflights).
* `apikey:used:{key_id}`: unix time the key id was last presented, written by the middleware in
  its pipeline (so a use whose secret turns out wrong counts too);
  `lib.access.api_keys.api_key_sync_last_used()` copies these into `ApiKey.last_used_at`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime

from django.db.models import FilteredRelation, Q
from django.utils import timezone

from db.models import ApiKey, ApiKeyKind
from lib.access.context import ApiKeyInfo
from lib.conf import config
from lib.kv import get_kv

CACHE_PREFIX = "apikey:"
ORIGINS_CACHE_KEY = "apikey:origins"
USED_PREFIX = "apikey:used:"
USED_MARKER_TTL = 30 * 86400  # outlives any sensible sync interval


def cache_key(key_id: str) -> str:
    return f"{CACHE_PREFIX}{key_id}"


def used_marker_key(key_id: str) -> str:
    return f"{USED_PREFIX}{key_id}"


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """What authenticating a request needs to know about a key, as cached in KV."""

    id: str
    key_id: str
    kind: str
    scopes: tuple[str, ...]
    origins: tuple[str, ...]
    vendor_id: str | None
    revoked: bool
    # (SHA-256 hex of the secret, unix expiry or None) of the secrets not yet expired when cached
    secrets: tuple[tuple[str, int | None], ...] = ()

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str) -> ApiKeyRecord | None:
        """The record, or None for a cached "no such key"."""
        data = json.loads(raw)
        if data.get("missing"):
            return None
        return cls(
            id=data["id"],
            key_id=data["key_id"],
            kind=data["kind"],
            scopes=tuple(data["scopes"]),
            origins=tuple(data["origins"]),
            vendor_id=data["vendor_id"],
            revoked=data["revoked"],
            secrets=tuple((digest, expires) for digest, expires in data["secrets"]),
        )

    def live_secret_hashes(self, now: float) -> list[str]:
        return [digest for digest, expires in self.secrets if expires is None or expires > now]

    def info(self) -> ApiKeyInfo:
        return ApiKeyInfo(
            id=self.id,
            key_id=self.key_id,
            kind=self.kind,
            scopes=frozenset(self.scopes),
            allowed_origins=self.origins,
            vendor_id=self.vendor_id,
        )


MISSING_RECORD = json.dumps({"missing": True})


def api_key_record_load(*, key_id: str) -> ApiKeyRecord | None:
    """The key and its unexpired secrets from the database, in one query (a LEFT JOIN)."""
    now = timezone.now()
    live = Q(secrets__expires_at__isnull=True) | Q(secrets__expires_at__gt=now)
    rows = list(
        ApiKey.objects.filter(key_id=key_id)
        .annotate(live_secret=FilteredRelation("secrets", condition=live))
        .values(
            "id",
            "kind",
            "scopes",
            "allowed_origins",
            "vendor_id",
            "revoked_at",
            "live_secret__secret_hash",
            "live_secret__expires_at",
        )
    )
    if not rows:
        return None
    first = rows[0]
    return ApiKeyRecord(
        id=str(first["id"]),
        key_id=key_id,
        kind=first["kind"],
        scopes=tuple(first["scopes"]),
        origins=tuple(first["allowed_origins"]),
        vendor_id=str(first["vendor_id"]) if first["vendor_id"] else None,
        revoked=first["revoked_at"] is not None,
        secrets=tuple(
            (row["live_secret__secret_hash"], unix_or_none(row["live_secret__expires_at"]))
            for row in rows
            if row["live_secret__secret_hash"]
        ),
    )


def unix_or_none(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def api_key_record_fill(*, key_id: str) -> ApiKeyRecord | None:
    """After a cache miss: load the record and cache it unless a fresher one was written."""
    record = api_key_record_load(key_id=key_id)
    value = record.to_json() if record else MISSING_RECORD
    get_kv().set(cache_key(key_id), value, nx=True, ex=config.api_key_cache_ttl)
    return record


def api_key_record_refresh(*, key_id: str) -> None:
    """Overwrite the cached record with the database's (after a change)."""
    record = api_key_record_load(key_id=key_id)
    value = record.to_json() if record else MISSING_RECORD
    get_kv().set(cache_key(key_id), value, ex=config.api_key_cache_ttl)


# --- browser origins (CORS preflight) ---------------------------------------------------


def allowed_origins_load() -> list[str]:
    origin_lists = ApiKey.objects.filter(
        kind=ApiKeyKind.PUBLISHABLE, revoked_at__isnull=True
    ).values_list("allowed_origins", flat=True)
    return sorted({origin for origins in origin_lists for origin in origins})


def allowed_origins_get() -> frozenset[str]:
    """Every origin some active publishable key allows: one KV GET, one query on a miss."""
    kv = get_kv()
    raw = kv.get(ORIGINS_CACHE_KEY)
    if raw is not None:
        return frozenset(json.loads(raw))
    origins = allowed_origins_load()
    kv.set(ORIGINS_CACHE_KEY, json.dumps(origins), nx=True, ex=config.api_key_cache_ttl)
    return frozenset(origins)


def allowed_origins_refresh() -> None:
    get_kv().set(ORIGINS_CACHE_KEY, json.dumps(allowed_origins_load()), ex=config.api_key_cache_ttl)
