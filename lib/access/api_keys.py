"""API keys: creation, rotation, revocation and listing (services and selectors).

A key has a public id (`zk_pub_...` for a browser storefront, `zk_sec_...` for a server-side
caller). A secret key also has one or more secrets (`zk_secret_...`), shown once and stored only
as their SHA-256; rotation adds a secret and lets the older ones expire after an overlap. Every
change rewrites the key's record cached in KV (`lib.access.api_key_cache`) once committed.
"""

from __future__ import annotations

import hashlib
import secrets
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from django.db import transaction
from django.db.models import Case, DateTimeField, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from db.models import ApiKey, ApiKeyKind, ApiKeySecret, Vendor
from lib.access.api_key_cache import (
    allowed_origins_refresh,
    api_key_record_refresh,
    used_marker_key,
)
from lib.errors import ApiError, Conflict, NotFound
from lib.kv import get_kv

SCOPES: dict[str, str] = {
    "storefront:read": "Read the catalog and other public storefront data.",
    "storefront:write": "Act for signed-in customers: carts, checkout, their orders and profile.",
    "orders:manage": "Manage every order: status, fulfilment, refunds.",
    "catalog:manage": "Manage products, categories and stock.",
    "vendor:manage": "Manage the key's vendor: its products, orders and staff.",
    "users:manage": "Manage users and their roles.",
    "api_keys:manage": "Manage API keys.",
}
STOREFRONT_SCOPES = frozenset({"storefront:read", "storefront:write"})

KEY_ID_PREFIXES = {ApiKeyKind.PUBLISHABLE: "zk_pub_", ApiKeyKind.SECRET: "zk_sec_"}
SECRET_PREFIX = "zk_secret_"  # noqa: S105 - a prefix, not a secret
KEY_ID_RANDOM_LENGTH = 24  # base62: ~143 bits
SECRET_RANDOM_LENGTH = 40  # base62: ~238 bits
ALPHABET = string.ascii_letters + string.digits
MAX_OVERLAP_SECONDS = 30 * 86400
MAX_ORIGINS = 20


def random_token(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def key_id_generate(kind: str) -> str:
    return KEY_ID_PREFIXES[ApiKeyKind(kind)] + random_token(KEY_ID_RANDOM_LENGTH)


def key_id_is_well_formed(key_id: str) -> bool:
    """Checked before any KV or SQL work, so junk never reaches the stores."""
    prefix, random_part = key_id[:7], key_id[7:]
    return (
        prefix in KEY_ID_PREFIXES.values()
        and len(random_part) == KEY_ID_RANDOM_LENGTH
        and all(char in ALPHABET for char in random_part)
    )


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def origin_normalize(origin: str) -> str:
    """`https://shop.example.com[:port]`, lower case; anything else is refused."""
    parts = urlsplit(origin.strip())
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username
        or parts.password
    ):
        raise ValueError(origin)
    default_port = {"http": 80, "https": 443}[parts.scheme]
    port = f":{parts.port}" if parts.port and parts.port != default_port else ""
    return f"{parts.scheme}://{parts.hostname}{port}".lower()


# --- services -------------------------------------------------------------------------


def invalid(field: str, message: str) -> ApiError:
    return ApiError("validation_error", status=422, fields={field: [message]})


def scopes_validate(*, kind: str, scopes: Iterable[str]) -> list[str]:
    requested = sorted(set(scopes))
    if not requested:
        raise invalid("scopes", "Give the key at least one scope.")
    unknown = [scope for scope in requested if scope not in SCOPES]
    if unknown:
        raise invalid("scopes", f"Unknown scopes: {', '.join(unknown)}.")
    if kind == ApiKeyKind.PUBLISHABLE and not STOREFRONT_SCOPES.issuperset(requested):
        allowed = ", ".join(sorted(STOREFRONT_SCOPES))
        raise invalid("scopes", f"A publishable key may only carry storefront scopes: {allowed}.")
    return requested


def origins_validate(*, kind: str, origins: Iterable[str]) -> list[str]:
    requested = list(origins)
    if requested and kind != ApiKeyKind.PUBLISHABLE:
        raise invalid("allowed_origins", "Only publishable keys are used from browsers.")
    if len(requested) > MAX_ORIGINS:
        raise invalid("allowed_origins", f"At most {MAX_ORIGINS} origins.")
    normalized: list[str] = []
    for origin in requested:
        try:
            normalized.append(origin_normalize(origin))
        except ValueError:
            raise invalid(
                "allowed_origins", f"{origin!r} is not an origin such as https://shop.example.com."
            ) from None
    return sorted(set(normalized))


def secret_add(*, api_key: ApiKey) -> str:
    secret = SECRET_PREFIX + random_token(SECRET_RANDOM_LENGTH)
    ApiKeySecret.objects.create(
        api_key=api_key, secret_hash=secret_hash(secret), prefix=secret[: len(SECRET_PREFIX) + 4]
    )
    return secret


def after_commit(action: Callable[[], None]) -> None:
    """Run `action` now, and again when an enclosing transaction commits (until then other
    connections still read the old rows and may cache them)."""
    action()
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(action)


def api_key_create(
    *,
    name: str,
    kind: str,
    scopes: Iterable[str],
    allowed_origins: Iterable[str] = (),
    vendor: Vendor | None = None,
    created_by_id: str | None = None,
) -> tuple[ApiKey, str | None]:
    """A new key, and for a secret key its first secret (returned here and never again)."""
    kind = ApiKeyKind(kind)
    clean_scopes = scopes_validate(kind=kind, scopes=scopes)
    clean_origins = origins_validate(kind=kind, origins=allowed_origins)
    with transaction.atomic():
        api_key = ApiKey.objects.create(
            name=name.strip(),
            key_id=key_id_generate(kind),
            kind=kind,
            scopes=clean_scopes,
            allowed_origins=clean_origins,
            vendor=vendor,
            created_by_id=created_by_id,
        )
        secret = secret_add(api_key=api_key) if kind == ApiKeyKind.SECRET else None
    if clean_origins:
        after_commit(allowed_origins_refresh)
    return api_key, secret


def api_key_rotate(*, api_key: ApiKey, overlap_seconds: int = 86400) -> str:
    """Add a new secret; the current ones keep working for `overlap_seconds`, then expire.
    Secrets that have already expired are deleted."""
    if api_key.kind != ApiKeyKind.SECRET:
        raise Conflict(fields={"kind": ["Only secret keys have secrets to rotate."]})
    if not 0 <= overlap_seconds <= MAX_OVERLAP_SECONDS:
        raise invalid("overlap_seconds", f"Between 0 and {MAX_OVERLAP_SECONDS} seconds.")
    with transaction.atomic():
        locked = ApiKey.objects.select_for_update().get(pk=api_key.pk)  # one rotation at a time
        if locked.revoked_at is not None:
            raise Conflict(fields={"revoked_at": ["A revoked key cannot be rotated."]})
        now = timezone.now()
        overlap_end = now + timedelta(seconds=overlap_seconds)
        locked.secrets.filter(expires_at__lte=now).delete()
        locked.secrets.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=overlap_end)).update(
            expires_at=overlap_end
        )
        secret = secret_add(api_key=locked)
    after_commit(lambda: api_key_record_refresh(key_id=api_key.key_id))
    return secret


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    """Revoke at once: the cached record is rewritten, so the next request is refused."""
    if api_key.revoked_at is None:
        now = timezone.now()
        ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(
            revoked_at=now, updated_at=now
        )
        api_key.refresh_from_db(fields=["revoked_at", "updated_at"])
    after_commit(lambda: api_key_record_refresh(key_id=api_key.key_id))
    if api_key.kind == ApiKeyKind.PUBLISHABLE:
        after_commit(allowed_origins_refresh)
    return api_key


def api_key_sync_last_used(*, batch_size: int = 500) -> int:
    """Copy the KV last-used markers into `ApiKey.last_used_at` (never moving it backwards).

    Reads the markers of the keys that exist (one query, one MGET per `batch_size` keys; no
    SCAN over the whole keyspace), so markers of made-up key ids are ignored and expire.
    Idempotent: the admin list and a cron may both call it. Returns the rows updated."""
    key_ids = list(ApiKey.objects.values_list("key_id", flat=True))
    kv = get_kv()
    updated = 0
    for start in range(0, len(key_ids), batch_size):
        batch = key_ids[start : start + batch_size]
        values = kv.mget(*(used_marker_key(key_id) for key_id in batch))
        markers = {
            key_id: datetime.fromtimestamp(int(value), tz=UTC)
            for key_id, value in zip(batch, values, strict=True)
            if value and value.isdigit()
        }
        updated += last_used_update(markers)
    return updated


def last_used_update(markers: dict[str, datetime]) -> int:
    if not markers:
        return 0
    marker = Case(
        *(When(key_id=key_id, then=Value(moment)) for key_id, moment in markers.items()),
        output_field=DateTimeField(),
    )
    return ApiKey.objects.filter(key_id__in=markers).update(
        last_used_at=Greatest(Coalesce("last_used_at", marker), marker)
    )


# --- selectors ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApiKeyFilters:
    kind: str | None = None
    vendor_id: str | None = None
    revoked: bool | None = None
    search: str | None = None


def api_key_list(*, filters: ApiKeyFilters | None = None) -> QuerySet[ApiKey]:
    filters = filters or ApiKeyFilters()
    keys = ApiKey.objects.prefetch_related("secrets")
    if filters.kind:
        keys = keys.filter(kind=filters.kind)
    if filters.vendor_id:
        keys = keys.filter(vendor_id=filters.vendor_id)
    if filters.revoked is not None:
        keys = keys.filter(revoked_at__isnull=not filters.revoked)
    if filters.search:
        term = filters.search.strip()
        keys = keys.filter(Q(name__icontains=term) | Q(key_id=term))
    return keys.order_by("-created_at", "id")


def api_key_get(*, key_id: str) -> ApiKey:
    api_key = api_key_list().filter(key_id=key_id).first()
    if api_key is None:
        raise NotFound(fields={"key_id": [key_id]})
    return api_key


def vendor_for_key(*, vendor_id: str | None) -> Vendor | None:
    if vendor_id is None:
        return None
    vendor = Vendor.objects.filter(pk=vendor_id).first()
    if vendor is None:
        raise invalid("vendor_id", "No such vendor.")
    return vendor
