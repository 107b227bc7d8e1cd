"""The demo site content `zest dev` seeds: settings, banners, collections and the four policy
pages in both languages, served by /api/v1/store, and demo activity written once."""

from __future__ import annotations

import pytest

import api.store
from db.models import FeaturedCollection, HomeBanner, SitePage, StoreSettings
from devtools.seed import seed_demo_data
from devtools.seed_site import activity_records
from lib.access.activity import ACTIVITY_COLLECTION
from lib.documents import get_documents_db
from tests.support import call

pytestmark = pytest.mark.django_db


def test_demo_site_content_is_seeded_once_in_both_languages(
    kv, server_key, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        seed_demo_data(stdout=lambda line: None)
    counts = (
        HomeBanner.objects.count(),
        FeaturedCollection.objects.count(),
        SitePage.objects.count(),
    )
    with django_capture_on_commit_callbacks(execute=True):
        seed_demo_data(stdout=lambda line: None)
    assert (
        HomeBanner.objects.count(),
        FeaturedCollection.objects.count(),
        SitePage.objects.count(),
    ) == counts
    assert StoreSettings.objects.count() == 1
    assert set(SitePage.objects.values_list("slug", flat=True)) == {
        "shipping",
        "returns",
        "privacy",
        "terms",
    }
    assert all(page.title_bn and page.body_bn for page in SitePage.objects.all())

    store = call(
        api.store.app, "GET", "/api/v1/store", headers={**server_key, "Accept-Language": "bn"}
    )
    body = store.json()
    assert body["name"] == "জেস্ট স্টোর"
    assert len(body["banners"]) == 2 and body["banners"][0]["title"] == "ঈদ কালেকশন এসে গেছে"
    assert {c["slug"] for c in body["collections"]} >= {"editors-picks"}
    assert body["collections"][0]["products"]
    assert body["checkout"]["free_shipping_threshold"]["amount"] == "3000.00"
    page = call(api.store.app, "GET", "/api/v1/store/pages/returns", headers=server_key)
    assert "<strong>7 days</strong>" in page.json()["body"]


def test_demo_activity_has_fixed_ids_so_it_is_written_once(kv, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        seed_demo_data(stdout=lambda line: None)
        seed_demo_data(stdout=lambda line: None)
    from db.models import User
    from devtools.seed import DEMO_USERS

    users = {u.email: u for u in User.objects.filter(email__in=[e for e, _, _ in DEMO_USERS])}
    ids = [record["id"] for record in activity_records(users)]
    stored = get_documents_db()[ACTIVITY_COLLECTION].count_documents({"_id": {"$in": ids}})
    assert stored == len(ids)
