"""The couriers' admin API and poll cron over HTTP against the Steadfast simulator: booking
once (also under concurrent requests on PostgreSQL), a courier failure books nothing, who may
book, cancel and rebook, labels, the list's query count, payouts and reconciliation, the
poll cron, and the webhook handler's refusals."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import api.couriers
import api.cron_couriers
import api.orders
import api.webhooks.steadfast
from db.models import Consignment, ConsignmentEvent, Order, User, VendorMember
from devtools.courier_sims import steadfast as sim_module
from devtools.courier_sims.steadfast import start_steadfast_simulator
from lib.access.sessions import session_start
from lib.orders.state import order_transition
from tests.courier_shop import booking, bookings_at_once, couriers_admin, steadfast_config_set
from tests.support import call
from tests.test_orders import make_order, vendor

pytestmark = pytest.mark.django_db(transaction=True)

_numbers = itertools.count(1)
ADDRESS = {
    "full_name": "Karim Ahmed",
    "phone": "+8801812345678",
    "address_line1": "Flat 3B, Road 7, Bank Colony",
    "upazila": "Savar",
    "district": "Dhaka",
}


@pytest.fixture(scope="module")
def running():
    with start_steadfast_simulator() as server:  # no webhook: the tests poll or post
        yield server


@pytest.fixture
def sim(running, kv, monkeypatch):
    running.reset()
    steadfast_config_set(monkeypatch, running.url, sim_tracking=True)
    return running


@pytest.fixture
def person(server_key):
    def person(role: str = "staff", *, of_vendor=None) -> dict[str, str]:
        user = User.objects.create_user(
            email=f"{role}-{next(_numbers)}@shop.test", password=None, role=role, full_name="Rahim"
        )
        if of_vendor is not None:
            VendorMember.objects.create(vendor=of_vendor, user=user)
        tokens = session_start(user=user, ip="127.0.0.1", user_agent="test")
        return {**server_key, "Authorization": f"Bearer {tokens.access_token}"}

    return person


def packed(**fields) -> Order:
    order = make_order(status="placed", shipping_snapshot=ADDRESS, **fields)
    order_transition(order=order, to_status="processing")
    return order


def book(order: Order, headers: dict, courier: str = "steadfast"):
    return booking(order, headers, courier)


# --- booking -----------------------------------------------------------------------------


def test_staff_book_a_packed_order_and_a_repeat_answers_the_same_consignment(sim, person):
    staff = person()
    order = packed()

    first = book(order, staff)
    again = book(order, staff)

    assert (first.status, again.status) == (201, 200)
    answer = first.json()
    assert again.json()["id"] == answer["id"]
    parcel = sim.parcels[int(answer["consignment_id"])]
    assert (parcel["invoice"], parcel["recipient_phone"]) == (order.number, "01812345678")
    assert Decimal(str(parcel["cod_amount"])) == order.total_amount
    assert answer["state"] == "booked"
    assert answer["cod_amount"]["amount"] == "260.00"
    assert answer["tracking_url"] == f"{sim.url}/t/{answer['tracking_code']}"
    assert sim.hits("create_order") == 1
    detail = couriers_admin("GET", f"/consignments/{answer['id']}", staff).json()
    assert [(e["source"], e["state"]) for e in detail["events"]] == [("booking", "booked")]
    # the customer sees where to follow the parcel
    tracked = call(
        api.orders.app,
        "POST",
        "/api/v1/orders/track",
        json_body={"number": order.number, "phone": "01812345678"},
        headers=staff,
    ).json()
    assert tracked["tracking"] == {
        "courier": "steadfast",
        "courier_name": "Steadfast",
        "tracking_code": answer["tracking_code"],
        "tracking_url": answer["tracking_url"],
    }


def test_concurrent_bookings_of_one_order_make_one_parcel(sim, person):
    staff = person()
    order = packed()
    sim.slow_next("create_order", 0.6)  # the first booking holds its claim a while
    replies = bookings_at_once(order, staff, "steadfast")

    assert sim.hits("create_order") == 1
    assert len(sim.parcels) == 1
    consignment = Consignment.objects.get(order=order)
    assert sorted(reply.status for reply in replies) == [200] * 5 + [201]
    assert {reply.json()["id"] for reply in replies} == {str(consignment.pk)}
    assert consignment.state == "booked"


def test_a_courier_5xx_keeps_the_booking_unconfirmed_and_booking_again_books_it_once(sim, person):
    staff = person()
    order = packed()
    sim.fail_next("create_order", 502)

    unconfirmed = book(order, staff)

    assert unconfirmed.status == 202, unconfirmed.body
    assert unconfirmed.json()["state"] == "booking_unconfirmed"
    assert not sim.parcels
    again = book(order, staff)  # Steadfast's look-up by invoice finds none: sent once more
    assert (again.status, again.json()["id"]) == (201, unconfirmed.json()["id"])
    assert Consignment.objects.get(order=order).state == "booked"
    assert len(sim.parcels) == 1


def test_a_booking_whose_instance_died_blocks_until_stale_then_is_taken_over(sim, person):
    staff = person()
    order = packed()
    claim = Consignment.objects.create(order=order, courier="steadfast", state="booking")

    waiting = book(order, staff)
    assert (waiting.status, waiting.json()["state"]) == (200, "booking")
    assert sim.hits("create_order") == 0

    stale = timezone.now() - timedelta(minutes=10)
    Consignment.objects.filter(pk=claim.pk).update(updated_at=stale)
    taken = book(order, staff)

    assert (taken.status, taken.json()["id"]) == (201, str(claim.pk))
    assert taken.json()["state"] == "booked"
    assert sim.hits("create_order") == 1 and len(sim.parcels) == 1


def test_only_packed_orders_are_booked(sim, person):
    staff = person()
    order = make_order(status="placed", shipping_snapshot=ADDRESS)

    refused = book(order, staff)

    assert refused.status == 409
    assert refused.json()["error"]["code"] == "consignment_not_bookable"
    assert sim.hits("create_order") == 0
    assert not Consignment.objects.exists()


def test_bulk_booking_answers_per_order(sim, person):
    staff = person()
    good, other = packed(), packed()
    not_packed = make_order(status="placed", shipping_snapshot=ADDRESS)
    body = {
        "order_numbers": [good.number, not_packed.number, "ZS-NOPE", other.number],
        "courier": "steadfast",
    }

    reply = couriers_admin("POST", "/consignments/bulk", staff, body)

    assert reply.status == 200
    answer = reply.json()
    assert (answer["booked"], answer["failed"]) == (2, 2)
    rows = {row["order_number"]: row for row in answer["results"]}
    assert rows[good.number]["consignment"]["state"] == "booked"
    assert rows[not_packed.number]["error"]["code"] == "consignment_not_bookable"
    assert rows["ZS-NOPE"]["error"]["code"] == "not_found"
    assert len(sim.parcels) == 2


# --- who may -------------------------------------------------------------------------------


def test_staff_and_the_owning_vendor_may_book_others_may_not(sim, person):
    seller, rival = vendor(), vendor()
    order = packed(seller=seller)

    for headers, status in (
        (person("customer"), 403),
        (person("support"), 403),
        (person("vendor_owner", of_vendor=rival), 403),
    ):
        assert book(order, headers).status == status
    assert not Consignment.objects.exists()

    owner = person("vendor_owner", of_vendor=seller)
    assert book(order, owner).status == 201
    mine = couriers_admin("GET", "/consignments", owner).json()
    theirs = couriers_admin("GET", "/consignments", person("vendor_owner", of_vendor=rival)).json()
    assert (mine["count"], theirs["count"]) == (1, 0)
    # the store's money: staff only
    assert couriers_admin("GET", "/reconciliation?courier=steadfast", owner).status == 403
    assert couriers_admin("GET", "/payouts", owner).status == 403
    assert couriers_admin("GET", "/payouts", person()).status == 200


# --- after booking -------------------------------------------------------------------------


def test_cancel_in_the_panel_then_book_again_and_print_the_label(sim, person):
    staff = person()
    order = packed()
    first = book(order, staff).json()

    unsupported = couriers_admin("POST", f"/consignments/{first['id']}/cancel", staff, {})
    assert unsupported.status == 409
    assert unsupported.json()["error"]["code"] == "courier_unsupported"

    recorded = couriers_admin(
        "POST", f"/consignments/{first['id']}/cancel", staff, {"at_courier": False}
    )
    assert recorded.status == 200 and recorded.json()["state"] == "cancelled"
    order.refresh_from_db()
    assert order.status == "processing"

    second = book(order, staff)
    assert second.status == 201 and second.json()["id"] != first["id"]
    label = couriers_admin("GET", f"/consignments/{second.json()['id']}/label", staff).json()
    assert label["tracking_code"] == second.json()["tracking_code"]
    assert label["recipient_phone"] == "01812345678"
    assert label["cod_amount"]["amount"] == "260.00"
    assert "Savar" in label["recipient_address"]


def test_the_consignment_list_costs_the_same_queries_for_one_or_many(sim, person):
    staff = person()
    book(packed(), staff)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert couriers_admin("GET", "/consignments?courier=steadfast", staff).status == 200
        return len(captured)

    one = queries()
    for _ in range(3):
        book(packed(), staff)
    assert queries() == one
    page = couriers_admin("GET", "/consignments?state=booked&page_size=2", staff).json()
    assert (page["count"], len(page["items"]), page["pages"]) == (4, 2, 2)


# --- the poll cron -------------------------------------------------------------------------


def cron(headers: dict | None = None):
    return call(api.cron_couriers.app, "GET", "/api/cron/couriers", headers=headers or {})


def test_the_poll_cron_applies_what_webhooks_missed_and_one_failure_stops_nothing(sim, person):
    staff = person()
    order = packed()
    consignment = Consignment.objects.get(pk=book(order, staff).json()["id"])
    lost = Consignment.objects.create(
        order=packed(), courier="steadfast", consignment_id="999999", state="booked"
    )
    httpx.post(
        f"{sim.url}/__sim/parcels/{consignment.consignment_id}/advance",
        json={"status": "delivered"},
        timeout=10,
    ).raise_for_status()  # no webhook configured: only a poll can tell
    assert cron().status == 401
    assert cron({"Authorization": "Bearer test-cron-secret"}).json()["checked"] == 0  # recent

    hours_ago = timezone.now() - timedelta(hours=4)
    Consignment.objects.filter(pk__in=[consignment.pk, lost.pk]).update(created_at=hours_ago)
    run = cron({"Authorization": "Bearer test-cron-secret"}).json()

    assert run == {
        "job": "couriers-poll",
        "ran": True,
        "reason": None,
        "checked": 2,
        "updated": 1,
        "unchanged": 0,
        "errors": 1,
        "unconfirmed": 0,
    }
    order.refresh_from_db()
    consignment.refresh_from_db()
    assert (order.status, consignment.state) == ("delivered", "delivered")
    assert consignment.events.filter(source="poll").count() == 1
    assert cron({"Authorization": "Bearer test-cron-secret"}).json()["checked"] == 0


# --- payouts -----------------------------------------------------------------------------


def test_payouts_fetched_and_typed_in_reconcile_against_the_cash(sim, person):
    staff = person()
    orders = [packed() for _ in range(3)]
    ids = [book(order, staff).json() for order in orders]
    for row in ids:
        couriers_admin("POST", f"/consignments/{row['id']}/refresh", staff)  # nothing new yet
        httpx.post(
            f"{sim.url}/__sim/parcels/{row['consignment_id']}/advance",
            json={"status": "delivered"},
            timeout=10,
        ).raise_for_status()
        assert couriers_admin("POST", f"/consignments/{row['id']}/refresh", staff).json()[
            "state"
        ] == ("delivered")
    first = ids[0]["consignment_id"]
    httpx.post(
        f"{sim.url}/__sim/payouts", json={"adjust": {first: "250.00"}}, timeout=10
    ).raise_for_status()

    fetched = couriers_admin("POST", "/payouts/fetch", staff, {"courier": "steadfast"})
    assert fetched.status == 200 and fetched.json()["recorded"] == 1
    assert (
        couriers_admin("POST", "/payouts/fetch", staff, {"courier": "steadfast"}).json()["recorded"]
        == 0
    )

    statement = {
        "courier": "steadfast",
        "reference": "STMT-9",
        "amount": "10.00",
        "lines": [{"consignment_id": "424242", "amount": "10.00"}],
    }
    assert couriers_admin("POST", "/payouts", staff, statement).status == 201
    assert couriers_admin("POST", "/payouts", staff, statement).status == 200
    listed = couriers_admin("GET", "/payouts?courier=steadfast", staff).json()
    assert listed["count"] == 2

    report = couriers_admin("GET", "/reconciliation?courier=steadfast", staff).json()
    assert report["unpaid"] == []
    assert [
        (r["consignment_id"], r["collected"]["amount"], r["paid_out"]["amount"])
        for r in report["mismatched"]
    ] == [(first, "260.00", "250.00")]
    assert [r["consignment_id"] for r in report["unknown"]] == ["424242"]
    assert report["collected_total"]["amount"] == "780.00"

    with CaptureQueriesContext(connection) as two_payouts:
        couriers_admin("GET", "/payouts", staff)
    for n in range(3):
        couriers_admin("POST", "/payouts", staff, {**statement, "reference": f"STMT-X{n}"})
    with CaptureQueriesContext(connection) as five_payouts:
        assert couriers_admin("GET", "/payouts", staff).json()["count"] == 5
    assert len(five_payouts) == len(two_payouts)


# --- the webhook handler's refusals ----------------------------------------------------------


def test_a_forged_or_broken_webhook_stores_nothing(sim, person):
    order = packed()
    cid = book(order, person()).json()["consignment_id"]
    payload = {
        "notification_type": "delivery_status",
        "consignment_id": int(cid),
        "invoice": order.number,
        "status": "delivered",
        "cod_amount": 260,
        "updated_at": "2026-12-05 12:00:00",
    }

    def post(headers: dict, body=None):
        return call(
            api.webhooks.steadfast.app,
            "POST",
            "/api/webhooks/steadfast",
            body=body,
            json_body=payload if body is None else None,
            headers=headers,
        )

    forged = post({"Authorization": "Bearer not-the-token"})
    missing = post({})
    broken = post({"Authorization": f"Bearer {sim_module.WEBHOOK_TOKEN}"}, body="{not json")
    assert (forged.status, missing.status, broken.status) == (401, 401, 400)
    assert forged.json()["error"]["code"] == "webhook_unauthenticated"
    assert broken.json()["error"]["code"] == "malformed_json"
    assert ConsignmentEvent.objects.filter(source="webhook").count() == 0
    order.refresh_from_db()
    assert order.status == "processing"
    wrong_method = call(api.webhooks.steadfast.app, "GET", "/api/webhooks/steadfast")
    assert wrong_method.status == 405
