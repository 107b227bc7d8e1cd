"""Product analytics counters (KV, flushed to MongoDB) and recently viewed products."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

import api.reviews
from db.models import User
from lib.access.sessions import session_start
from lib.engagement.analytics import (
    BATCH_SEQUENCE,
    BATCHES,
    STALE_AFTER_SECONDS,
    analytics_flush,
    analytics_record,
    batch_apply,
    batch_key,
    pending_key,
    product_analytics_get,
)
from lib.engagement.recent import (
    RECENT_LIMIT,
    product_view_record,
    recent_views_ids,
    recent_views_key,
)
from lib.kv import local_bridge
from tests import factories
from tests.support import call


def new_ids(n: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(n)]


def counts_of(product_ids: list[str]) -> dict[str, tuple[int, int, int]]:
    found = product_analytics_get(product_ids=product_ids)
    return {pid: (row.views, row.cart_adds, row.purchases) for pid, row in found.items()}


# --- counting and flushing -----------------------------------------------------------


def test_recorded_events_reach_mongodb_on_flush(kv):
    shirt, rice = new_ids(2)
    for _ in range(3):
        analytics_record(product_id=shirt, event="view")
    analytics_record(product_id=shirt, event="cart_add", count=2)
    analytics_record(product_id=rice, event="purchase", count=5)
    analytics_record(product_id=rice, event="view", count=0)  # nothing to count

    assert kv.hget(pending_key("view"), shirt) == "3"
    flushed = analytics_flush()
    assert (flushed.batches, flushed.products) == (1, 2)
    assert flushed.totals == {"views": 3, "cart_adds": 2, "purchases": 5}
    assert counts_of([shirt, rice]) == {shirt: (3, 2, 0), rice: (0, 0, 5)}
    # Nothing pending, no batch left behind.
    assert kv.keys("analytics:pending:*") + kv.keys("analytics:batch:*") == []
    assert kv.zcard(BATCHES) == 0

    analytics_record(product_id=shirt, event="view")
    analytics_flush()
    assert counts_of([shirt])[shirt] == (4, 2, 0)
    assert product_analytics_get(product_ids=[shirt])[shirt].last_updated is not None
    assert analytics_flush().batches == 0  # nothing to do


def test_unknown_events_are_refused(kv):
    with pytest.raises(ValueError, match="unknown analytics event"):
        analytics_record(product_id=new_ids(1)[0], event="like")  # type: ignore[arg-type]


def test_two_concurrent_flushes_take_each_count_exactly_once(kv):
    products = new_ids(5)
    for pid in products:
        analytics_record(product_id=pid, event="view", count=10)
    start = threading.Barrier(2)

    def flush():
        start.wait()
        return analytics_flush()

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: flush(), range(2)))
    assert sorted(result.batches for result in results) == [0, 1]
    assert sum(result.totals["views"] for result in results) == 50
    assert counts_of(products) == {pid: (10, 0, 0) for pid in products}


def test_flushing_while_shoppers_browse_loses_and_repeats_nothing(kv):
    products = new_ids(3)
    per_thread = 60
    done = threading.Event()

    def browse(index: int) -> None:
        for n in range(per_thread):
            analytics_record(product_id=products[n % 3], event="view")
            if n % 4 == index % 4:
                analytics_record(product_id=products[index % 3], event="cart_add")

    def keep_flushing() -> int:
        flushes = 0
        while not done.is_set():
            flushes += analytics_flush().batches
        return flushes

    with ThreadPoolExecutor(6) as pool:
        flushers = [pool.submit(keep_flushing) for _ in range(2)]
        list(pool.map(browse, range(4)))
        done.set()
        assert sum(f.result() for f in flushers) >= 1
    analytics_flush()
    counted = counts_of(products)
    assert sum(views for views, _, _ in counted.values()) == 4 * per_thread
    assert sum(cart_adds for _, cart_adds, _ in counted.values()) == 4 * (per_thread // 4)


def test_a_batch_abandoned_by_a_crashed_flush_is_applied_once(kv):
    shirt, rice = new_ids(2)
    # A flush claimed this batch, then its function instance died.
    abandoned = f"{kv.incr(BATCH_SEQUENCE)}-crashed"
    kv.hset(batch_key(abandoned, "view"), values={shirt: 7, rice: 1})
    kv.hset(batch_key(abandoned, "purchase"), values={rice: 2})
    kv.zadd(BATCHES, {abandoned: time.time() - STALE_AFTER_SECONDS - 60})
    # A recent batch belongs to a flush still running: left alone.
    running = f"{kv.incr(BATCH_SEQUENCE)}-running"
    kv.hset(batch_key(running, "view"), values={shirt: 100})
    kv.zadd(BATCHES, {running: time.time()})
    analytics_record(product_id=shirt, event="view")

    flushed = analytics_flush()
    assert flushed.batches == 2
    assert counts_of([shirt, rice]) == {shirt: (8, 0, 0), rice: (1, 0, 2)}
    assert kv.zrange(BATCHES, 0, -1) == [running]

    # The crash came after the counts reached MongoDB but before the batch was forgotten:
    # applying it again changes nothing.
    kv.hset(batch_key(abandoned, "view"), values={shirt: 7, rice: 1})
    kv.zadd(BATCHES, {abandoned: time.time() - STALE_AFTER_SECONDS - 60})
    analytics_flush()
    assert counts_of([shirt, rice]) == {shirt: (8, 0, 0), rice: (1, 0, 2)}


def test_batches_applied_at_once_to_new_products_all_count(kv):
    products = new_ids(20)
    start = threading.Barrier(4)

    def apply(batch_id: str) -> None:
        start.wait()
        batch_apply(batch_id=batch_id, counts={pid: {"views": 1} for pid in products})

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(apply, [f"{n}-concurrent" for n in range(1000, 1004)]))
    assert counts_of(products) == {pid: (4, 0, 0) for pid in products}
    batch_apply(
        batch_id="1001-concurrent", counts={pid: {"views": 1} for pid in products}
    )  # a retry
    assert counts_of(products) == {pid: (4, 0, 0) for pid in products}


# --- product views and recently viewed -------------------------------------------------


@pytest.fixture
def shopper(kv, server_key):
    user = User.objects.create_user(email="viewer@shop.test", password=None)
    tokens = session_start(user=user, ip="127.0.0.1", user_agent="test")
    return user, {**server_key, "Authorization": f"Bearer {tokens.access_token}"}


def test_a_view_and_the_recently_viewed_list_are_one_kv_round_trip(kv):
    user_id, product_id = new_ids(2)
    bridge = local_bridge()
    before = bridge.request_count
    product_view_record(product_id=product_id, user_id=user_id)
    assert bridge.request_count - before == 1
    assert recent_views_ids(user_id=user_id) == [product_id]
    assert kv.hget(pending_key("view"), product_id) == "1"
    assert 0 < kv.ttl(recent_views_key(user_id)) <= 90 * 86400


def test_recently_viewed_is_newest_first_without_duplicates_and_capped(kv):
    user_id = new_ids(1)[0]
    products = new_ids(RECENT_LIMIT + 5)
    for pid in products:
        product_view_record(product_id=pid, user_id=user_id)
    product_view_record(product_id=products[10], user_id=user_id)  # seen again

    ids = recent_views_ids(user_id=user_id)
    assert len(ids) == RECENT_LIMIT
    assert ids[0] == products[10]
    assert ids[1:] == [pid for pid in reversed(products) if pid != products[10]][: RECENT_LIMIT - 1]
    assert len(set(ids)) == RECENT_LIMIT


@pytest.mark.django_db
def test_viewing_a_product_through_the_api(kv, server_key, shopper):
    category = factories.category()
    product = factories.product(category=category)
    url = f"/api/v1/products/{product.slug}/views"

    assert call(api.reviews.app, "POST", url, headers=server_key).status == 204
    assert recent_views_ids(user_id=str(shopper[0].pk)) == []  # anonymous: counted only
    assert call(api.reviews.app, "POST", url, headers=shopper[1]).status == 204
    assert kv.hget(pending_key("view"), str(product.pk)) == "2"
    assert recent_views_ids(user_id=str(shopper[0].pk)) == [str(product.pk)]
    assert (
        call(api.reviews.app, "POST", "/api/v1/products/nope/views", headers=server_key).status
        == 404
    )
    assert call(api.reviews.app, "POST", url, headers={}).status == 401  # a key is required


@pytest.mark.django_db
def test_recently_viewed_products_keep_order_and_skip_unlisted_ones_in_two_queries(
    kv, shopper, django_assert_num_queries
):
    user, headers = shopper
    category = factories.category()
    hidden_category = factories.category(is_active=False)
    first = factories.product(category=category, name_bn="প্রথম পণ্য")
    draft = factories.product(category=category, is_active=False)
    in_hidden_category = factories.product(category=hidden_category)
    last = factories.product(category=category, images=0, quantity=0)
    for product in (first, draft, in_hidden_category, last):
        product_view_record(product_id=str(product.pk), user_id=str(user.pk))

    with django_assert_num_queries(2):  # the category index, then the cards
        response = call(api.reviews.app, "GET", "/api/v1/me/recently-viewed", headers=headers)
    assert response.status == 200, response.body
    items = response.json()["items"]
    assert [item["slug"] for item in items] == [last.slug, first.slug]
    assert (items[0]["in_stock"], items[0]["image"]) == (False, None)
    assert items[1]["image"]["url"] == f"https://img.example/{first.slug}/0.png"
    assert items[1]["price"]["display"] == "৳100.00"

    bangla = call(
        api.reviews.app,
        "GET",
        "/api/v1/me/recently-viewed",
        headers={**headers, "Accept-Language": "bn"},
    ).json()
    assert bangla["items"][1]["name"] == "প্রথম পণ্য"


@pytest.mark.django_db
def test_recently_viewed_needs_a_signed_in_user(kv, server_key):
    response = call(api.reviews.app, "GET", "/api/v1/me/recently-viewed", headers=server_key)
    assert response.status == 401
