"""Reads of the store's settings and content, all served from the cached snapshot
(`lib.site.cache`): no SQL when the cache is warm.

Contracts for other areas: `store_settings_get()` (the settings row) and
`site_pages_published()` (the published policy pages); checkout reads its charges through
`checkout_settings()`.

The storefront views (`store_view`, `banners_view`, ...) apply schedules at read time (UTC),
show times in Asia/Dhaka, and give every text in both languages plus the caller's (`title`
is `title_bn` for a Bangla reader, English when the Bangla text is empty).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from db.models import SitePage, StoreSettings
from lib.conf import checkout_config
from lib.errors import NotFound
from lib.i18n import Language
from lib.money import quantize_bdt
from lib.site.cache import settings_load, site_snapshot_get

DHAKA = ZoneInfo("Asia/Dhaka")
SOCIAL_NETWORKS = ("facebook", "instagram", "youtube", "tiktok")


def store_settings_get() -> StoreSettings:
    """The store settings (an unsaved copy of the row, or the defaults), cached."""
    return settings_load(site_snapshot_get()["settings"])


def site_pages_published() -> list[SitePage]:
    """The published pages, in their order (unsaved copies), cached."""
    return [
        SitePage(
            slug=page["slug"],
            title_en=page["title_en"],
            title_bn=page["title_bn"],
            body_en=page["body_en"],
            body_bn=page["body_bn"],
            is_published=True,
            position=page["position"],
            updated_at=datetime.fromisoformat(page["updated_at"]),
        )
        for page in site_snapshot_get()["pages"]
    ]


# --- checkout --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckoutSettings:
    """What checkout charges: the admin's value when set, else the environment's."""

    cod_enabled: bool
    cod_fee: Decimal
    cod_max_total: Decimal
    free_shipping_threshold: Decimal | None  # for every zone; None: each zone's own


def checkout_settings(settings: StoreSettings | None = None) -> CheckoutSettings:
    settings = settings or store_settings_get()

    def amount(value: Decimal | None, default: str) -> Decimal:
        return quantize_bdt(value if value is not None else default)

    threshold = settings.free_shipping_threshold
    return CheckoutSettings(
        cod_enabled=settings.cod_enabled,
        cod_fee=amount(settings.cod_fee, checkout_config.cod_fee),
        cod_max_total=amount(settings.cod_max_total, checkout_config.cod_max_total),
        free_shipping_threshold=quantize_bdt(threshold) if threshold is not None else None,
    )


# --- storefront views ------------------------------------------------------------------------


def text_in(language: Language, item: dict[str, Any], field: str) -> str:
    """`field` in `language`, falling back to English when the Bangla text is empty."""
    return item.get(f"{field}_{language}") or item.get(f"{field}_en") or ""


def dhaka_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).astimezone(DHAKA) if value else None


def is_showing(item: dict[str, Any], now: datetime) -> bool:
    starts, ends = item.get("starts_at"), item.get("ends_at")
    return (not starts or datetime.fromisoformat(starts) <= now) and (
        not ends or now < datetime.fromisoformat(ends)
    )


def scheduled_view(item: dict[str, Any], language: Language, fields: tuple[str, ...]) -> dict:
    view = {key: value for key, value in item.items() if key not in ("starts_at", "ends_at")}
    view["starts_at"] = dhaka_time(item.get("starts_at"))
    view["ends_at"] = dhaka_time(item.get("ends_at"))
    for field in fields:
        view[field] = text_in(language, item, field)
    return view


def banners_view(snapshot: dict[str, Any], language: Language, now: datetime) -> list[dict]:
    return [
        scheduled_view(banner, language, ("title", "subtitle"))
        for banner in snapshot["banners"]
        if is_showing(banner, now)
    ]


def collections_view(snapshot: dict[str, Any], language: Language, now: datetime) -> list[dict]:
    views = []
    for collection in snapshot["collections"]:
        if not is_showing(collection, now):
            continue
        view = scheduled_view(collection, language, ("title",))
        category = collection["category"]
        view["category"] = (
            {**category, "name": text_in(language, category, "name")} if category else None
        )
        view["products"] = [
            {**product, "name": text_in(language, product, "name")}
            for product in collection["products"]
        ]
        views.append(view)
    return views


def page_summary(page: dict[str, Any], language: Language) -> dict[str, Any]:
    return {
        "slug": page["slug"],
        "title": text_in(language, page, "title"),
        "title_en": page["title_en"],
        "title_bn": page["title_bn"],
        "updated_at": dhaka_time(page["updated_at"]),
    }


def pages_view(snapshot: dict[str, Any], language: Language) -> list[dict]:
    return [page_summary(page, language) for page in snapshot["pages"]]


def page_view(snapshot: dict[str, Any], language: Language, *, slug: str) -> dict[str, Any]:
    """A published page with its bodies; 404 for an unknown or unpublished slug."""
    for page in snapshot["pages"]:
        if page["slug"] == slug:
            return {
                **page_summary(page, language),
                "body": text_in(language, page, "body"),
                "body_en": page["body_en"],
                "body_bn": page["body_bn"],
            }
    raise NotFound()


def store_view(snapshot: dict[str, Any], language: Language, now: datetime) -> dict[str, Any]:
    """Everything a storefront needs to draw its frame and home page."""
    settings = store_settings_from(snapshot)
    charges = checkout_settings(settings)
    data = snapshot["settings"]
    return {
        "name": text_in(language, data, "name"),
        "name_en": settings.name_en,
        "name_bn": settings.name_bn,
        "tagline": text_in(language, data, "tagline"),
        "tagline_en": settings.tagline_en,
        "tagline_bn": settings.tagline_bn,
        "logo_url": settings.logo_url,
        "contact": {
            "phone": settings.phone,
            "email": settings.email,
            "whatsapp_phone": settings.whatsapp_phone,
            "address": text_in(language, data, "address"),
            "address_en": settings.address_en,
            "address_bn": settings.address_bn,
        },
        "social_links": {
            network: url
            for network in SOCIAL_NETWORKS
            if (url := getattr(settings, f"{network}_url"))
        },
        "theme": {
            "primary_colour": settings.primary_colour,
            "secondary_colour": settings.secondary_colour,
            "accent_colour": settings.accent_colour,
        },
        "checkout": {
            "cod_enabled": charges.cod_enabled,
            "cod_fee": charges.cod_fee,
            "cod_max_total": charges.cod_max_total,
            "free_shipping_threshold": charges.free_shipping_threshold,
        },
        "maintenance": {
            "enabled": settings.maintenance_mode,
            "message": text_in(language, data, "maintenance_message"),
            "message_en": settings.maintenance_message_en,
            "message_bn": settings.maintenance_message_bn,
        },
        "banners": banners_view(snapshot, language, now),
        "collections": collections_view(snapshot, language, now),
        "pages": pages_view(snapshot, language),
        "updated_at": dhaka_time(data.get("updated_at")),
    }


def store_settings_from(snapshot: dict[str, Any]) -> StoreSettings:
    return settings_load(snapshot["settings"])


def seconds_to_next_change(snapshot: dict[str, Any], now: datetime) -> int | None:
    """Seconds until a banner or collection starts or ends showing (None: none scheduled)."""
    upcoming = [
        datetime.fromisoformat(moment)
        for item in (*snapshot["banners"], *snapshot["collections"])
        for moment in (item.get("starts_at"), item.get("ends_at"))
        if moment and datetime.fromisoformat(moment) > now
    ]
    if not upcoming:
        return None
    return max(0, int((min(upcoming) - now).total_seconds()))
