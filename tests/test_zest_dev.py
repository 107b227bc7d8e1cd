"""`zest dev` end to end: the real command in its own process, on its embedded defaults, used
only through HTTP as a developer would: the payment simulators it starts take a wallet order
from placement to paid for every provider, the sign-in stand-in it starts signs a user in,
and the recommendations are there on the first run."""

from __future__ import annotations

import html
import itertools
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from lib.conf import REPO_ROOT

pytestmark = pytest.mark.xdist_group("zest_dev")  # one dev server for the module, one worker

STARTUP_SECONDS = 180  # migrations and the demo catalog on a busy 2-core machine
READY_LINE = "Press Ctrl-C to stop."
# What the test environment points at its own services; `zest dev` runs on its defaults.
SERVICE_ENV_PREFIXES = (
    "DATABASE_",
    "REDIS_",
    "UPSTASH_",
    "MONGODB_",
    "BLOB_",
    "VERCEL_BLOB_",
    "BKASH_",
    "NAGAD_",
    "UPAY_",
    "SSLCOMMERZ_",
    "PAYMENT_",
    "OAUTH_",
    "GOOGLE_",
    "APPLE_",
    "FACEBOOK_",
    "ZEST_",
    "CRON_SECRET",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class DevProcess:
    process: subprocess.Popen
    url: str
    lines: list[str] = field(default_factory=list)
    ready: threading.Event = field(default_factory=threading.Event)

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.strip() == READY_LINE:
                self.ready.set()
        self.ready.set()  # exited: whoever waits sees the output

    def printed(self, pattern: str) -> str:
        found = re.search(pattern, self.output, re.MULTILINE)
        assert found, f"`zest dev` did not print {pattern!r}:\n{self.output}"
        return found.group(1)

    def wait_for(self, pattern: str, *, count: int = 1, seconds: float = 15) -> bool:
        """True once `pattern` occurs `count` times in the output."""
        deadline = time.monotonic() + seconds
        while len(re.findall(pattern, self.output)) < count:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def simulator_url(self, provider: str) -> str:
        return self.printed(rf"^  {provider}\s+(http://\S+)$")


@pytest.fixture(scope="module")
def zest_dev(tmp_path_factory) -> Iterator[DevProcess]:
    port = free_port()
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(SERVICE_ENV_PREFIXES)
    }
    env["ZEST_DATA_DIR"] = str(tmp_path_factory.mktemp("zest-dev"))
    env["PYTHONUNBUFFERED"] = "1"
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.cli", "dev", "--port", str(port)],
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    dev = DevProcess(process, f"http://127.0.0.1:{port}")
    threading.Thread(target=dev.read, daemon=True).start()
    try:
        started = time.monotonic()
        dev.ready.wait(STARTUP_SECONDS)
        assert process.poll() is None, f"`zest dev` exited:\n{dev.output}"
        assert dev.ready.is_set(), f"`zest dev` not ready in {STARTUP_SECONDS} s:\n{dev.output}"
        print(f"zest dev ready in {time.monotonic() - started:.1f} s")
        yield dev
    finally:
        process.terminate()  # SIGTERM: the dev server stops cleanly
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def storefront(zest_dev) -> httpx.Client:
    """The browser storefront: the demo publishable key from an allowed origin."""
    key = zest_dev.printed(r"storefront \(publishable\)\s+X-API-Key: (\S+)")
    with httpx.Client(
        base_url=zest_dev.url,
        headers={"X-API-Key": key, "Origin": zest_dev.url},
        timeout=30,
    ) as client:
        yield client


@pytest.fixture(scope="module")
def product(storefront) -> dict:
    reply = storefront.get("/api/v1/products", params={"page_size": 50})
    assert reply.status_code == 200, reply.text
    products = [p for p in reply.json()["items"] if p["in_stock"]]
    assert products, reply.text
    return products[0]


_buyers = itertools.count(1)
METHOD_PROVIDER = {"rocket": "sslcommerz"}  # Rocket is paid through SSLCommerz


def account_of(storefront, signed_in: httpx.Response) -> dict:
    """The account a sign-in's answer opened a session for, as /auth/me shows it."""
    access_token = signed_in.json()["tokens"]["access_token"]
    me = storefront.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {access_token}"})
    assert me.status_code == 200, me.text
    return me.json()


def storefront_order(
    storefront, product: dict, method: str, *, phone_prefix: str, key: str, **address
) -> tuple[dict, str]:
    """A new buyer's order of one `product`, placed in the storefront with a phone starting
    `phone_prefix` (and any other `address` fields): the checkout's answer and that phone."""
    buyer = next(_buyers)
    phone = f"{phone_prefix}{buyer:07d}"
    reply = storefront.post(
        "/api/v1/checkout/orders",
        json={
            "lines": [{"product_id": product["id"], "quantity": 1}],
            "address": {
                "full_name": "Nusrat Jahan",
                "phone": phone,
                "address_line1": "House 12, Road 5, Dhanmondi",
                "division": "Dhaka",
                "district": "Dhaka",
                **address,
            },
            "email": f"buyer{buyer}@zest.test",
            "payment_method": method,
        },
        headers={"Idempotency-Key": f"zest-dev-order-{key}-{buyer:04d}"},
    )
    assert reply.status_code == 201, reply.text
    return reply.json(), phone


def place_wallet_order(storefront, product: dict, method: str) -> tuple[str, str]:
    order, phone = storefront_order(storefront, product, method, phone_prefix="0171", key=method)
    assert (order["status"], order["payment_method"]) == ("awaiting_payment", method)
    return order["number"], phone


def pay_on_simulator_page(redirect_url: str, provider: str) -> httpx.Response:
    """The payer's browser on the simulator's page presses "pay"; returns the request the
    browser then makes back to us (SSLCommerz: an auto-submitted form POST; the others: a
    redirect followed with GET), already sent."""
    page = httpx.get(redirect_url, timeout=30)
    assert page.status_code == 200, page.text
    if provider == "sslcommerz":
        assert f'action="{urlsplit(redirect_url).path}/pay"' in page.text
        answer = httpx.post(f"{redirect_url}/pay", timeout=30)
        assert answer.status_code == 200, answer.text
        target = html.unescape(re.search(r'<form[^>]* action="([^"]+)"', answer.text).group(1))
        fields = {
            html.unescape(name): html.unescape(value)
            for name, value in re.findall(r'name="([^"]*)" value="([^"]*)"', answer.text)
        }
        return httpx.post(target, data=fields, timeout=30)
    assert re.search(r"""<button[^>]* value=["']?pay\b""", page.text), page.text
    answer = httpx.post(redirect_url, data={"action": "pay"}, timeout=30)
    assert answer.status_code in (302, 303), answer.text
    return httpx.get(answer.headers["location"], timeout=30)


@pytest.mark.parametrize("method", ["bkash", "nagad", "upay", "sslcommerz", "rocket"])
def test_a_wallet_order_is_paid_through_the_simulator_zest_dev_started(
    zest_dev, storefront, product, method
):
    provider = METHOD_PROVIDER.get(method, method)
    seen = len(re.findall(r"POST /api/webhooks/sslcommerz \d{3}", zest_dev.output))
    number, phone = place_wallet_order(storefront, product, method)

    start = storefront.post(
        f"/api/v1/payments/{number}/start",
        json={"phone": phone},
        headers={"Idempotency-Key": f"zest-dev-pay-{number}"},
    )
    assert start.status_code == 200, start.text
    redirect_url = start.json()["redirect_url"]
    assert redirect_url.startswith(zest_dev.simulator_url(provider) + "/")

    back = pay_on_simulator_page(redirect_url, provider)

    assert str(back.request.url).startswith(f"{zest_dev.url}/api/webhooks/{provider}")
    assert back.status_code == 302, back.text
    result = parse_qs(urlsplit(back.headers["location"]).query)
    assert result["order"] == [number]
    status = storefront.get(f"/api/v1/payments/{number}", params={"phone": phone})
    assert status.status_code == 200, status.text
    paid = status.json()
    assert (paid["order_status"], paid["payment_status"]) == ("paid", "paid")
    assert [p["status"] for p in paid["payments"]] == ["captured"]
    if provider == "sslcommerz":  # its IPN, posted while the payer returns, is answered too
        assert zest_dev.wait_for(r"POST /api/webhooks/sslcommerz \d{3}", count=seen + 2)
    served = re.findall(r"^  \S+ (/\S*) (\d{3}) \d+ms", zest_dev.output, re.MULTILINE)
    assert [(path, status) for path, status in served if status.startswith("5")] == []


def test_the_sign_in_stand_in_zest_dev_started_signs_a_user_in(zest_dev, storefront):
    provider = zest_dev.printed(r"^Sign-in providers \(.*\): (http://\S+)$")
    assert f"{provider}/_issue/google" in zest_dev.output  # the banner says how to use it
    issued = httpx.post(
        f"{provider}/_issue/google",
        json={"email": "dev.signin@zest.test", "email_verified": True, "name": "Dev Sign-in"},
        timeout=30,
    )
    assert issued.status_code == 200, issued.text

    reply = storefront.post("/api/v1/auth/oauth/google", json={"token": issued.json()["id_token"]})

    assert reply.status_code == 200, reply.text
    assert reply.json()["created"] is True
    me = account_of(storefront, reply)
    assert me["email"] == "dev.signin@zest.test"


def test_recommendations_are_computed_on_the_first_run(zest_dev, storefront, product):
    computed = zest_dev.printed(r"^Recommendations: (\d+) products, [^\n]* in [\d.]+ s$")
    assert int(computed) > 0

    reply = storefront.get(
        f"/api/v1/products/{product['slug']}/recommendations", params={"kind": "similar"}
    )

    assert reply.status_code == 200, reply.text
    assert reply.json()["generation"] is not None
    assert reply.json()["items"], reply.text
    assert {item["reason"] for item in reply.json()["items"]} == {"similar"}


def sms_codes(inbox: str, number: str, *, count: int, seconds: float = 20) -> list[str]:
    """The one-time codes the SMS simulator received for `number` (8801...), once `count`."""
    deadline = time.monotonic() + seconds
    while True:
        reply = httpx.get(f"{inbox}/__sim/messages", params={"to": number}, timeout=30)
        assert reply.status_code == 200, reply.text
        codes = [re.search(r"\b(\d{6})\b", m["text"]).group(1) for m in reply.json()["messages"]]
        if len(codes) >= count or time.monotonic() > deadline:
            return codes
        time.sleep(0.1)


def test_continue_with_phone_through_the_sms_simulator_zest_dev_started(zest_dev, storefront):
    inbox = zest_dev.printed(r"^SMS simulator inbox \(.*\): (http://\S+)/$")
    phone = {"phone": "01911000111", "purpose": "sign_in"}

    asked = storefront.post("/api/v1/auth/phone/code", json=phone)
    assert asked.status_code == 202, asked.text
    (code,) = sms_codes(inbox, "8801911000111", count=1)
    reply = storefront.post("/api/v1/auth/phone/verify", json={**phone, "code": code})

    assert reply.status_code == 200, reply.text
    assert reply.json()["created"] is True
    me = account_of(storefront, reply)
    assert (me["email"], me["phone"]) == (None, "+8801911000111")


def test_a_cod_order_is_delivered_by_the_steadfast_simulator_zest_dev_started(
    zest_dev, storefront, product
):
    """Staff book a packed COD order with Steadfast, press "delivered" on the simulator's
    parcel page, and its webhook to the dev server delivers the order."""
    password = zest_dev.printed(r"^Demo sign-ins \(password (\S+)\):$")
    email = zest_dev.printed(r"^  (\S+@\S+)\s+staff\s")
    signed_in = storefront.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert signed_in.status_code == 200, signed_in.text
    staff = {
        "X-API-Key": zest_dev.printed(r"server \(secret\)\s+X-API-Key: (\S+)"),
        "X-API-Secret": zest_dev.printed(r"^\s+X-API-Secret: (\S+)$"),
        "Authorization": f"Bearer {signed_in.json()['tokens']['access_token']}",
    }
    placed, _phone = storefront_order(
        storefront,
        product,
        "cod",
        phone_prefix="0181",
        key="steadfast",
        address_line1="House 4, Bank Colony",
        upazila="Savar",
    )
    number = placed["number"]
    packed = storefront.post(
        f"/api/v1/admin/orders/{number}/transition", json={"to_status": "processing"}, headers=staff
    )
    assert packed.status_code == 200, packed.text

    booked = storefront.post(
        "/api/v1/admin/couriers/consignments",
        json={"order_number": number, "courier": "steadfast"},
        headers=staff,
    )
    assert booked.status_code == 201, booked.text
    consignment = booked.json()
    simulator = zest_dev.simulator_url("steadfast").rstrip("/")
    assert consignment["tracking_url"] == f"{simulator}/t/{consignment['tracking_code']}"
    page = httpx.get(f"{simulator}/parcels/{consignment['consignment_id']}", timeout=30)
    assert page.status_code == 200 and "value='delivered'" in page.text, page.text
    pressed = httpx.post(
        f"{simulator}/parcels/{consignment['consignment_id']}",
        data={"status": "delivered"},
        timeout=30,
    )
    assert pressed.status_code == 303, pressed.text

    assert zest_dev.wait_for(r"POST /api/webhooks/steadfast 200")
    order = storefront.get(f"/api/v1/admin/orders/{number}", headers=staff)
    assert order.status_code == 200, order.text
    assert order.json()["status"] == "delivered"
    tracking = httpx.get(consignment["tracking_url"], timeout=30)
    assert tracking.status_code == 200 and "delivered" in tracking.text


def test_a_cod_orders_sms_lands_in_the_sms_simulator_zest_dev_started(
    zest_dev, storefront, product
):
    """Placing a COD order sends its "placed" SMS right after the response (no cron needed):
    it is on the simulator's inbox page (Bangla-capable) and printed by the dev server."""
    inbox = zest_dev.printed(r"^SMS simulator inbox \(.*\): (http://\S+)/$")
    placed, phone = storefront_order(storefront, product, "cod", phone_prefix="0191", key="sms")
    number = placed["number"]

    assert zest_dev.wait_for(rf"\[SMS sslwireless -> \+880{phone[1:]}\] .*{number}")
    messages = httpx.get(f"{inbox}/__sim/messages", params={"to": phone}, timeout=30).json()
    page = httpx.get(f"{inbox}/inbox/880{phone[1:]}", timeout=30)

    (text,) = [m["text"] for m in messages["messages"]]
    assert text.startswith(f"Zest Store: order {number} is placed. Total Tk ")
    assert page.status_code == 200 and number in page.text
