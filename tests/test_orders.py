"""Order status changes, customer and guest order pages, and the staff and vendor console."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import api.orders
from db.models import (
    Order,
    OrderItem,
    OrderStatus,
    OrderStatusEvent,
    OutboxMessage,
    Product,
    StockAdjustment,
    User,
    Vendor,
    VendorMember,
)
from lib.errors import ApiError
from lib.orders.notifications import order_notify
from lib.orders.state import TRANSITIONS, order_transition
from lib.outbox import outbox_dispatch
from tests import factories
from tests.support import call

pytestmark = pytest.mark.django_db

_numbers = itertools.count(1)
STATUSES = [status.value for status in OrderStatus]
NOT_SHIPPED = {"placed", "awaiting_payment", "on_hold", "paid", "processing"}
PHONE = "+8801712345678"


@pytest.fixture
def person(server_key):
    def person(role: str = "customer", *, language: str = "en", vendor: Vendor | None = None):
        user = User.objects.create_user(
            email=f"{role}-{next(_numbers)}@shop.test",
            password=None,
            role=role,
            full_name="Karim Ahmed",
            preferred_language=language,
        )
        if vendor is not None:
            VendorMember.objects.create(vendor=vendor, user=user)
        from lib.access.sessions import session_start

        tokens = session_start(user=user, ip="127.0.0.1", user_agent="test")
        return user, {**server_key, "Authorization": f"Bearer {tokens.access_token}"}

    return person


def vendor() -> Vendor:
    n = next(_numbers)
    return Vendor.objects.create(name=f"Vendor {n}", slug=f"vendor-{n}", status="active")


def make_order(
    user: User | None = None,
    *,
    status: str = "placed",
    quantity: int = 2,
    items: int = 1,
    seller: Vendor | None = None,
    **fields,
) -> Order:
    """An order whose units are allocated (until shipped), as placement leaves it."""
    order = Order.objects.create(
        number=f"ZS-T-{next(_numbers):06d}",
        user=user,
        status=status,
        payment_method=fields.pop("payment_method", "cod"),
        subtotal=Decimal("200.00") * items,
        total_amount=Decimal("260.00") * items,
        **fields,
    )
    category = factories.category()
    for _ in range(items):
        product = factories.product(category=category, vendor=seller)
        if status in NOT_SHIPPED:
            Product.objects.filter(pk=product.pk).update(allocated=quantity)
        OrderItem.objects.create(
            order=order,
            product=product,
            vendor=seller,
            product_name=product.name_en,
            product_name_bn=product.name_bn,
            sku=product.sku,
            quantity=quantity,
            unit_price=Decimal("100.00"),
            total_price=Decimal("100.00") * quantity,
        )
    return order


def stock(order: Order) -> tuple[int, int]:
    product = order.items.get().product
    product.refresh_from_db()
    return product.quantity, product.allocated


def send(method: str, url: str, **kwargs):
    return call(api.orders.app, method, url, **kwargs)


# --- the state machine -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("from_status", "to_status"),
    [(a, b) for a in STATUSES for b in STATUSES],
)
def test_every_pair_of_statuses(from_status, to_status):
    customer = User.objects.create_user(email=f"c{next(_numbers)}@shop.test", password=None)
    order = make_order(customer, status=from_status)
    allowed = to_status in TRANSITIONS[from_status]
    if allowed:
        order_transition(order=order, to_status=to_status, note="ok")
        order.refresh_from_db()
        assert order.status == to_status
        event = OrderStatusEvent.objects.get(order=order)
        assert (event.from_status, event.to_status, event.note) == (from_status, to_status, "ok")
        assert OutboxMessage.objects.filter(dedupe_key__startswith=f"order:{order.pk}:").count()
    else:
        with pytest.raises(ApiError) as caught:
            order_transition(order=order, to_status=to_status)
        assert caught.value.status_code == 409
        assert caught.value.code == "transition_forbidden"
        assert caught.value.fields == {"from_status": [from_status], "to_status": [to_status]}
        order.refresh_from_db()
        assert order.status == from_status
        assert not OrderStatusEvent.objects.filter(order=order).exists()
        assert not OutboxMessage.objects.exists()
        assert stock(order) == (10, 2 if from_status in NOT_SHIPPED else 0)


def test_final_statuses_have_no_way_out():
    assert TRANSITIONS["cancelled"] == frozenset()
    assert TRANSITIONS["refunded"] == frozenset()
    assert set(TRANSITIONS) == set(STATUSES)


def test_payment_status_follows_paid_and_refunded():
    order = make_order(status="awaiting_payment", payment_method="bkash", payment_status="pending")
    order_transition(order=order, to_status="paid")
    order.refresh_from_db()
    assert order.payment_status == "paid"
    order_transition(order=order, to_status="refunded")
    order.refresh_from_db()
    assert order.payment_status == "refunded"
    cod = make_order(status="out_for_delivery")
    order_transition(order=cod, to_status="delivered")
    cod.refresh_from_db()
    assert cod.payment_status == "paid"


# --- stock -----------------------------------------------------------------------------


def test_customer_cancel_returns_the_allocated_stock(person):
    user, headers = person()
    order = make_order(user, status="paid", quantity=3)
    assert stock(order) == (10, 3)
    response = send(
        "POST",
        f"/api/v1/orders/{order.number}/cancel",
        json_body={"note": "Changed my mind"},
        headers=headers,
    )
    assert response.status == 200, response.body
    body = response.json()
    assert body["status"] == "cancelled"
    assert [entry["status"] for entry in body["timeline"]] == ["paid", "cancelled"]
    assert body["timeline"][-1]["note"] == "Changed my mind"
    assert stock(order) == (10, 0)
    event = OrderStatusEvent.objects.get(order=order)
    assert str(event.actor_id) == str(user.pk)


def test_shipping_takes_the_units_off_the_shelf(person):
    staff, headers = person("staff")
    order = make_order(status="processing", quantity=2)
    response = send(
        "POST",
        f"/api/v1/admin/orders/{order.number}/transition",
        json_body={"to_status": "shipped", "note": "Handed to Pathao"},
        headers=headers,
    )
    assert response.status == 200, response.body
    assert stock(order) == (8, 0)
    adjustment = StockAdjustment.objects.get(product=order.items.get().product)
    assert (adjustment.delta, adjustment.reason) == (-2, "sold")
    event = OrderStatusEvent.objects.get(order=order)
    assert (event.actor_id, event.note, event.to_status) == (
        staff.pk,
        "Handed to Pathao",
        "shipped",
    )
    assert event.created_at is not None


def test_forbidden_transition_over_the_api_is_409_and_writes_nothing(person):
    _, headers = person("staff")
    order = make_order(status="placed")
    response = send(
        "POST",
        f"/api/v1/admin/orders/{order.number}/transition",
        json_body={"to_status": "delivered"},
        headers={**headers, "Accept-Language": "bn"},
    )
    assert response.status == 409
    error = response.json()["error"]
    assert error["code"] == "transition_forbidden"
    assert error["fields"] == {"from_status": ["placed"], "to_status": ["delivered"]}
    assert "অর্ডার" in error["message"]
    assert not OrderStatusEvent.objects.exists()
    assert not OutboxMessage.objects.exists()


# --- customers -------------------------------------------------------------------------


def test_customer_sees_only_their_own_orders(person):
    user, headers = person()
    mine = [make_order(user) for _ in range(3)]
    other, _ = person()
    theirs = make_order(other)
    response = send("GET", "/api/v1/orders?page_size=2", headers=headers)
    assert response.status == 200
    body = response.json()
    assert body["count"] == 3
    assert [item["number"] for item in body["items"]] == [mine[2].number, mine[1].number]
    assert body["items"][0]["total"]["display"] == "৳260.00"
    assert send("GET", f"/api/v1/orders/{theirs.number}", headers=headers).status == 404
    cancel = send("POST", f"/api/v1/orders/{theirs.number}/cancel", headers=headers)
    assert cancel.status == 404
    theirs.refresh_from_db()
    assert theirs.status == "placed"


def test_order_detail_in_bangla(person):
    user, headers = person(language="bn")
    order = make_order(user, status="processing")
    response = send(
        "GET", f"/api/v1/orders/{order.number}", headers={**headers, "Accept-Language": "bn"}
    )
    assert response.status == 200
    body = response.json()
    assert body["status_label"] == "প্রস্তুত করা হচ্ছে"
    assert body["total_amount"]["display"] == "৳২৬০.০০"
    assert body["items"][0]["name"].startswith("পণ্য")
    assert body["timeline"][0]["status"] == "processing"


def test_customer_cannot_cancel_after_shipment(person):
    user, headers = person()
    order = make_order(user, status="shipped")
    response = send("POST", f"/api/v1/orders/{order.number}/cancel", headers=headers)
    assert response.status == 409
    assert response.json()["error"]["code"] == "transition_forbidden"
    order.refresh_from_db()
    assert order.status == "shipped"


def test_customers_cannot_use_the_console(person):
    user, headers = person()
    order = make_order(user, status="placed")
    assert send("GET", "/api/v1/admin/orders", headers=headers).status == 403
    response = send(
        "POST",
        f"/api/v1/admin/orders/{order.number}/transition",
        json_body={"to_status": "cancelled"},
        headers=headers,
    )
    assert response.status == 403


# --- guest tracking ----------------------------------------------------------------------


def test_guest_tracks_an_order_by_number_and_phone(server_key):
    order = make_order(status="placed", guest_phone=PHONE, guest_email="guest@shop.test")
    order_transition(order=order, to_status="processing")
    response = send(
        "POST",
        "/api/v1/orders/track",
        json_body={"number": order.number, "phone": "01712-345678"},
        headers=server_key,
    )
    assert response.status == 200, response.body
    body = response.json()
    assert [entry["status"] for entry in body["timeline"]] == ["placed", "processing"]
    assert body["shipping_address"] == {}

    wrong = send(
        "POST",
        "/api/v1/orders/track",
        json_body={"number": order.number, "phone": "01812345678"},
        headers=server_key,
    )
    missing = send(
        "POST",
        "/api/v1/orders/track",
        json_body={"number": "ZS-NOPE", "phone": "01712345678"},
        headers=server_key,
    )
    junk = send(
        "POST",
        "/api/v1/orders/track",
        json_body={"number": order.number, "phone": "hello"},
        headers=server_key,
    )
    assert wrong.status == missing.status == junk.status == 404
    assert wrong.json()["error"]["code"] == missing.json()["error"]["code"] == "not_found"


def test_tracking_needs_an_api_key():
    order = make_order(guest_phone=PHONE)
    response = send(
        "POST", "/api/v1/orders/track", json_body={"number": order.number, "phone": PHONE}
    )
    assert response.status == 401


# --- vendors and support -----------------------------------------------------------------


def test_vendor_moves_only_its_own_orders_through_fulfilment(person):
    mine, other = vendor(), vendor()
    _, headers = person("vendor_staff", vendor=mine)
    own = make_order(status="processing", seller=mine)
    foreign = make_order(status="processing", seller=other)

    def move(order, to_status):
        return send(
            "POST",
            f"/api/v1/admin/orders/{order.number}/transition",
            json_body={"to_status": to_status},
            headers=headers,
        )

    for to_status in ("shipped", "out_for_delivery", "delivered"):
        assert move(own, to_status).status == 200
    assert move(foreign, "shipped").status == 404
    foreign.refresh_from_db()
    assert foreign.status == "processing"
    listing = send("GET", "/api/v1/admin/orders", headers=headers).json()
    assert [item["number"] for item in listing["items"]] == [own.number]

    cancellable = make_order(status="processing", seller=mine)
    assert move(cancellable, "cancelled").status == 403
    assert move(cancellable, "refunded").status == 409


def test_vendor_cannot_move_an_order_shared_with_another_vendor(person):
    mine, other = vendor(), vendor()
    _, headers = person("vendor_owner", vendor=mine)
    order = make_order(status="processing", seller=mine)
    extra = factories.product(category=factories.category(), vendor=other)
    OrderItem.objects.create(
        order=order,
        product=extra,
        vendor=other,
        product_name="x",
        sku=extra.sku,
        quantity=1,
        unit_price=Decimal("1.00"),
        total_price=Decimal("1.00"),
    )
    response = send(
        "POST",
        f"/api/v1/admin/orders/{order.number}/transition",
        json_body={"to_status": "shipped"},
        headers=headers,
    )
    assert response.status == 403
    detail = send("GET", f"/api/v1/admin/orders/{order.number}", headers=headers).json()
    assert [item["vendor_id"] for item in detail["items"]] == [str(mine.pk)]


def test_support_reads_but_does_not_move_orders(person):
    _, headers = person("support")
    order = make_order(status="placed")
    listing = send("GET", "/api/v1/admin/orders?status=placed", headers=headers)
    assert listing.status == 200
    assert [item["number"] for item in listing.json()["items"]] == [order.number]
    response = send(
        "POST",
        f"/api/v1/admin/orders/{order.number}/transition",
        json_body={"to_status": "processing"},
        headers=headers,
    )
    assert response.status == 403


def test_console_filters(person):
    _, headers = person("staff")
    seller = vendor()
    placed = make_order(status="placed", seller=seller)
    make_order(status="processing")
    by_vendor = send("GET", f"/api/v1/admin/orders?vendor={seller.pk}", headers=headers).json()
    assert [item["number"] for item in by_vendor["items"]] == [placed.number]
    by_status = send("GET", "/api/v1/admin/orders?status=processing", headers=headers).json()
    assert by_status["count"] == 1
    today = timezone.localdate(placed.placed_at).isoformat()
    dated = send("GET", f"/api/v1/admin/orders?date_from={today}&date_to={today}", headers=headers)
    assert dated.json()["count"] == 2
    assert (
        send("GET", "/api/v1/admin/orders?date_to=2000-01-01", headers=headers).json()["count"] == 0
    )


# --- notifications -----------------------------------------------------------------------


def test_one_email_per_transition_in_the_customers_language(mailoutbox):
    user = User.objects.create_user(
        email="bangla@shop.test", password=None, preferred_language="bn"
    )
    order = make_order(user, status="placed")
    order_transition(order=order, to_status="processing")
    order_transition(order=order, to_status="shipped", note="Tracking 123")
    event = OrderStatusEvent.objects.filter(order=order).last()
    order_notify(order, event)  # a repeated hook is dropped by its dedupe key
    assert outbox_dispatch() == 2
    assert outbox_dispatch() == 0
    assert len(mailoutbox) == 2
    first, second = mailoutbox
    assert first.to == ["bangla@shop.test"]
    assert first.subject.startswith("অর্ডার")
    assert "প্রস্তুত করা হচ্ছে" in first.body and "Processing" not in first.body
    assert "পাঠানো হয়েছে" in second.subject and "Tracking 123" in second.body


def test_guest_orders_email_the_guest_and_silent_changes_send_nothing(mailoutbox):
    order = make_order(status="placed", guest_email="guest@shop.test", guest_phone=PHONE)
    order_transition(order=order, to_status="on_hold", notify=False)
    order_transition(order=order, to_status="placed")
    outbox_dispatch()
    assert [message.to for message in mailoutbox] == [["guest@shop.test"]]
    assert mailoutbox[0].subject.startswith("Order")


# --- query counts ------------------------------------------------------------------------


def queries(method: str, url: str, headers) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert send(method, url, headers=headers).status == 200
    return len(captured)


def test_list_and_detail_query_counts_do_not_grow(person):
    user, headers = person()
    small = make_order(user, items=1)
    order_transition(order=small, to_status="processing")
    list_one = queries("GET", "/api/v1/orders", headers)
    detail_one = queries("GET", f"/api/v1/orders/{small.number}", headers)
    big = make_order(user, items=4)
    order_transition(order=big, to_status="processing")
    order_transition(order=big, to_status="shipped")
    for _ in range(3):
        make_order(user)
    assert queries("GET", "/api/v1/orders", headers) == list_one
    assert queries("GET", f"/api/v1/orders/{big.number}", headers) == detail_one

    _, staff_headers = person("staff")
    console_small = queries("GET", "/api/v1/admin/orders?page_size=1", staff_headers)
    assert queries("GET", "/api/v1/admin/orders", staff_headers) == console_small
