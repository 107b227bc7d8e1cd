"""Pages a person uses, in a real headless Chromium: the API docs, the Django admin and the
payment simulators' pay pages."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import threading
from decimal import Decimal
from urllib.parse import parse_qs

import httpx
import pytest
from django.apps import apps

from db.models import Order, User
from devtools.demo_keys import demo_keys_ensure
from devtools.devserver import DevServer
from devtools.payment_sims import bkash as bkash_sim
from devtools.payment_sims.bkash import start_bkash_simulator
from devtools.payment_sims.sslcommerz import start_sslcommerz_simulator
from devtools.wsgi_server import server_url, start_server
from lib.conf import SslcommerzConfig
from lib.payments.base import ProviderError
from lib.payments.bkash import BkashGateway
from lib.payments.sslcommerz import SslcommerzGateway
from tests import factories

CHROMIUM = (
    os.environ.get("ZEST_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        CHROMIUM is None and not os.environ.get("CI"), reason="Chromium is not installed"
    ),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    dev = DevServer("127.0.0.1", 0, media_root=tmp_path_factory.mktemp("media"), access_log=None)
    thread = threading.Thread(target=dev.serve_forever, daemon=True)
    thread.start()
    yield dev
    dev.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on this thread; the test's own ORM calls are
    # still synchronous, which Django must be told is fine.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    yield page
    context.close()


def test_docs_page_lists_every_function_and_runs_a_call(server, page, server_key):
    groceries = factories.category(name_en="Groceries", slug="groceries")
    factories.product(category=groceries, slug="miniket-rice", name_en="Miniket Rice 5kg")

    page.goto(f"{server.url}/api/v1/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=20_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert {"/api/health", "/api/v1/products", "/api/cron/inventory-alerts"} <= {
        p.strip().replace("\u200b", "") for p in paths
    }

    # Enter the API key and secret the way a developer does, in the Authorize dialog.
    page.get_by_role("button", name="Authorize").first.click()
    modal = page.locator(".modal-ux")
    for scheme, header in (("ApiKey", "X-API-Key"), ("ApiSecret", "X-API-Secret")):
        box = modal.locator(".auth-container", has_text=f"{scheme} (apiKey)")
        box.locator("input").fill(server_key[header])
        box.locator("button.authorize").click()
    modal.locator("button.btn-done").first.click()

    # Try the product list for real from the page (try-it-out is on by default).
    operation = page.locator("#operations-catalog-catalog_list_products")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Execute").click()
    body = operation.locator(".live-responses-table .response-col_description pre").first
    body.wait_for(timeout=20_000)
    assert "miniket-rice" in body.inner_text()
    assert page.errors == []


def test_docs_page_places_a_guest_order_with_the_demo_key_and_header_parameters(
    server, page, kv, tmp_path
):
    """A developer tries checkout from the docs: Authorize with the demo storefront key,
    then fill the guest's X-Cart-Token and an Idempotency-Key as the operation's headers."""
    importlib.import_module("migrations.0007_geo_and_shipping").geo_load(apps)
    tea = factories.product(
        category=factories.category(), slug="tea", price=Decimal("450.00"), quantity=5, images=0
    )
    keys = demo_keys_ensure(data_dir=tmp_path, dev_origin=server.url)
    added = httpx.post(
        f"{server.url}/api/v1/cart/lines",
        json={"product_id": str(tea.pk), "quantity": 2},
        headers={"X-API-Key": keys.storefront_key},
        timeout=30,
    )
    assert added.status_code == 201, added.text
    cart_token = added.json()["token"]

    page.goto(f"{server.url}/api/v1/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=20_000)
    page.get_by_role("button", name="Authorize").first.click()
    modal = page.locator(".modal-ux")
    box = modal.locator(".auth-container", has_text="ApiKey (apiKey)")
    box.locator("input").fill(keys.storefront_key)
    box.locator("button.authorize").click()
    modal.locator("button.btn-done").first.click()

    operation = page.locator("#operations-checkout-checkout_place_order")
    operation.locator(".opblock-summary").click()
    header = 'tr[data-param-name="{}"][data-param-in="header"] input'
    operation.locator(header.format("X-Cart-Token")).fill(cart_token)
    operation.locator(header.format("Idempotency-Key")).fill("docs-page-order-0001")
    address = {
        "full_name": "Nusrat Jahan",
        "phone": "01712345678",
        "address_line1": "House 12, Road 5, Dhanmondi",
        "division": "Dhaka",
        "district": "Dhaka",
    }
    body = {"address": address, "email": "guest@zest.test", "payment_method": "cod"}
    operation.locator("textarea.body-param__text").fill(json.dumps(body))
    operation.get_by_role("button", name="Execute").click()

    status = operation.locator(".live-responses-table tr.response .response-col_status").first
    status.wait_for(timeout=20_000)
    answer = operation.locator(".live-responses-table .response-col_description pre").first
    assert status.inner_text().strip() == "201", answer.inner_text()
    order = Order.objects.get()
    assert order.number in answer.inner_text()
    assert (order.guest_email, order.total_amount > Decimal("900.00")) == ("guest@zest.test", True)
    assert order.idempotency_key == "docs-page-order-0001"
    assert page.errors == []


def test_admin_sign_in_and_product_list(server, page):
    User.objects.create_superuser(email="boss@zest.test", password="Correct-Horse-9")
    factories.product(
        category=factories.category(slug="books"), name_en="Gitanjali", slug="gitanjali"
    )

    page.goto(f"{server.url}/admin/")
    assert "/admin/login/" in page.url
    page.fill("#id_username", "boss@zest.test")
    page.fill("#id_password", "wrong password")
    page.click("input[type=submit]")
    assert page.locator(".errornote").is_visible()

    page.fill("#id_password", "Correct-Horse-9")
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
    page.goto(f"{server.url}/admin/db/product/")
    assert page.locator("#result_list").get_by_text("Gitanjali").is_visible()
    # The stylesheet came through the admin function's static files.
    background = page.evaluate(
        "getComputedStyle(document.querySelector('#header')).backgroundColor"
    )
    assert background not in ("", "rgba(0, 0, 0, 0)")
    assert page.errors == []


# --- the payment simulators' pay pages -------------------------------------------------------


class MerchantCallbacks:
    """Our side of a payer's return: records what the provider's page sent back."""

    def __init__(self) -> None:
        self.received: list[dict] = []

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        form = parse_qs(environ["wsgi.input"].read(length).decode()) if length else {}
        query = parse_qs(environ.get("QUERY_STRING", ""))
        self.received.append({"method": environ["REQUEST_METHOD"], "query": query, "form": form})
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"thanks"]


@pytest.fixture(scope="module")
def merchant():
    callbacks = MerchantCallbacks()
    server, _thread = start_server(callbacks, "127.0.0.1", 0, name="merchant")
    callbacks.url = server_url(server)
    yield callbacks
    server.shutdown()
    server.server_close()


def test_bkash_pay_page_sends_the_payer_back_and_the_payment_captures(page, merchant, kv):
    sim = start_bkash_simulator()
    gateway = BkashGateway(
        base_url=sim.url,
        app_key=bkash_sim.APP_KEY,
        app_secret=bkash_sim.APP_SECRET,
        username=bkash_sim.USERNAME,
        password=bkash_sim.PASSWORD,
        timeout=5.0,
    )
    started = gateway.start(
        payment_id="pay-1",
        invoice="ZS-2611-900001",
        amount=Decimal("1250.00"),
        callback_url=f"{merchant.url}/bkash",
        customer={},
    )

    page.goto(started.redirect_url)
    page.get_by_role("button", name="Pay").click()
    page.wait_for_url(f"{merchant.url}/bkash*")

    query = next(r["query"] for r in reversed(merchant.received) if "paymentID" in r["query"])
    assert (query["paymentID"], query["status"]) == ([started.provider_payment_id], ["success"])
    status = gateway.confirm(
        provider_payment_id=started.provider_payment_id,
        callback={key: values[0] for key, values in query.items()},
    )
    assert (status.state, status.amount) == ("captured", Decimal("1250.00"))
    sim.stop()


@pytest.mark.parametrize(("button", "event"), [("Pay", "success"), ("Cancel", "cancel")])
def test_sslcommerz_pay_page_posts_the_signed_result_back(page, merchant, button, event):
    sim = start_sslcommerz_simulator()
    settings = SslcommerzConfig(
        base_url=sim.url, store_id="zesttest", store_password="zesttest@ssl"
    )
    gateway = SslcommerzGateway(settings)
    started = gateway.start(
        payment_id="pay-2",
        invoice=f"ZS-2611-9000{len(merchant.received):02d}",
        amount=Decimal("480.00"),
        callback_url=f"{merchant.url}/sslcommerz",
        customer={"name": "Nusrat", "email": "n@zest.test", "phone": "+8801711234567"},
    )

    page.goto(started.redirect_url)
    page.get_by_role("button", name=button).click()
    page.wait_for_url(f"{merchant.url}/sslcommerz*")

    returned = next(
        r
        for r in reversed(merchant.received)
        if r["method"] == "POST" and r["query"].get("event") == [event]
    )
    form = {key: values[0] for key, values in returned["form"].items()}
    assert form["tran_id"] == started.provider_payment_id
    # The browser's form is signed: the adapter accepts it, and refuses it once altered.
    assert gateway.callback_payment_id(request_data=form) == started.provider_payment_id
    with pytest.raises(ProviderError):
        gateway.callback_payment_id(request_data={**form, "amount": "1.00"})
    sim.stop()
