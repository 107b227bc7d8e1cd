"""User-activity monitoring for staff: the filtered, newest-first list with its cursor, the
suspicious patterns and their thresholds, order placements recorded through the outbox, and who
may look."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest

import api.activity
import api.auth
from db.models import OutboxMessage, User, UserRole
from lib.access.activity import activity_store
from lib.outbox import outbox_dispatch
from tests import payment_shop
from tests.payment_shop import order_place, shop_product, signed_in
from tests.support import call

pytestmark = pytest.mark.django_db

DHAKA = ZoneInfo("Asia/Dhaka")
# A moment no other test writes around: windows below end here.
BASE = datetime(2021, 3, 17, 6, 0, tzinfo=UTC)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def unique_ip() -> str:
    raw = uuid.uuid4().int
    return f"10.{raw % 250}.{(raw >> 8) % 250}.{(raw >> 16) % 250}"


def stored(
    *,
    user_id: str | None,
    kind: str = "sign_in",
    at: datetime = BASE,
    ip: str = "",
    details: dict | None = None,
    document_id: str | None = None,
) -> str:
    """An activity document as the outbox handler writes it."""
    document_id = document_id or uuid.uuid4().hex
    activity_store(
        {
            "id": document_id,
            "user_id": user_id,
            "activity_type": kind,
            "details": details or {},
            "ip": ip,
            "timestamp": at.isoformat(),
        }
    )
    return document_id


@pytest.fixture
def staff(server_key):
    return signed_in(server_key, UserRole.STAFF)[1]


def browse(headers: dict[str, str], **query):
    url = "/api/v1/admin/activity"
    if query:
        url += "?" + urlencode(query)
    return call(api.activity.app, "GET", url, headers=headers)


def suspicious(headers: dict[str, str], **query):
    url = "/api/v1/admin/activity/suspicious"
    if query:
        url += "?" + urlencode(query)
    return call(api.activity.app, "GET", url, headers=headers)


# --- browsing ------------------------------------------------------------------------------


def test_a_users_activity_comes_newest_first_and_costs_no_sql(staff, django_assert_num_queries):
    user = unique("user")
    older = stored(user_id=user, kind="sign_in", at=BASE - timedelta(minutes=5), ip="10.0.0.1")
    newer = stored(user_id=user, kind="sign_out", at=BASE, ip="10.0.0.1")
    stored(user_id=unique("someone-else"), at=BASE)

    with django_assert_num_queries(0):
        reply = browse(staff, user_id=user)

    assert reply.status == 200, reply.body
    items = reply.json()["items"]
    assert [item["id"] for item in items] == [newer, older]
    assert items[0]["activity_type"] == "sign_out" and items[0]["ip"] == "10.0.0.1"
    shown = datetime.fromisoformat(items[0]["timestamp"])
    assert shown.utcoffset() == timedelta(hours=6) and shown == BASE
    assert reply.json()["next_cursor"] is None


def test_the_cursor_walks_every_document_once_even_with_equal_times(staff):
    user = unique("pager")
    ids = {stored(user_id=user, at=BASE) for _ in range(4)}
    ids |= {stored(user_id=user, at=BASE - timedelta(seconds=n)) for n in (1, 2, 3)}
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        query = {"user_id": user, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = browse(staff, **query).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == len(ids)
    times = [
        datetime.fromisoformat(item["timestamp"])
        for item in browse(staff, user_id=user).json()["items"]
    ]
    assert times == sorted(times, reverse=True)


def test_filters_by_type_ip_and_a_time_range_in_dhaka_time(staff):
    user = unique("filters")
    ip = unique_ip()
    morning = stored(user_id=user, kind="sign_in_failed", at=BASE, ip=ip)  # 12:00 in Dhaka
    stored(user_id=user, kind="sign_in", at=BASE, ip=ip)
    stored(user_id=user, kind="sign_in_failed", at=BASE, ip=unique_ip())
    stored(user_id=user, kind="sign_in_failed", at=BASE + timedelta(hours=1), ip=ip)

    by_type_and_ip = browse(
        staff,
        user_id=user,
        type="sign_in_failed",
        ip=ip,
        since="2021-03-17T11:30",  # Asia/Dhaka, no offset
        until="2021-03-17T12:30",
    )
    assert [item["id"] for item in by_type_and_ip.json()["items"]] == [morning]
    with_offset = browse(
        staff, user_id=user, ip=ip, type="sign_in_failed", since="2021-03-17T06:00:00Z"
    )
    assert len(with_offset.json()["items"]) == 2
    until_is_exclusive = browse(staff, user_id=user, until="2021-03-17T12:00:00+06:00")
    assert until_is_exclusive.json()["items"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"since": "2021-03-17T12:00", "until": "2021-03-17T11:00"}, "until"),
        ({"type": "teleported"}, "type"),
        ({"limit": 0}, "limit"),
        ({"since": "yesterday"}, "since"),
    ],
)
def test_bad_filters_are_refused_with_a_422(staff, query, field):
    reply = browse(staff, **query)
    assert reply.status == 422, reply.body
    assert field in reply.json()["error"]["fields"]


def test_only_staff_may_look(server_key):
    _, customer = signed_in(server_key, UserRole.CUSTOMER)
    _, vendor = signed_in(server_key, UserRole.VENDOR_OWNER)
    _, support = signed_in(server_key, UserRole.SUPPORT)
    _, admin = signed_in(server_key, UserRole.ADMIN)
    assert browse(customer).status == 403
    assert suspicious(vendor).status == 403
    assert browse(server_key).status == 401
    assert browse(support).status == 200
    assert suspicious(admin).status == 200


# --- suspicious patterns -------------------------------------------------------------------


def test_many_failed_sign_ins_per_account_email_and_ip_in_the_window(staff):
    user, email, ip = unique("victim"), f"{unique('x')}@shop.test", unique_ip()
    for minute in range(1, 5):  # the window ends before `until`
        stored(
            user_id=user,
            kind="sign_in_failed",
            at=BASE - timedelta(minutes=minute),
            ip=ip,
            details={"email": email, "reason": "wrong_password"},
        )
    stored(user_id=user, kind="sign_in_failed", at=BASE - timedelta(hours=3), ip=ip)  # outside
    calm_user, calm_ip = unique("calm"), unique_ip()
    for minute in range(1, 4):
        stored(
            user_id=calm_user,
            kind="sign_in_failed",
            at=BASE - timedelta(minutes=minute),
            ip=calm_ip,
        )

    reply = suspicious(staff, until=BASE.isoformat(), failed_sign_ins=4, window_minutes=60)

    assert reply.status == 200, reply.body
    body = reply.json()
    assert {"key": user, "count": 4} in body["failed_sign_ins_by_user"]
    assert {"key": email, "count": 4} in body["failed_sign_ins_by_email"]
    assert {"key": ip, "count": 4} in body["failed_sign_ins_by_ip"]
    keys = {row["key"] for rows in body.values() if isinstance(rows, list) for row in rows}
    assert calm_user not in keys and calm_ip not in keys
    assert body["thresholds"] == {"window_minutes": 60, "failed_sign_ins": 4, "accounts": 3}
    assert datetime.fromisoformat(body["until"]) == BASE
    assert datetime.fromisoformat(body["since"]) == BASE - timedelta(hours=1)


def test_many_accounts_per_ip_and_per_device(staff):
    shared_ip, lone_ip, device = unique_ip(), unique_ip(), unique("device")
    users = sorted(unique("acct") for _ in range(3))
    for user in users:
        stored(user_id=user, kind="sign_in", at=BASE - timedelta(minutes=1), ip=shared_ip)
        stored(user_id=user, kind="sign_in", at=BASE - timedelta(minutes=2), ip=shared_ip)
        stored(
            user_id=user,
            kind="order_placed",
            at=BASE - timedelta(minutes=3),
            details={"device_id": device, "order_number": unique("ZS")},
        )
    loner = unique("loner")
    for minute in range(5):  # many sign-ins, one account
        stored(user_id=loner, kind="sign_in", at=BASE - timedelta(minutes=minute), ip=lone_ip)

    body = suspicious(staff, until=BASE.isoformat(), accounts=3).json()

    assert {"key": shared_ip, "accounts": 3, "user_ids": users} in body["accounts_by_ip"]
    assert {"key": device, "accounts": 3, "user_ids": users} in body["accounts_by_device"]
    assert lone_ip not in {row["key"] for row in body["accounts_by_ip"]}
    fewer = suspicious(staff, until=BASE.isoformat(), accounts=4).json()
    assert shared_ip not in {row["key"] for row in fewer["accounts_by_ip"]}


def test_thresholds_out_of_range_are_refused(staff):
    assert suspicious(staff, accounts=1).status == 422
    assert suspicious(staff, window_minutes=0).status == 422
    assert suspicious(staff, failed_sign_ins="many").status == 422


def test_real_failed_sign_ins_show_up_as_suspicious(server_key, staff):
    email = f"{unique('target')}@shop.test"
    user = User.objects.create_user(email=email, password="Correct-Horse-Battery-9")
    for _ in range(3):
        reply = call(
            api.auth.app,
            "POST",
            "/api/v1/auth/login",
            json_body={"email": email, "password": "wrong-password-1"},
            headers=server_key,
        )
        assert reply.status == 401
    outbox_dispatch()

    body = suspicious(staff, failed_sign_ins=3).json()

    assert {"key": str(user.pk), "count": 3} in body["failed_sign_ins_by_user"]
    assert {"key": email, "count": 3} in body["failed_sign_ins_by_email"]
    failures = browse(staff, user_id=str(user.pk), type="sign_in_failed").json()["items"]
    assert [item["details"]["reason"] for item in failures] == ["wrong_password"] * 3


# --- order placements ------------------------------------------------------------------------


def test_a_placed_order_is_recorded_as_activity_through_the_outbox(server_key, staff):
    customer, headers = signed_in(server_key, UserRole.CUSTOMER)
    order = order_place(shop_product(), headers, "cod", status="placed")
    messages = [
        m
        for m in OutboxMessage.objects.filter(topic="activity.record")
        if m.payload["activity_type"] == "order_placed"
    ]
    assert len(messages) == 1
    outbox_dispatch()
    outbox_dispatch()  # nothing delivered twice

    items = browse(staff, user_id=str(customer.pk), type="order_placed").json()["items"]

    assert len(items) == 1
    assert items[0]["details"]["order_number"] == order.number
    assert items[0]["details"]["total"] == str(order.total_amount)
    assert items[0]["details"]["payment_method"] == "cod"


def test_an_order_refused_at_placement_records_no_activity(server_key, committed_cod_off):
    _, headers = signed_in(server_key, UserRole.CUSTOMER)
    product = shop_product()
    reply = call(
        payment_shop.api.checkout.app,
        "POST",
        "/api/v1/checkout/orders",
        json_body={
            "lines": [{"product_id": str(product.pk), "quantity": 1}],
            "address": {
                "full_name": "Karim Ahmed",
                "phone": "01812345678",
                "address_line1": "Flat 3B, Road 7",
                "division": "Dhaka",
                "district": "Dhaka",
            },
            "payment_method": "cod",
        },
        headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert reply.status == 422
    assert reply.json()["error"]["code"] == "cod_unavailable"
    assert not OutboxMessage.objects.filter(topic="activity.record").exists()


@pytest.fixture
def committed_cod_off(kv, django_capture_on_commit_callbacks):
    from django.db import transaction

    from db.models import StoreSettings
    from lib.site.services import site_changed

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        StoreSettings.objects.create(cod_enabled=False)
        site_changed()


def test_a_change_in_the_django_admin_is_listed_as_an_admin_action(
    server_key, settings, django_capture_on_commit_callbacks
):
    import sys
    import types

    from django.conf import settings as django_settings
    from django.contrib import admin
    from django.test import Client
    from django.urls import path

    urls = types.ModuleType("zest_test_activity_admin_urls")
    urls.urlpatterns = [path("admin/", admin.site.urls)]
    sys.modules[urls.__name__] = urls
    settings.ROOT_URLCONF = urls.__name__
    settings.MIDDLEWARE = django_settings.ADMIN_MIDDLEWARE
    owner, headers = signed_in(server_key, UserRole.ADMIN, is_staff=True)
    client = Client()
    client.force_login(owner)
    form = {
        "slug": unique("terms"),
        "title_en": "Terms",
        "title_bn": "শর্তাবলি",
        "body_en": "<p>Terms.</p>",
        "body_bn": "",
        "position": "0",
    }
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/admin/db/sitepage/add/", form).status_code == 302
    outbox_dispatch()

    items = browse(headers, user_id=str(owner.pk), type="admin_action").json()["items"]

    assert len(items) == 1
    assert items[0]["details"]["action"] == "add"
    assert items[0]["details"]["model"] == "db.sitepage"


def test_an_unreachable_document_store_answers_503(staff, monkeypatch):
    from pymongo import MongoClient

    import lib.documents

    unreachable = MongoClient(
        "mongodb://127.0.0.1:9/", serverSelectionTimeoutMS=200, connectTimeoutMS=200
    )
    monkeypatch.setattr(lib.documents, "_client", unreachable)
    for reply in (browse(staff), suspicious(staff)):
        assert reply.status == 503
        assert reply.json()["error"]["code"] == "service_unavailable"
    unreachable.close()
