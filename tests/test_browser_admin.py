"""The Django admin in a real headless Chromium, per role: signing in, what the index offers,
a page each role may open and one it may not, vendors kept to their own products, and an
order moved and refunded (at the bKash simulator) by staff."""

from __future__ import annotations

from decimal import Decimal

import pytest

from db.models import Order, User, UserRole, Vendor, VendorMember
from tests import factories, payment_shop, test_browser
from tests.payment_shop import order_place, payment_start_http, press_pay, shop_product
from tests.payment_shop import webhook_follow as follow_webhook

PASSWORD = "Correct-Horse-Battery-9"
bkash, people = payment_shop.bkash, payment_shop.people  # fixtures
server, browser, page = test_browser.server, test_browser.browser, test_browser.page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(test_browser.CHROMIUM is None, reason="Chromium is not installed"),
]


def account(role: str, vendor: Vendor | None = None) -> User:
    user = User.objects.create_user(
        email=f"{role}-{User.objects.count()}@zest.test", password=PASSWORD, role=role
    )
    if vendor is not None:
        VendorMember.objects.create(vendor=vendor, user=user)
    return user


def sign_in(page, server, user: User) -> None:
    page.goto(f"{server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", user.email)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")


@pytest.fixture
def shop(kv):
    own = Vendor.objects.create(name="Aarong", slug="aarong")
    other = Vendor.objects.create(name="Yellow", slug="yellow")
    category = factories.category(name_en="Crafts", slug="crafts")
    return {
        "own": own,
        "own_product": factories.product(category=category, vendor=own, name_en="Nakshi Kantha"),
        "other_product": factories.product(
            category=category, vendor=other, name_en="Jamdani Saree"
        ),
    }


# role: (index sections it shows, index text it must not show, a page it opens and the text
# seen there, a page it may not open)
ROLES = {
    UserRole.ADMIN: (["Outbox messages", "Products"], [], "/admin/db/outboxmessage/", "", None),
    UserRole.STAFF: (
        ["Products", "Orders", "Discounts", "Product reviews"],
        ["Outbox messages", "Api keys"],
        "/admin/db/product/",
        "Jamdani Saree",
        "/admin/db/outboxmessage/",
    ),
    UserRole.SUPPORT: (
        ["Orders", "Users", "Product reviews"],
        ["Products", "Discounts"],
        "/admin/db/order/",
        "",
        "/admin/db/product/",
    ),
    UserRole.VENDOR_OWNER: (
        ["Products", "Product variations"],
        ["Orders", "Users", "Categories"],
        "/admin/db/product/",
        "Nakshi Kantha",
        "/admin/db/category/",
    ),
    UserRole.VENDOR_STAFF: (
        ["Products", "Stock adjustments"],
        ["Users", "Product reviews"],
        "/admin/db/productimage/",
        "",
        "/admin/db/user/",
    ),
}


@pytest.mark.parametrize("role", sorted(ROLES))
def test_each_role_signs_in_and_sees_what_it_may(server, page, shop, role):
    shown, hidden, allowed, text, refused = ROLES[role]
    vendor = shop["own"] if role in (UserRole.VENDOR_OWNER, UserRole.VENDOR_STAFF) else None
    sign_in(page, server, account(role, vendor))
    page.wait_for_selector("#site-name")
    index = page.locator("#content-main").inner_text()
    for name in shown:
        assert name in index, (role, name)
    for name in hidden:
        assert name not in index, (role, name)

    response = page.goto(f"{server.url}{allowed}")
    assert response.status == 200
    if text:
        assert text in page.locator("#content").inner_text()
    if refused:
        assert page.goto(f"{server.url}{refused}").status == 403
    assert page.errors == []


def test_a_customer_is_refused_at_the_sign_in_page(server, page, kv):
    sign_in(page, server, account(UserRole.CUSTOMER))
    assert "store or vendor team account" in page.locator(".errornote").inner_text()
    assert "/admin/login/" in page.url
    page.goto(f"{server.url}/admin/db/product/")
    assert "/admin/login/" in page.url


def test_a_vendor_cannot_open_another_vendors_product_by_its_address(server, page, shop):
    sign_in(page, server, account(UserRole.VENDOR_OWNER, shop["own"]))
    page.wait_for_selector("#site-name")
    listed = page.goto(f"{server.url}/admin/db/product/")
    assert listed.status == 200
    rows = page.locator("#result_list").inner_text()
    assert "Nakshi Kantha" in rows and "Jamdani Saree" not in rows

    page.goto(f"{server.url}/admin/db/product/{shop['other_product'].pk}/change/")
    assert "Jamdani Saree" not in page.content()
    assert "doesn’t exist" in page.locator(".messagelist").inner_text()


def test_staff_advance_an_order_and_refund_it_at_bkash(server, page, bkash, people):
    customer, _ = people
    import api.webhooks.bkash

    order = order_place(shop_product("445.00"), customer, "bkash")
    started = payment_start_http(order, customer, f"pay-{order.number}")
    returned = follow_webhook(api.webhooks.bkash.app, press_pay(started.json()["redirect_url"]))
    assert returned.status == 302
    order.refresh_from_db()
    assert order.status == "paid"

    sign_in(page, server, account(UserRole.STAFF))
    page.wait_for_selector("#site-name")
    page.goto(f"{server.url}/admin/db/order/")
    page.locator(f"input.action-select[value='{order.pk}']").check()
    page.select_option("select[name=action]", "advance_status")
    page.click("button[name=index]")
    assert "1 order(s) moved." in page.locator(".messagelist").inner_text()
    order.refresh_from_db()
    assert order.status == "processing"

    page.goto(f"{server.url}/admin/db/order/{order.pk}/change/")
    assert "captured" in page.locator(".field-payment_timeline").inner_text()
    page.click("a.refundlink")
    page.fill("#id_reason", "damaged in transit")
    page.click("input[name=refund]")
    message = page.locator(".messagelist").inner_text()
    assert "Refund of ৳" in message and "refunded" in message
    order = Order.objects.get(pk=order.pk)
    # Being prepared, the order keeps its status; its payment says it was given back.
    assert (order.status, order.payment_status) == ("processing", "refunded")
    payment = order.payments.get()
    refunds = bkash.sim.payments[payment.transaction_id]["refunds"]
    assert [Decimal(r["amount"]) for r in refunds] == [payment.amount]
    assert page.errors == []
