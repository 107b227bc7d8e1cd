"""Writes of the store's settings and content (through the Django admin): images to Blob
storage, page bodies sanitised, and the cached snapshot forgotten once a change commits."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from db.models import SitePage
from lib.catalog.images import ImageFile, image_read
from lib.catalog.sanitize import rich_text_clean, text_clean
from lib.site.cache import site_cache_invalidate


def site_changed() -> None:
    """Call inside the transaction of any change to the site's rows: once it commits, the
    snapshot is forgotten and the maintenance switch rewritten, so the next read shows it."""
    transaction.on_commit(site_cache_invalidate, robust=True)


def site_image_read(upload: Any) -> ImageFile:
    """An uploaded image, checked (type, size, dimensions): ApiError `image_*` otherwise."""
    return image_read(upload)


def site_image_store(image: ImageFile, *, folder: str) -> str:
    """Store a checked image in Blob storage under `site/<folder>/`; its public URL."""
    name = default_storage.save(
        f"site/{folder}/{uuid.uuid4().hex}.{image.extension}", ContentFile(image.data)
    )
    return default_storage.url(name)


def site_page_clean(page: SitePage) -> SitePage:
    """Titles as single lines and bodies as sanitised HTML (the catalog's nh3 rules)."""
    page.title_en = text_clean(page.title_en)
    page.title_bn = text_clean(page.title_bn)
    page.body_en = rich_text_clean(page.body_en)
    page.body_bn = rich_text_clean(page.body_bn)
    return page
