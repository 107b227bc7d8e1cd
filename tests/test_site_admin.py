"""The site's admin pages: images uploaded to Blob storage (and refused when not images),
bulk deletions and list edits refreshing the storefront's copy, and the store read straight
from the database when the cache is off."""

from __future__ import annotations

import dataclasses
import urllib.request

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

import api.store
from db.models import HomeBanner, StoreSettings
from devtools.demo_images import product_png
from lib import conf
from tests.support import admin_site_client, call, settings_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(settings, kv):
    return admin_site_client(settings)


@pytest.fixture
def store(server_key):
    def get(url: str = "/api/v1/store", **headers: str):
        return call(api.store.app, "GET", url, headers={**server_key, **headers})

    return get


def download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - the emulator
        return response.read()


def test_a_logo_uploaded_in_the_admin_goes_to_blob_storage(
    admin_client, store, django_capture_on_commit_callbacks
):
    png = product_png("logo")
    form = settings_form(upload=SimpleUploadedFile("logo.png", png, content_type="image/png"))
    with django_capture_on_commit_callbacks(execute=True):
        page = admin_client.post("/admin/db/storesettings/1/change/", form)
    assert page.status_code == 302, page.content.decode()[:3000]
    logo_url = StoreSettings.objects.get(pk=1).logo_url
    assert "/site/logo/" in logo_url and logo_url.endswith(".png")
    assert download(logo_url) == png
    assert store().json()["logo_url"] == logo_url


def test_a_file_that_is_not_an_image_is_refused_and_nothing_changes(admin_client):
    form = settings_form(
        upload=SimpleUploadedFile("logo.png", b"MZ\x90\x00 not an image", content_type="image/png"),
        name_en="Changed",
    )
    page = admin_client.post("/admin/db/storesettings/1/change/", form)
    assert page.status_code == 200
    assert "errorlist" in page.content.decode()
    row = StoreSettings.objects.get(pk=1)
    assert (row.logo_url, row.name_en) == ("", "Zest Store")


def test_a_banner_with_its_image_and_a_reversed_schedule(
    admin_client, store, django_capture_on_commit_callbacks
):
    form = {
        "title_en": "Winter sale",
        "title_bn": "শীতের সেল",
        "subtitle_en": "",
        "subtitle_bn": "",
        "link_url": "/sale",
        "image_url": "",
        "is_active": "on",
        "position": "1",
        "starts_at_0": "2026-12-10",
        "starts_at_1": "10:00:00",
        "ends_at_0": "2026-12-09",
        "ends_at_1": "10:00:00",
    }
    refused = admin_client.post("/admin/db/homebanner/add/", form)
    assert refused.status_code == 200 and not HomeBanner.objects.exists()

    png = product_png("banner")
    form.update(
        ends_at_0="",
        ends_at_1="",
        starts_at_0="",
        starts_at_1="",
        upload=SimpleUploadedFile("b.png", png, content_type="image/png"),
    )
    with django_capture_on_commit_callbacks(execute=True):
        added = admin_client.post("/admin/db/homebanner/add/", form)
    assert added.status_code == 302, added.content.decode()[:3000]
    banner = HomeBanner.objects.get()
    assert download(banner.image_url) == png
    shown = store("/api/v1/store/banners", **{"Accept-Language": "bn"}).json()["items"]
    assert [(b["title"], b["image_url"]) for b in shown] == [("শীতের সেল", banner.image_url)]


def test_bulk_deletion_and_list_edits_refresh_the_storefront(
    admin_client, store, django_capture_on_commit_callbacks
):
    first = HomeBanner.objects.create(title_en="First", position=1)
    second = HomeBanner.objects.create(title_en="Second", position=2)
    assert [b["title"] for b in store().json()["banners"]] == ["First", "Second"]  # cached

    edits = {
        "form-TOTAL_FORMS": "2",
        "form-INITIAL_FORMS": "2",
        "form-0-id": str(first.pk),
        "form-0-position": "3",
        "form-0-is_active": "on",
        "form-1-id": str(second.pk),
        "form-1-position": "2",
        "form-1-is_active": "on",
        "_save": "Save",
    }
    with django_capture_on_commit_callbacks(execute=True):
        page = admin_client.post("/admin/db/homebanner/", edits)
    assert page.status_code == 302, page.content.decode()[:3000]
    assert [b["title"] for b in store().json()["banners"]] == ["Second", "First"]

    with django_capture_on_commit_callbacks(execute=True):
        page = admin_client.post(
            "/admin/db/homebanner/",
            {"action": "delete_selected", "_selected_action": [str(first.pk)], "post": "yes"},
        )
    assert page.status_code == 302, page.content.decode()[:3000]
    assert [b["title"] for b in store().json()["banners"]] == ["Second"]


def test_a_weakened_etag_still_matches(store):
    etag = store().headers["etag"]
    assert store(**{"If-None-Match": f"W/{etag}"}).status == 304
    assert store(**{"If-None-Match": "*"}).status == 304
    assert store(**{"If-None-Match": '"stale"'}).status == 200


def test_with_the_cache_off_every_read_comes_from_the_database(
    store, kv, monkeypatch, django_assert_max_num_queries
):
    monkeypatch.setattr(conf, "site_config", dataclasses.replace(conf.site_config, cache_ttl=0))
    monkeypatch.setattr(
        "lib.site.cache.site_config", dataclasses.replace(conf.site_config, cache_ttl=0)
    )
    HomeBanner.objects.create(title_en="Direct")
    with django_assert_max_num_queries(6):
        assert store().json()["banners"][0]["title"] == "Direct"
    assert kv.get("site:snapshot") is None
    HomeBanner.objects.update(title_en="Changed without telling the cache")
    assert store().json()["banners"][0]["title"] == "Changed without telling the cache"
