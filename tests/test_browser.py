"""Pages a person uses, in a real headless Chromium: the API docs and the Django admin."""

from __future__ import annotations

import os
import shutil
import threading

import pytest

from db.models import User
from devtools.devserver import DevServer
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
