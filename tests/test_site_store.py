"""The public store settings: one cached snapshot (no query when warm), both languages, ETag and
304, schedules applied at read time, changes through the admin visible on the next read, and
the maintenance switch in the request pipeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

import api.catalog
import api.health
import api.store
from db.models import FeaturedCollection, HomeBanner, SitePage, StoreSettings, User, UserRole
from lib.access.sessions import session_start
from lib.site import cache
from lib.site.selectors import site_pages_published, store_settings_get
from lib.site.services import site_changed
from tests import factories
from tests.support import admin_site_client, call, settings_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def get(server_key):
    def get(url: str, language: str = "en", **headers: str):
        headers = {**server_key, "Accept-Language": language, **headers}
        return call(api.store.app, "GET", url, headers=headers)

    return get


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a change as the admin does and let its after-commit work run."""

    def committed(change):
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            result = change()
            site_changed()
        return result

    return committed


@pytest.fixture
def admin_client(settings):
    return admin_site_client(settings)


@pytest.fixture
def store(kv, committed):
    def build():
        StoreSettings.objects.create(
            name_en="Zest Store",
            name_bn="জেস্ট স্টোর",
            phone="+8801712345678",
            email="hello@zest.test",
            address_en="House 12, Road 5, Dhanmondi, Dhaka",
            address_bn="বাড়ি ১২, রোড ৫, ধানমন্ডি, ঢাকা",
            facebook_url="https://facebook.com/zest",
            primary_colour="#112233",
            cod_fee=Decimal("30.00"),
        )
        HomeBanner.objects.create(
            title_en="Eid sale", title_bn="ঈদ সেল", image_url="https://blob.test/eid.jpg"
        )
        SitePage.objects.create(
            slug="returns",
            title_en="Returns",
            title_bn="ফেরত",
            body_en="<p>Within 7 days.</p>",
            body_bn="<p>৭ দিনের মধ্যে।</p>",
            is_published=True,
        )
        SitePage.objects.create(slug="draft", title_en="Draft", is_published=False)

    committed(build)


def test_a_warm_read_costs_no_query_in_either_language(store, get, django_assert_num_queries):
    first = get("/api/v1/store")
    assert first.status == 200, first.body
    with django_assert_num_queries(0):
        english = get("/api/v1/store")
        bangla = get("/api/v1/store", "bn")
        page = get("/api/v1/store/pages/returns", "bn")
        banners = get("/api/v1/store/banners")
        pages = get("/api/v1/store/pages")
    assert english.body == first.body
    body, bn = english.json(), bangla.json()
    assert (body["name"], bn["name"]) == ("Zest Store", "জেস্ট স্টোর")
    assert bn["name_en"] == "Zest Store" and body["name_bn"] == "জেস্ট স্টোর"
    assert bn["contact"]["address"] == "বাড়ি ১২, রোড ৫, ধানমন্ডি, ঢাকা"
    assert body["social_links"] == {"facebook": "https://facebook.com/zest"}
    assert body["theme"]["primary_colour"] == "#112233"
    cod_fee = {"amount": "30.00", "currency": "BDT", "display": "৳30.00"}
    assert body["checkout"]["cod_fee"] == cod_fee
    assert bn["checkout"]["cod_fee"]["display"] == "৳৩০.০০"
    assert body["checkout"]["cod_max_total"]["amount"] == "20000.00"  # the environment default
    assert body["checkout"]["free_shipping_threshold"] is None
    assert [b["title"] for b in bn["banners"]] == ["ঈদ সেল"]
    assert [p["slug"] for p in body["pages"]] == ["returns"]
    assert page.json()["body"] == "<p>৭ দিনের মধ্যে।</p>"
    assert page.json()["body_en"] == "<p>Within 7 days.</p>"
    assert banners.json()["items"][0]["title"] == "Eid sale"
    assert pages.json()["items"][0]["title"] == "Returns"
    assert english.headers["vary"] == "Accept-Language"


def test_an_unpublished_or_unknown_page_is_not_found(store, get):
    assert get("/api/v1/store/pages/draft").status == 404
    missing = get("/api/v1/store/pages/nothing", "bn")
    assert missing.status == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_conditional_get_answers_304_until_something_changes(store, get, committed):
    first = get("/api/v1/store")
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "public, max-age=60"
    again = get("/api/v1/store", **{"If-None-Match": etag})
    assert again.status == 304 and again.body == b""
    assert again.headers["etag"] == etag
    assert get("/api/v1/store", "bn", **{"If-None-Match": etag}).status == 200
    assert get("/api/v1/store", **{"If-None-Match": '"other", ' + etag}).status == 304

    committed(lambda: StoreSettings.objects.filter(pk=1).update(name_en="Zest Bazaar"))

    changed = get("/api/v1/store", **{"If-None-Match": etag})
    assert changed.status == 200
    assert changed.json()["name"] == "Zest Bazaar"
    assert changed.headers["etag"] != etag


def test_banners_and_collections_follow_their_schedule_at_read_time(kv, get, committed):
    now = datetime.now(UTC).replace(microsecond=0)
    category = factories.category(name_en="Panjabi", name_bn="পাঞ্জাবি", slug="panjabi")
    product = factories.product(category=category, slug="silk", name_en="Silk", name_bn="সিল্ক")

    def build():
        HomeBanner.objects.create(title_en="Now", ends_at=now + timedelta(hours=2))
        HomeBanner.objects.create(title_en="Later", starts_at=now + timedelta(seconds=30))
        HomeBanner.objects.create(title_en="Over", ends_at=now - timedelta(seconds=1))
        HomeBanner.objects.create(title_en="Off", is_active=False)
        picks = FeaturedCollection.objects.create(
            slug="picks", title_en="Picks", title_bn="বাছাই", position=1
        )
        picks.products.add(product)
        FeaturedCollection.objects.create(slug="panjabi", title_en="Panjabi", category=category)
        FeaturedCollection.objects.create(
            slug="soon", title_en="Soon", starts_at=now + timedelta(days=1)
        )

    committed(build)
    reply = get("/api/v1/store", "bn")
    body = reply.json()
    assert [b["title_en"] for b in body["banners"]] == ["Now"]
    ends = datetime.fromisoformat(body["banners"][0]["ends_at"])
    assert ends.utcoffset() == timedelta(hours=6) and ends == (now + timedelta(hours=2))
    assert [c["slug"] for c in body["collections"]] == ["panjabi", "picks"]
    assert body["collections"][0]["category"]["name"] == "পাঞ্জাবি"
    assert body["collections"][1]["title"] == "বাছাই"
    assert body["collections"][1]["products"][0]["name"] == "সিল্ক"
    # the next change is "Later" starting within 30 seconds: caches keep it no longer
    max_age = int(reply.headers["cache-control"].rsplit("=", 1)[1])
    assert 0 <= max_age <= 30

    # The same cached snapshot, read after "Later" starts and "Now" ends.
    snapshot = cache.site_snapshot_get()
    from lib.site.selectors import banners_view

    later = banners_view(snapshot, "en", now + timedelta(hours=3))
    assert [b["title"] for b in later] == ["Later"]


def test_a_change_saved_in_the_admin_is_visible_on_the_next_read(
    store, get, admin_client, django_capture_on_commit_callbacks
):
    assert get("/api/v1/store").json()["name"] == "Zest Store"  # now cached
    form = settings_form(name_en="Zest Bazaar", cod_enabled=False, maintenance_mode=True)
    with django_capture_on_commit_callbacks(execute=True):
        page = admin_client.post("/admin/db/storesettings/1/change/", form)
    assert page.status_code == 302, page.content.decode()[:2000]
    body = get("/api/v1/store").json()
    assert body["name"] == "Zest Bazaar"
    assert body["checkout"]["cod_enabled"] is False
    assert body["maintenance"]["enabled"] is True
    assert store_settings_get().name_en == "Zest Bazaar"


def test_the_admin_refuses_a_colour_that_is_not_hex(store, get, admin_client):
    cached = get("/api/v1/store").body
    page = admin_client.post(
        "/admin/db/storesettings/1/change/", settings_form(primary_colour="red")
    )
    assert page.status_code == 200
    assert "#RRGGBB" in page.content.decode()
    assert StoreSettings.objects.get(pk=1).primary_colour == "#112233"
    assert get("/api/v1/store").body == cached
    with pytest.raises(ValidationError):
        StoreSettings(primary_colour="#12345G").full_clean()


def test_the_settings_list_opens_the_one_row(kv, admin_client):
    page = admin_client.get("/admin/db/storesettings/")
    assert page.status_code == 302
    assert page["Location"].endswith("/admin/db/storesettings/1/change/")
    assert StoreSettings.objects.count() == 1


def test_a_page_body_is_sanitised_when_saved_in_the_admin(
    kv, get, admin_client, django_capture_on_commit_callbacks
):
    form = {
        "slug": "privacy",
        "title_en": "Privacy",
        "title_bn": "গোপনীয়তা",
        "body_en": '<p onclick="x()">We keep <b>little</b>.</p><script>steal()</script>',
        "body_bn": "<p>আমরা কম রাখি।</p><iframe src='https://evil.test'></iframe>",
        "is_published": "on",
        "position": "0",
    }
    with django_capture_on_commit_callbacks(execute=True):
        page = admin_client.post("/admin/db/sitepage/add/", form)
    assert page.status_code == 302, page.content.decode()[:2000]
    saved = SitePage.objects.get(slug="privacy")
    assert saved.body_en == "<p>We keep <b>little</b>.</p>"
    assert "iframe" not in saved.body_bn
    assert get("/api/v1/store/pages/privacy").json()["body"] == saved.body_en
    assert [p.slug for p in site_pages_published()] == ["privacy"]


def test_a_fill_that_raced_an_invalidation_stores_nothing(store, kv):
    version = kv.get(cache.VERSION_KEY)
    stale = cache.snapshot_build()
    cache.site_cache_invalidate()
    cache.snapshot_fill(stale, version)
    assert kv.get(cache.SNAPSHOT_KEY) is None
    cache.snapshot_fill(stale, kv.get(cache.VERSION_KEY))
    assert kv.get(cache.SNAPSHOT_KEY) is not None


def test_nothing_saved_yet_reads_the_defaults(kv, get):
    body = get("/api/v1/store").json()
    assert body["name"] == "Zest Store" and body["banners"] == [] and body["pages"] == []
    assert body["checkout"]["cod_fee"]["amount"] == "20.00"
    assert body["checkout"]["cod_enabled"] is True
    assert body["maintenance"]["enabled"] is False


# --- maintenance ---------------------------------------------------------------------------


@pytest.fixture
def maintenance(kv, committed):
    def switch(on: bool = True):
        committed(
            lambda: StoreSettings.objects.update_or_create(
                pk=1,
                defaults={
                    "maintenance_mode": on,
                    "maintenance_message_en": "Back at 6 pm.",
                    "maintenance_message_bn": "সন্ধ্যা ৬টায় ফিরছি।",
                    "maintenance_retry_after": 1800,
                },
            )
        )

    switch()
    return switch


def bearer(role: str) -> str:
    user = User.objects.create_user(email=f"{role}@zest.test", password=None, role=role)
    return f"Bearer {session_start(user=user, ip='127.0.0.1', user_agent='test').access_token}"


def test_maintenance_answers_503_to_storefront_routes(maintenance, server_key):
    reply = call(
        api.catalog.app,
        "GET",
        "/api/v1/categories",
        headers={**server_key, "Accept-Language": "bn"},
    )
    assert reply.status == 503
    assert reply.json()["error"]["code"] == "maintenance"
    assert reply.json()["error"]["message"] == "সন্ধ্যা ৬টায় ফিরছি।"
    assert reply.headers["retry-after"] == "1800"
    customer = {**server_key, "Authorization": bearer(UserRole.CUSTOMER)}
    assert call(api.catalog.app, "GET", "/api/v1/categories", headers=customer).status == 503


def test_maintenance_lets_staff_the_store_endpoint_and_health_through(maintenance, server_key):
    for role in (UserRole.ADMIN, UserRole.STAFF):
        headers = {**server_key, "Authorization": bearer(role)}
        assert call(api.catalog.app, "GET", "/api/v1/categories", headers=headers).status == 200
    store = call(api.store.app, "GET", "/api/v1/store", headers=server_key)
    assert store.status == 200 and store.json()["maintenance"]["enabled"] is True
    assert call(api.health.app, "GET", "/api/health").status in (200, 503)
    health = call(api.health.app, "GET", "/api/health")
    assert health.headers.get("retry-after") is None


def test_switching_maintenance_off_opens_the_store_at_once(maintenance, server_key):
    assert call(api.catalog.app, "GET", "/api/v1/categories", headers=server_key).status == 503
    maintenance(False)
    assert call(api.catalog.app, "GET", "/api/v1/categories", headers=server_key).status == 200


def test_maintenance_costs_no_query_and_no_extra_kv_round_trip(
    maintenance, server_key, django_assert_num_queries
):
    from lib.kv import local_bridge

    bridge = local_bridge()
    call(api.catalog.app, "GET", "/api/v1/categories", headers=server_key)
    before = bridge.request_count
    with django_assert_num_queries(0):
        reply = call(api.catalog.app, "GET", "/api/v1/categories", headers=server_key)
    assert reply.status == 503
    assert bridge.request_count - before == 1  # the access pipeline's own round trip


def test_staff_can_sign_in_during_maintenance(maintenance, server_key):
    import api.auth

    User.objects.create_user(
        email="night-shift@zest.test", password="Correct-Horse-Battery-9", role=UserRole.STAFF
    )
    reply = call(
        api.auth.app,
        "POST",
        "/api/v1/auth/login",
        json_body={"email": "night-shift@zest.test", "password": "Correct-Horse-Battery-9"},
        headers=server_key,
    )
    assert reply.status == 200, reply.body
    token = reply.json()["tokens"]["access_token"]
    headers = {**server_key, "Authorization": f"Bearer {token}"}
    assert call(api.catalog.app, "GET", "/api/v1/categories", headers=headers).status == 200


@pytest.mark.parametrize("raw", [None, "0", "not json", '{"on": false}', "[1, 2]"])
def test_a_switch_that_is_off_or_unreadable_lets_requests_through(raw):
    from django.test import RequestFactory

    from lib.site.maintenance import maintenance_answer

    request = RequestFactory().get("/api/v1/products")
    assert maintenance_answer(request, raw, None) is None


def test_settings_are_read_from_the_database_while_the_cache_is_unreachable(store, kv, monkeypatch):
    from upstash_redis import Redis

    import lib.kv

    unreachable = Redis("http://127.0.0.1:9", "token", rest_retries=0)
    monkeypatch.setattr(lib.kv, "_client", unreachable)
    assert store_settings_get().cod_fee == Decimal("30.00")
    assert [page.slug for page in site_pages_published()] == ["returns"]
