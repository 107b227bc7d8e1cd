"""The store's settings and content for storefronts: /api/v1/store, /api/v1/store/banners,
/api/v1/store/collections and /api/v1/store/pages."""

from datetime import datetime
from typing import Annotated
from uuid import UUID

from lib.runtime import make_app

from django.utils import timezone
from ninja import Header, Router, Schema

from lib.i18n import request_language
from lib.money import Money
from lib.site import selectors
from lib.site.cache import site_snapshot_get
from lib.site.http import conditional_json_response

router = Router(tags=["store"])

IfNoneMatch = Annotated[
    str | None,
    Header(
        None,
        alias="If-None-Match",
        description="The `ETag` of a response already held: 304 Not Modified when unchanged",
    ),
]


class ContactOut(Schema):
    phone: str
    email: str
    whatsapp_phone: str
    address: str
    address_en: str
    address_bn: str


class ThemeOut(Schema):
    primary_colour: str
    secondary_colour: str
    accent_colour: str


class CheckoutTermsOut(Schema):
    cod_enabled: bool
    cod_fee: Money
    cod_max_total: Money
    free_shipping_threshold: Money | None


class MaintenanceOut(Schema):
    enabled: bool
    message: str
    message_en: str
    message_bn: str


class BannerOut(Schema):
    id: UUID
    title: str
    title_en: str
    title_bn: str
    subtitle: str
    subtitle_en: str
    subtitle_bn: str
    image_url: str
    link_url: str
    position: int
    starts_at: datetime | None
    ends_at: datetime | None


class CollectionCategoryOut(Schema):
    slug: str
    name: str
    name_en: str
    name_bn: str


class CollectionProductOut(Schema):
    id: UUID
    slug: str
    name: str
    name_en: str
    name_bn: str


class CollectionOut(Schema):
    id: UUID
    slug: str
    title: str
    title_en: str
    title_bn: str
    position: int
    starts_at: datetime | None
    ends_at: datetime | None
    category: CollectionCategoryOut | None
    products: list[CollectionProductOut]


class PageSummaryOut(Schema):
    slug: str
    title: str
    title_en: str
    title_bn: str
    updated_at: datetime


class PageOut(PageSummaryOut):
    body: str
    body_en: str
    body_bn: str


class StoreOut(Schema):
    name: str
    name_en: str
    name_bn: str
    tagline: str
    tagline_en: str
    tagline_bn: str
    logo_url: str
    contact: ContactOut
    social_links: dict[str, str]
    theme: ThemeOut
    checkout: CheckoutTermsOut
    maintenance: MaintenanceOut
    banners: list[BannerOut]
    collections: list[CollectionOut]
    pages: list[PageSummaryOut]
    updated_at: datetime | None


class BannerListOut(Schema):
    items: list[BannerOut]


class CollectionListOut(Schema):
    items: list[CollectionOut]


class PageListOut(Schema):
    items: list[PageSummaryOut]


@router.get("", response=StoreOut, auth=None)
def get_store(request, if_none_match: IfNoneMatch = None):
    """The store's name, logo, contact, social links, theme colours, checkout terms (cash on
    delivery, free shipping), maintenance state, the banners and collections showing now and
    the published pages (without their bodies). Texts come in both languages (`name_en`,
    `name_bn`) and in the caller's (`name`, by `Accept-Language`); times are in Asia/Dhaka.
    Answers carry an `ETag` and `Cache-Control`: send the `ETag` back as `If-None-Match` for a
    304 Not Modified when nothing changed (the same holds for every /store read)."""
    snapshot, now = site_snapshot_get(), timezone.now()
    data = selectors.store_view(snapshot, request_language(request), now)
    max_age = selectors.seconds_to_next_change(snapshot, now)
    return conditional_json_response(request, StoreOut, data, max_age=max_age)


@router.get("/banners", response=BannerListOut, auth=None)
def list_banners(request, if_none_match: IfNoneMatch = None):
    """The home-page banners showing now (their schedule applied), in position order;
    conditional with `If-None-Match`."""
    snapshot, now = site_snapshot_get(), timezone.now()
    items = selectors.banners_view(snapshot, request_language(request), now)
    max_age = selectors.seconds_to_next_change(snapshot, now)
    return conditional_json_response(request, BannerListOut, {"items": items}, max_age=max_age)


@router.get("/collections", response=CollectionListOut, auth=None)
def list_collections(request, if_none_match: IfNoneMatch = None):
    """The featured collections showing now: hand-picked products or a category;
    conditional with `If-None-Match`."""
    snapshot, now = site_snapshot_get(), timezone.now()
    items = selectors.collections_view(snapshot, request_language(request), now)
    max_age = selectors.seconds_to_next_change(snapshot, now)
    return conditional_json_response(request, CollectionListOut, {"items": items}, max_age=max_age)


@router.get("/pages", response=PageListOut, auth=None)
def list_pages(request, if_none_match: IfNoneMatch = None):
    """The published policy and information pages (shipping, returns, privacy, terms),
    without their bodies; conditional with `If-None-Match`."""
    items = selectors.pages_view(site_snapshot_get(), request_language(request))
    return conditional_json_response(request, PageListOut, {"items": items})


@router.get("/pages/{slug}", response=PageOut, auth=None)
def get_page(request, slug: str, if_none_match: IfNoneMatch = None):
    """A published page with its body (sanitised HTML) in both languages and the caller's;
    404 for an unknown or unpublished one; conditional with `If-None-Match`."""
    page = selectors.page_view(site_snapshot_get(), request_language(request), slug=slug)
    return conditional_json_response(request, PageOut, page)


app = make_app("store", [("/store", router)], title="Zest Store settings and pages")
