"""The site snapshot in KV: everything the storefront reads about the store, in one value.

KV layout:
- `site:snapshot`: JSON of the settings row, the active banners and featured collections (with
  their schedules, applied at read time) and the published pages (with their bodies),
  `SITE_CACHE_TTL` seconds. A warm read is one KV round trip and no SQL.
- `site:version`: bumped by every invalidation. A fill stores nothing when the version moved
  since the reader looked (a reader that loaded the old rows cannot leave them cached).
- `site:maintenance`: the maintenance switch the request pipeline reads in its own KV round
  trip: `"0"` (off) or JSON `{"on": true, "en", "bn", "retry_after"}`. No TTL; rewritten by every
  change (after commit) and by every snapshot fill. A missing key means off.

Every admin write calls `site_cache_invalidate` after its transaction commits
(`lib.site.services.site_changed`). A cache outage degrades to database reads.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.utils import timezone

from db.models import FeaturedCollection, HomeBanner, SitePage, StoreSettings
from db.models.site import STORE_SETTINGS_ID
from lib.conf import site_config
from lib.kv import get_kv
from lib.site.maintenance import MAINTENANCE_KEY, MAINTENANCE_OFF

logger = logging.getLogger("zest.site.cache")

SNAPSHOT_KEY = "site:snapshot"
VERSION_KEY = "site:version"

# KEYS: version, snapshot, maintenance. ARGV: version read before the database, TTL, snapshot,
# maintenance value. Stores nothing when an invalidation ran since.
FILL_SCRIPT = """
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[3], 'EX', tonumber(ARGV[2]))
redis.call('SET', KEYS[3], ARGV[4])
return 1
"""


# --- building from the database --------------------------------------------------------------


def settings_row() -> StoreSettings:
    """The settings row, or the defaults when none was saved yet (one query)."""
    return StoreSettings.objects.filter(pk=STORE_SETTINGS_ID).first() or StoreSettings()


def settings_dump(row: StoreSettings) -> dict[str, Any]:
    """The row as JSON values (amounts as strings, times in ISO 8601)."""
    data: dict[str, Any] = {}
    for field in StoreSettings._meta.fields:
        value = field.value_from_object(row)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = str(value)
        data[field.attname] = value
    return data


def settings_load(data: dict[str, Any]) -> StoreSettings:
    """An unsaved StoreSettings equal to the dumped row (a field missing from an older
    snapshot takes its default)."""
    values = {}
    for field in StoreSettings._meta.fields:
        raw = data.get(field.attname, field.get_default())
        values[field.attname] = None if raw is None else field.to_python(raw)
    return StoreSettings(**values)


def schedule_dump(row: HomeBanner | FeaturedCollection) -> dict[str, Any]:
    return {
        "id": str(row.pk),
        "position": row.position,
        "starts_at": row.starts_at.isoformat() if row.starts_at else None,
        "ends_at": row.ends_at.isoformat() if row.ends_at else None,
    }


def not_over(now: datetime) -> Q:
    return Q(is_active=True) & (Q(ends_at__isnull=True) | Q(ends_at__gt=now))


def snapshot_build(*, now: datetime | None = None) -> dict[str, Any]:
    """Everything the storefront reads, from the database: five queries."""
    now = now or timezone.now()
    banners = [
        {
            **schedule_dump(banner),
            "title_en": banner.title_en,
            "title_bn": banner.title_bn,
            "subtitle_en": banner.subtitle_en,
            "subtitle_bn": banner.subtitle_bn,
            "image_url": banner.image_url,
            "link_url": banner.link_url,
        }
        for banner in HomeBanner.objects.filter(not_over(now))
    ]
    collections = []
    rows = (
        FeaturedCollection.objects.filter(not_over(now))
        .select_related("category")
        .prefetch_related("products")
    )
    for collection in rows:
        category = collection.category
        products = sorted(
            (p for p in collection.products.all() if p.is_active),
            key=lambda p: (p.name_en, str(p.pk)),
        )
        collections.append(
            {
                **schedule_dump(collection),
                "slug": collection.slug,
                "title_en": collection.title_en,
                "title_bn": collection.title_bn,
                "category": (
                    {
                        "slug": category.slug,
                        "name_en": category.name_en,
                        "name_bn": category.name_bn,
                    }
                    if category is not None and category.is_active
                    else None
                ),
                "products": [
                    {"id": str(p.pk), "slug": p.slug, "name_en": p.name_en, "name_bn": p.name_bn}
                    for p in products
                ],
            }
        )
    pages = [
        {
            "slug": page.slug,
            "title_en": page.title_en,
            "title_bn": page.title_bn,
            "body_en": page.body_en,
            "body_bn": page.body_bn,
            "position": page.position,
            "updated_at": page.updated_at.isoformat(),
        }
        for page in SitePage.objects.filter(is_published=True)
    ]
    return {
        "settings": settings_dump(settings_row()),
        "banners": banners,
        "collections": collections,
        "pages": pages,
    }


def maintenance_value(settings: dict[str, Any]) -> str:
    """What `site:maintenance` holds for these (dumped) settings."""
    if not settings.get("maintenance_mode"):
        return MAINTENANCE_OFF
    return json.dumps(
        {
            "on": True,
            "en": settings.get("maintenance_message_en") or "",
            "bn": settings.get("maintenance_message_bn") or "",
            "retry_after": int(settings.get("maintenance_retry_after") or 0),
        },
        ensure_ascii=False,
    )


# --- reading through -------------------------------------------------------------------------


def site_snapshot_get() -> dict[str, Any]:
    """The snapshot: one KV round trip when cached, the database (and a fill) when not."""
    version = None
    if site_config.cache_ttl > 0:
        try:
            pipeline = get_kv().pipeline()
            pipeline.get(SNAPSHOT_KEY)
            pipeline.get(VERSION_KEY)
            raw, version = pipeline.exec()
            if raw:
                return json.loads(raw)
        except Exception:
            logger.warning("site cache read failed", exc_info=True)
            return snapshot_build()
    snapshot = snapshot_build()
    if site_config.cache_ttl > 0:
        snapshot_fill(snapshot, version)
    return snapshot


def snapshot_fill(snapshot: dict[str, Any], version: str | None) -> None:
    body = json.dumps(snapshot, ensure_ascii=False, separators=(",", ":"))
    args = [
        version or "",
        str(site_config.cache_ttl),
        body,
        maintenance_value(snapshot["settings"]),
    ]
    try:
        get_kv().eval(FILL_SCRIPT, keys=[VERSION_KEY, SNAPSHOT_KEY, MAINTENANCE_KEY], args=args)
    except Exception:
        logger.warning("site cache fill failed", exc_info=True)


# --- invalidation ----------------------------------------------------------------------------


def site_cache_invalidate() -> None:
    """Forget the snapshot and rewrite the maintenance switch from the (committed) settings:
    one query and one pipeline. Failures are logged: the write has committed, and the
    snapshot expires within `SITE_CACHE_TTL`."""
    try:
        maintenance = maintenance_value(settings_dump(settings_row()))
        pipeline = get_kv().pipeline()
        pipeline.delete(SNAPSHOT_KEY)
        pipeline.incr(VERSION_KEY)
        pipeline.set(MAINTENANCE_KEY, maintenance)
        pipeline.exec()
    except Exception:
        logger.exception("site cache invalidation failed")
