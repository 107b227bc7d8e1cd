"""The Django admin per role: who signs in, what each role may open (every registered model,
so models added later are covered too), vendors kept to their own rows, sign-in limits,
CSRF, and the audit trail of every change."""

from __future__ import annotations

import sys
import types
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import path, reverse

from db.models import (
    OutboxMessage,
    Product,
    StockAdjustment,
    User,
    UserRole,
    Vendor,
    VendorMember,
)
from lib.access.admin_permissions import (
    ADMIN_ROLES,
    PERMISSION_GRANTS,
    ROLE_EXTRA_GRANTS,
    model_actions,
    model_area,
    role_admin_permissions,
)
from lib.money import format_bdt
from lib.outbox import outbox_dispatch
from tests import factories

pytestmark = pytest.mark.django_db

admin_urls = types.ModuleType("zest_test_admin_site_urls")
admin_urls.urlpatterns = [path("admin/", admin.site.urls)]
sys.modules[admin_urls.__name__] = admin_urls
PASSWORD = "Correct-Horse-Battery-9"


@pytest.fixture(autouse=True)
def admin_function(settings):
    """Requests go through the admin function's own middleware and URLs."""
    settings.ROOT_URLCONF = admin_urls.__name__
    settings.MIDDLEWARE = django_settings.ADMIN_MIDDLEWARE


@pytest.fixture
def vendors():
    return (
        Vendor.objects.create(name="Aarong", slug="aarong"),
        Vendor.objects.create(name="Yellow", slug="yellow"),
    )


def person(role: str, vendor: Vendor | None = None, **fields) -> User:
    user = User.objects.create_user(
        email=f"{role}-{User.objects.count()}@zest.test", password=PASSWORD, role=role, **fields
    )
    if vendor is not None:
        VendorMember.objects.create(vendor=vendor, user=user)
    return user


@pytest.fixture
def team(vendors):
    """One account per role; the vendor team works for the first vendor."""
    own, _ = vendors
    return {
        "admin": person(UserRole.ADMIN),
        "staff": person(UserRole.STAFF),
        "support": person(UserRole.SUPPORT),
        "vendor_owner": person(UserRole.VENDOR_OWNER, own),
        "vendor_staff": person(UserRole.VENDOR_STAFF, own),
        "customer": person(UserRole.CUSTOMER),
    }


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- the mapping ---------------------------------------------------------------------------


def test_roles_map_to_model_permissions():
    staff = role_admin_permissions(UserRole.STAFF)
    assert {"db.change_product", "db.change_order", "db.add_discount", "db.view_payment"} <= staff
    assert {"db.change_payment", "db.view_outboxmessage", "db.view_apikey"}.isdisjoint(staff)
    support = role_admin_permissions(UserRole.SUPPORT)
    assert {"db.view_order", "db.view_user", "db.moderate_reviews"} <= support
    assert {"db.change_order", "db.view_product", "db.change_user"}.isdisjoint(support)
    vendor = role_admin_permissions(UserRole.VENDOR_STAFF)
    assert {"db.change_product", "db.add_productimage", "db.view_orderitem"} <= vendor
    assert {"db.view_category", "db.view_order", "db.view_vendor"}.isdisjoint(vendor)
    assert role_admin_permissions(UserRole.CUSTOMER) == frozenset()
    assert "db.delete_outboxmessage" in role_admin_permissions(UserRole.ADMIN)


def test_models_no_grant_names_are_denied_to_every_role_but_admin():
    from django.apps import apps

    named = set()
    for grants in [*PERMISSION_GRANTS.values(), *ROLE_EXTRA_GRANTS.values()]:
        named |= set(grants)
    unnamed = [
        model
        for model in apps.get_models()
        if model._meta.model_name not in named and model_area(model) not in named
    ]
    assert unnamed, "some models (the outbox, API keys...) belong to administrators only"
    for role in ADMIN_ROLES - {UserRole.ADMIN}:
        for model in unnamed:
            assert model_actions(role, model) == frozenset(), (role, model)


# --- every registered model, every role -----------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "staff", "support", "vendor_owner", "vendor_staff"])
def test_every_registered_model_opens_exactly_for_the_roles_granted_it(team, role, rf):
    user = team[role]
    client = signed_in(user)
    request = rf.get("/admin/")
    request.user = user
    for model, model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        may_view = model_admin.has_view_or_change_permission(request)
        assert may_view == bool(model_actions(user.role, model) & {"view", "change"}), info
        # (a one-row model's list may lead to its one row)
        listed = client.get(reverse("admin:{}_{}_changelist".format(*info)), follow=True)
        assert listed.status_code == (200 if may_view else 403), (role, info)
        added = client.get(reverse("admin:{}_{}_add".format(*info)), follow=True)
        may_add = model_admin.has_add_permission(request)
        assert added.status_code == (200 if may_add else 403), (role, info)


EXPECTED = {
    "staff": {"product": 200, "order": 200, "discount": 200, "payment": 200, "outboxmessage": 403},
    "support": {"order": 200, "user": 200, "product": 403, "payment": 403, "discount": 403},
    "vendor_owner": {"product": 200, "orderitem": 200, "category": 403, "order": 403},
    "vendor_staff": {"productvariation": 200, "stockadjustment": 200, "user": 403},
}


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_each_role_opens_its_pages_and_not_others(team, role):
    client = signed_in(team[role])
    assert client.get("/admin/").status_code == 200
    for name, status in EXPECTED[role].items():
        assert client.get(f"/admin/db/{name}/").status_code == status, name


def test_a_customer_or_a_disabled_account_cannot_sign_in(team, kv):
    for user in (team["customer"], person(UserRole.STAFF, is_active=False)):
        client = Client()
        page = client.post("/admin/login/", {"username": user.email, "password": PASSWORD})
        assert page.status_code == 200
        assert "store or vendor team account" in page.content.decode()
        assert client.get("/admin/").status_code == 302  # back to the sign-in page
    client = signed_in(team["customer"])  # even holding a session
    assert client.get("/admin/").status_code == 302


def test_staff_signs_in_with_a_password(team, kv):
    client = Client()
    page = client.post(
        "/admin/login/?next=/admin/", {"username": team["staff"].email, "password": PASSWORD}
    )
    assert page.status_code == 302
    assert client.get("/admin/db/product/").status_code == 200


def test_sign_in_is_limited_per_ip_and_per_email(team, kv):
    limit = 10  # RATE_LIMIT_SENSITIVE: 10 per minute
    email = team["staff"].email
    client = Client()
    attempts, throttled = 0, False
    while not throttled:
        attempts += 1
        page = client.post("/admin/login/", {"username": email, "password": "wrong"})
        throttled = "Too many sign-in attempts" in page.content.decode()
        # A sliding window: across a minute boundary the last window weighs less, so the
        # refusal may come a little later, never sooner.
        assert attempts <= 2 * limit
    assert attempts > limit
    page = client.post("/admin/login/", {"username": email, "password": PASSWORD})
    assert "Too many sign-in attempts" in page.content.decode()
    assert "_auth_user_id" not in client.session  # the right password does not get through
    # Another address trying the same email is held back too; another email from elsewhere
    # is not.
    other = Client(REMOTE_ADDR="10.9.8.7")
    held = other.post("/admin/login/", {"username": email.upper(), "password": PASSWORD})
    assert "Too many sign-in attempts" in held.content.decode()
    free = other.post("/admin/login/", {"username": team["admin"].email, "password": PASSWORD})
    assert free.status_code == 302


def test_sign_in_needs_the_csrf_token(team, kv):
    client = Client(enforce_csrf_checks=True)
    page = client.post("/admin/login/", {"username": team["staff"].email, "password": PASSWORD})
    assert page.status_code == 403


def test_staff_cannot_raise_anyones_role(team):
    client = signed_in(team["staff"])
    customer = team["customer"]
    page = client.get(f"/admin/db/user/{customer.pk}/change/")
    assert page.status_code == 200
    form = page.context["adminform"].form
    assert "role" not in form.fields and "is_superuser" not in form.fields
    # Nor take over an account of the team: its page is read-only, its password theirs.
    admin_user = team["admin"]
    opened = client.get(f"/admin/db/user/{admin_user.pk}/change/")
    assert opened.status_code == 200 and opened.context["has_change_permission"] is False
    assert client.get(f"/admin/db/user/{admin_user.pk}/password/").status_code == 403
    client.post(f"/admin/db/user/{admin_user.pk}/change/", {"email": "mine@zest.test"})
    admin_user.refresh_from_db()
    assert admin_user.email != "mine@zest.test"
    assert (
        signed_in(team["admin"]).get(f"/admin/db/user/{customer.pk}/password/").status_code == 200
    )


# --- vendors see their own rows -------------------------------------------------------------


@pytest.fixture
def catalog(vendors):
    own, other = vendors
    category = factories.category()
    return {
        "own": factories.product(category=category, vendor=own, name_en="Nakshi Kantha"),
        "other": factories.product(category=category, vendor=other, name_en="Jamdani Saree"),
        "store": factories.product(category=category, name_en="Store Tea"),
        "category": category,
    }


@pytest.mark.parametrize("role", ["vendor_owner", "vendor_staff"])
def test_a_vendor_lists_and_opens_only_their_own_products(team, catalog, role):
    client = signed_in(team[role])
    listed = client.get("/admin/db/product/").content.decode()
    assert "Nakshi Kantha" in listed
    assert "Jamdani Saree" not in listed and "Store Tea" not in listed
    assert client.get(f"/admin/db/product/{catalog['own'].pk}/change/").status_code == 200
    stranger = client.get(f"/admin/db/product/{catalog['other'].pk}/change/")
    assert stranger.status_code == 302  # "does not exist", back to the index
    images = client.get("/admin/db/productimage/").context["cl"].result_list
    assert {image.product_id for image in images} == {catalog["own"].pk}


def test_a_product_saved_by_a_vendor_is_theirs(team, catalog, vendors):
    own, other = vendors
    client = signed_in(team["vendor_owner"])
    form = client.get("/admin/db/product/add/").context["adminform"].form
    assert list(form.fields["vendor"].queryset) == [own]
    fields = {
        "category": str(catalog["category"].pk),
        "name_en": "Clay Pot",
        "name_bn": "মাটির হাঁড়ি",
        "slug": "clay-pot",
        "sku": "CLAY-1",
        "price": "350.00",
        "quantity": "0",
        "low_stock_threshold": "3",
        "tags": "[]",
        "images-TOTAL_FORMS": "0",
        "images-INITIAL_FORMS": "0",
        "variations-TOTAL_FORMS": "0",
        "variations-INITIAL_FORMS": "0",
    }
    # Another vendor's: refused by the form.
    response = client.post("/admin/db/product/add/", {**fields, "vendor": str(other.pk)})
    assert response.status_code == 200
    assert "vendor" in response.context["adminform"].form.errors
    assert not Product.objects.filter(slug="clay-pot").exists()
    # None (a store product): saved as theirs.
    saved = client.post("/admin/db/product/add/", {**fields, "vendor": ""})
    assert saved.status_code == 302
    assert Product.objects.get(slug="clay-pot").vendor == own


# --- stock adjustments ------------------------------------------------------------------------


def test_stock_is_adjusted_through_the_inventory_service_with_a_reason(team, catalog):
    client = signed_in(team["staff"])
    product = catalog["store"]
    before = product.quantity
    missing = client.post(
        "/admin/db/stockadjustment/add/", {"product": str(product.pk), "delta": "5"}
    )
    assert missing.status_code == 200 and "reason" in missing.context["adminform"].form.errors
    added = client.post(
        "/admin/db/stockadjustment/add/",
        {"product": str(product.pk), "delta": "5", "reason": "received", "note": "truck 7"},
    )
    assert added.status_code == 302
    product.refresh_from_db()
    assert product.quantity == before + 5
    row = StockAdjustment.objects.get(product=product)
    assert (row.delta, row.quantity_after, row.actor) == (5, before + 5, team["staff"])
    too_many = client.post(
        "/admin/db/stockadjustment/add/",
        {"product": str(product.pk), "delta": str(-(before + 6)), "reason": "damaged"},
    )
    assert too_many.status_code == 200
    assert too_many.context["adminform"].form.non_field_errors()
    product.refresh_from_db()
    assert product.quantity == before + 5


def test_a_vendor_cannot_adjust_another_vendors_stock(team, catalog):
    client = signed_in(team["vendor_staff"])
    response = client.post(
        "/admin/db/stockadjustment/add/",
        {"product": str(catalog["other"].pk), "delta": "5", "reason": "received"},
    )
    assert response.status_code == 200
    assert "product" in response.context["adminform"].form.errors
    assert not StockAdjustment.objects.exists()


# --- the audit trail --------------------------------------------------------------------------


def test_every_admin_change_and_action_is_audited(team, catalog, documents, monkeypatch):
    monkeypatch.setattr("lib.documents.get_documents_db", lambda: documents)
    client = signed_in(team["staff"])
    product = catalog["store"]
    client.post(
        "/admin/db/product/",
        {"action": "deactivate", "_selected_action": [str(product.pk)]},
    )
    product.refresh_from_db()
    assert product.is_active is False
    entry = LogEntry.objects.get(object_id=str(product.pk))
    assert (entry.user, entry.change_message) == (team["staff"], "Action: deactivate")
    topics = list(OutboxMessage.objects.values_list("topic", flat=True))
    assert topics == ["activity.record"]
    outbox_dispatch()
    document = documents.user_activity.find_one({"user_id": str(team["staff"].pk)})
    assert document["activity_type"] == "admin_action"
    assert document["details"]["action"] == "deactivate"
    assert document["details"]["object_ids"] == [str(product.pk)]
    assert document["details"]["model"] == "db.product"


# --- orders: status moves, refund, invoice ----------------------------------------------------

from tests import payment_shop  # noqa: E402
from tests.payment_shop import (  # noqa: E402
    order_place,
    payment_start_http,
    press_pay,
    shop_product,
    webhook_follow,
)

bkash, people = payment_shop.bkash, payment_shop.people  # fixtures


def bkash_paid_order(customer: dict[str, str]):
    """A customer's order paid on the bKash simulator's page, settled by its webhook."""
    import api.webhooks.bkash
    from db.models import Order, Payment

    order = order_place(shop_product("445.00"), customer, "bkash")
    started = payment_start_http(order, customer, f"pay-{order.number}")
    assert started.status == 200, started.body
    returned = webhook_follow(api.webhooks.bkash.app, press_pay(started.json()["redirect_url"]))
    assert returned.status == 302, returned.body
    return Order.objects.get(pk=order.pk), Payment.objects.get(pk=started.json()["payment_id"])


def test_staff_advance_then_cancel_orders_through_the_state_machine(team, bkash, people):
    customer, _ = people
    order, _ = bkash_paid_order(customer)
    product = order.items.get().product
    assert product.allocated == 1
    client = signed_in(team["staff"])

    client.post("/admin/db/order/", {"action": "advance_status", "_selected_action": [order.pk]})
    order.refresh_from_db()
    assert order.status == "processing"
    event = order.status_events.order_by("-created_at").first()
    assert (event.from_status, event.to_status, event.actor) == (
        "paid",
        "processing",
        team["staff"],
    )
    assert LogEntry.objects.filter(object_id=str(order.pk), change_message="Action: advance_status")

    client.post("/admin/db/order/", {"action": "cancel_orders", "_selected_action": [order.pk]})
    order.refresh_from_db()
    product.refresh_from_db()
    assert (order.status, product.allocated) == ("cancelled", 0)  # the unit is back on sale
    again = client.post(
        "/admin/db/order/",
        {"action": "advance_status", "_selected_action": [order.pk]},
        follow=True,
    )
    assert "Not allowed from their status" in again.content.decode()
    order.refresh_from_db()
    assert order.status == "cancelled"


def test_the_status_field_offers_only_allowed_moves(team, bkash, people):
    customer, _ = people
    order, _ = bkash_paid_order(customer)
    client = signed_in(team["staff"])
    form = client.get(f"/admin/db/order/{order.pk}/change/").context["adminform"].form
    offered = {value for value, _label in form.fields["status"].choices}
    assert offered == {"paid", "processing", "refunded", "cancelled"}


def test_support_sees_orders_but_cannot_move_or_refund_them(team, bkash, people):
    customer, _ = people
    order, _ = bkash_paid_order(customer)
    client = signed_in(team["support"])
    assert client.get(f"/admin/db/order/{order.pk}/change/").status_code == 200
    client.post("/admin/db/order/", {"action": "cancel_orders", "_selected_action": [order.pk]})
    order.refresh_from_db()
    assert order.status == "paid"
    assert client.get(f"/admin/db/order/{order.pk}/refund/").status_code == 403


def test_staff_refund_an_order_at_bkash_once_per_form(team, bkash, people):
    customer, _ = people
    order, payment = bkash_paid_order(customer)
    client = signed_in(team["staff"])
    page = client.get(f"/admin/db/order/{order.pk}/refund/")
    assert page.status_code == 200
    form = page.context["form"]
    assert form.initial["amount"] == payment.amount
    body = {
        "payment": str(payment.pk),
        "amount": str(payment.amount),
        "reason": "damaged in transit",
        "idempotency_key": form.initial["idempotency_key"],
    }

    done = client.post(f"/admin/db/order/{order.pk}/refund/", body)
    again = client.post(f"/admin/db/order/{order.pk}/refund/", body)  # sent twice

    assert done.status_code == again.status_code == 302
    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("refunded", "refunded")
    refunds = bkash.sim.payments[payment.transaction_id]["refunds"]
    assert [Decimal(r["amount"]) for r in refunds] == [payment.amount]
    assert LogEntry.objects.filter(object_id=str(order.pk), change_message__startswith="Refund")

    more = client.post(
        f"/admin/db/order/{order.pk}/refund/",
        {**body, "amount": "1.00", "idempotency_key": "k" * 20},
    )
    assert more.status_code == 200
    assert "refund_exceeds_captured" in more.content.decode()


def test_the_invoice_prints_items_and_totals_in_taka(team, bkash, people):
    customer, _ = people
    order, _ = bkash_paid_order(customer)
    client = signed_in(team["staff"])
    page = client.get(f"/admin/db/order/{order.pk}/invoice/").content.decode()
    assert order.number in page and "৳445.00" in page
    change = client.get(f"/admin/db/order/{order.pk}/change/").content.decode()
    assert "captured" in change  # the payment events' timeline
    assert (
        signed_in(team["vendor_owner"]).get(f"/admin/db/order/{order.pk}/invoice/").status_code
        == 403
    )


# --- review moderation (documents, not a model) ---------------------------------------------


def test_support_hides_a_review_with_a_reason(team, catalog):
    from lib.engagement.reviews import review_create, review_list

    product = catalog["store"]
    review = review_create(
        product_id=str(product.pk),
        user_id=str(team["customer"].pk),
        rating=1,
        review_text="Spam spam, visit my shop",
        images=[],
        language="en",
        request_language="en",
    )
    client = signed_in(team["support"])
    assert "Product reviews" in client.get("/admin/").content.decode()
    queue = client.get("/admin/reviews/", {"status": "published", "product": str(product.pk)})
    assert "Spam spam" in queue.content.decode()

    refused = client.post("/admin/reviews/", {"review_id": review.id, "action": "hide"})
    assert refused.status_code == 302
    assert (
        review_list(
            product_id=str(product.pk), sort="newest", rating=None, page=1, page_size=10
        ).count
        == 1
    )

    client.post(
        "/admin/reviews/", {"review_id": review.id, "action": "hide", "reason": "advertising"}
    )
    hidden = client.get("/admin/reviews/", {"status": "hidden", "product": str(product.pk)})
    assert "advertising" in hidden.content.decode()
    entry = LogEntry.objects.get(object_id=review.id)
    assert (entry.user, entry.change_message) == (team["support"], "Review hide: advertising")
    assert OutboxMessage.objects.filter(
        topic="activity.record", payload__details__action="review_hide"
    ).exists()


@pytest.mark.parametrize("role", ["vendor_owner", "vendor_staff"])
def test_vendors_do_not_moderate_reviews(team, role):
    client = signed_in(team[role])
    assert "Product reviews" not in client.get("/admin/").content.decode()
    assert client.get("/admin/reviews/").status_code == 403


# --- vendor orders (another area's model, scoped by the site) ---------------------------------


def test_a_vendor_sees_only_their_own_part_of_orders(team, vendors):
    from db.models import Order, VendorOrder

    own, other = vendors
    for number, vendor in (("ZS-2612-000001", own), ("ZS-2612-000002", other)):
        order = Order.objects.create(number=number, payment_method="cod")
        VendorOrder.objects.create(
            order=order,
            vendor=vendor,
            status="placed",
            subtotal=Decimal("500.00"),
            commission=Decimal("50.00"),
            payout_amount=Decimal("450.00"),
        )
    client = signed_in(team["vendor_staff"])
    listed = client.get("/admin/db/vendororder/", follow=True)
    assert listed.status_code == 200
    rows = list(listed.context["cl"].result_list)
    assert [row.vendor_id for row in rows] == [own.pk]
    stranger = VendorOrder.objects.get(vendor=other)
    assert client.get(f"/admin/db/vendororder/{stranger.pk}/change/").status_code == 302
    # Staff see every vendor's part.
    everyone = signed_in(team["staff"]).get("/admin/db/vendororder/")
    assert len(everyone.context["cl"].result_list) == 2


# --- sign-ins in the activity log --------------------------------------------------------------


def test_admin_sign_ins_and_failures_reach_the_activity_log(team, kv):
    def recorded() -> list[tuple[str, str | None]]:
        return [
            (message.payload["activity_type"], message.payload["user_id"])
            for message in OutboxMessage.objects.filter(topic="activity.record").order_by(
                "created_at"
            )
        ]

    staff, customer = team["staff"], team["customer"]
    Client().post("/admin/login/", {"username": staff.email, "password": "wrong"})
    Client().post("/admin/login/", {"username": customer.email, "password": PASSWORD})
    Client().post("/admin/login/", {"username": "nobody@zest.test", "password": PASSWORD})
    Client().post("/admin/login/", {"username": staff.email, "password": PASSWORD})
    assert recorded() == [
        ("sign_in_failed", str(staff.pk)),
        ("sign_in_failed", str(customer.pk)),  # a customer's right password, refused here
        ("sign_in_failed", None),
        ("sign_in", str(staff.pk)),
    ]


# --- no query per row ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "url"),
    [("vendor_owner", "/admin/db/product/"), ("staff", "/admin/db/product/")],
)
def test_product_lists_cost_the_same_queries_for_one_row_or_many(
    team, vendors, role, url, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    own, _ = vendors
    category = factories.category()
    client = signed_in(team[role])
    factories.product(category=category, vendor=own)
    with CaptureQueriesContext(connection) as one_row:
        assert client.get(url).status_code == 200
    for _ in range(3):
        factories.product(category=category, vendor=own)
    with django_assert_num_queries(len(one_row)):
        assert client.get(url).status_code == 200


# --- unhappy refunds ----------------------------------------------------------------------------


def refund_form(client, order, payment) -> dict:
    form = client.get(f"/admin/db/order/{order.pk}/refund/").context["form"]
    return {
        "payment": str(payment.pk),
        "amount": str(payment.amount),
        "reason": "customer cancelled",
        "idempotency_key": form.initial["idempotency_key"],
    }


def test_a_refund_bkash_refuses_is_shown_and_may_be_sent_again(team, bkash, people):
    customer, _ = people
    order, payment = bkash_paid_order(customer)
    client = signed_in(team["staff"])
    bkash.sim.fail_next("payment/refund", "2071", "Refund not allowed now")

    refused = client.post(
        f"/admin/db/order/{order.pk}/refund/", refund_form(client, order, payment)
    )

    assert refused.status_code == 200
    assert "refund_refused" in refused.content.decode()
    assert bkash.sim.payments[payment.transaction_id]["refunds"] == []
    order.refresh_from_db()
    assert order.payment_status == "paid"
    done = client.post(f"/admin/db/order/{order.pk}/refund/", refund_form(client, order, payment))
    assert done.status_code == 302
    order.refresh_from_db()
    assert order.payment_status == "refunded"


def test_a_refund_bkash_answers_too_late_is_looked_up_and_never_sent_twice(team, bkash, people):
    customer, _ = people
    order, payment = bkash_paid_order(customer)
    client = signed_in(team["staff"])
    body = refund_form(client, order, payment)
    bkash.sim.slow_next_refund(2)  # longer than our 0.5 s wait

    first = client.post(f"/admin/db/order/{order.pk}/refund/", body, follow=True)
    # Our wait ended first; asking bKash about the refund found it done.
    assert [str(m) for m in first.context["messages"]] == [
        f"Refund of {format_bdt(payment.amount)} is refunded."
    ]
    again = client.post(f"/admin/db/order/{order.pk}/refund/", body, follow=True)  # the same form

    assert again.status_code == 200
    assert len(bkash.sim.payments[payment.transaction_id]["refunds"]) == 1
    order.refresh_from_db()
    assert order.payment_status == "refunded"


# --- images uploaded to the storage -----------------------------------------------------------


def test_staff_upload_a_product_image_to_the_storage(team, catalog):
    from django.core.files.storage import default_storage
    from django.core.files.uploadedfile import SimpleUploadedFile

    from db.models import ProductImage
    from tests.test_product_images import png_declaring

    client = signed_in(team["staff"])
    product = catalog["store"]
    bad = client.post(
        "/admin/db/productimage/add/",
        {
            "product": str(product.pk),
            "upload": SimpleUploadedFile("x.png", b"not an image", content_type="image/png"),
            "sort_order": "5",
        },
    )
    assert bad.status_code == 200 and "upload" in bad.context["adminform"].form.errors
    added = client.post(
        "/admin/db/productimage/add/",
        {
            "product": str(product.pk),
            "upload": SimpleUploadedFile("kantha.png", png_declaring(800, 600), "image/png"),
            "alt_text_en": "Kantha",
            "alt_text_bn": "কাঁথা",
            "sort_order": "5",
        },
    )
    assert added.status_code == 302
    image = ProductImage.objects.get(product=product, sort_order=5)
    assert image.blob_pathname.startswith(f"products/{product.pk}/")
    assert default_storage.exists(image.blob_pathname)
    assert image.image_url == default_storage.url(image.blob_pathname)
