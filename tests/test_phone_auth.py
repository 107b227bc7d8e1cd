"""Phone sign-in with SMS one-time codes (/api/v1/auth/phone) through the deployed functions:
continue with phone, linking a number, guest checkout's phone proof, and every refusal. The
codes are read from the SMS queued in the outbox, as the gateway would receive them."""

from __future__ import annotations

import importlib
import itertools
import re
import sys
import threading
import time
import types
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import connection
from django.urls import path

import api.auth
import api.cart
import api.checkout
import api.phone_auth
from db.models import Order, OutboxMessage, User
from lib.access.activity import ACTIVITY_TOPIC
from lib.access.phone_otp import otp_code_key, otp_resend_key
from lib.access.phone_sign_in import phone_account
from lib.access.sessions import session_start
from lib.cart.store import cart_key, cart_lines
from lib.sms.base import sms_segments
from lib.sms.services import SMS_TOPIC
from tests import factories
from tests.support import call

pytestmark = pytest.mark.django_db

PHONE = "+8801712345678"
OTHER_PHONE = "+8801812345678"
CODE_IN_SMS = re.compile(r"\b(\d{6})\b")
_keys = itertools.count(1)


@pytest.fixture
def client(server_key):
    def request(path, json_body=None, *, token=None, language=None, method="POST", app=None):
        headers = dict(server_key)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if language:
            headers["Accept-Language"] = language
        return call(app or api.phone_auth.app, method, path, json_body=json_body, headers=headers)

    return request


def ask(client, phone=PHONE, purpose="sign_in", **kwargs):
    return client("/api/v1/auth/phone/code", {"phone": phone, "purpose": purpose}, **kwargs)


def verify(client, code, phone=PHONE, purpose="sign_in", **kwargs):
    body = {"phone": phone, "purpose": purpose, "code": code}
    return client("/api/v1/auth/phone/verify", body, **kwargs)


def texts_to(phone: str) -> list[OutboxMessage]:
    return list(
        OutboxMessage.objects.filter(topic=SMS_TOPIC, payload__to=phone.removeprefix("+")).order_by(
            "created_at"
        )
    )


def sent_code(phone: str = PHONE) -> str:
    """The code of the last SMS queued to `phone`."""
    return CODE_IN_SMS.search(texts_to(phone)[-1].payload["text"]).group(1)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def error_of(response) -> str:
    return response.json()["error"]["code"]


def activities(activity_type: str) -> list[dict]:
    rows = OutboxMessage.objects.filter(topic=ACTIVITY_TOPIC).order_by("created_at")
    return [m.payload for m in rows if m.payload["activity_type"] == activity_type]


def test_continue_with_phone_registers_then_signs_in_again(client, kv):
    asked = ask(client, phone="01712-345678", language="bn")

    assert asked.status == 202, asked.body
    assert asked.json() == {"sent": True, "resend_after": 60, "expires_in": 300}
    (sms,) = texts_to(PHONE)
    assert sms.payload["kind"] == "otp"
    assert sms.dedupe_key.startswith("otp:")
    text = sms.payload["text"]
    assert "জেস্ট স্টোর" in text and "৫ মিনিট" in text
    assert sms_segments(text).segments == 1

    first = verify(client, sent_code(), language="bn")

    assert first.status == 200, first.body
    assert first.headers["cache-control"] == "no-store"
    body = first.json()
    assert body["created"] is True
    assert body["user"]["email"] is None and body["user"]["phone"] == PHONE
    assert body["user"]["preferred_language"] == "bn"
    me = client(
        "/api/v1/auth/me", method="GET", app=api.auth.app, token=body["tokens"]["access_token"]
    )
    assert me.status == 200 and me.json() == body["user"]
    user = User.objects.get(pk=body["user"]["id"])
    assert user.phone_verified_at is not None and not user.has_usable_password()

    kv.delete(otp_resend_key(PHONE, "sign_in"))
    assert ask(client).status == 202
    again = verify(client, sent_code())

    assert again.status == 200, again.body
    assert again.json()["created"] is False
    assert again.json()["user"]["id"] == body["user"]["id"]
    assert User.objects.filter(phone=PHONE).count() == 1
    signed_in = activities("sign_in")
    assert [a["details"] for a in signed_in] == [
        {"via": "phone", "created": True},
        {"via": "phone"},
    ]
    assert {a["user_id"] for a in signed_in} == {body["user"]["id"]}


def test_the_english_sms_names_the_store_the_code_and_its_lifetime(client):
    ask(client, language="en")

    text = texts_to(PHONE)[-1].payload["text"]
    assert text.startswith(sent_code()) and "Zest Store" in text and "5 minutes" in text
    assert sms_segments(text).segments == 1


def test_a_wrong_code_then_the_right_one(client):
    ask(client)
    code = sent_code()

    bad = verify(client, wrong(code), language="bn")
    good = verify(client, code)

    assert (bad.status, error_of(bad)) == (400, "otp_invalid")
    assert bad.json()["error"]["message"] == "কোডটি সঠিক নয়। এসএমএসটি দেখে আবার চেষ্টা করুন।"
    assert good.status == 200, good.body
    (failed,) = activities("sign_in_failed")
    assert failed["details"] == {"phone": PHONE, "reason": "otp_invalid", "via": "phone"}
    assert failed["user_id"] is None  # no account had the number yet


def test_five_wrong_codes_burn_the_code(client):
    ask(client)
    code = sent_code()

    answers = [verify(client, wrong(code)) for _ in range(5)]
    right = verify(client, code)

    assert [(a.status, error_of(a)) for a in answers] == [(400, "otp_invalid")] * 4 + [
        (429, "otp_attempts_exceeded")
    ]
    assert (right.status, error_of(right)) == (429, "otp_attempts_exceeded")
    assert not User.objects.filter(phone=PHONE).exists()


def test_a_code_expires(client, kv):
    ask(client)
    key = otp_code_key(PHONE, "sign_in")
    assert 290 <= kv.ttl(key) <= 300

    kv.pexpire(key, 1)
    while kv.exists(key):
        pass
    response = verify(client, sent_code())

    assert (response.status, error_of(response)) == (400, "otp_expired")


def test_a_used_code_cannot_be_used_again(client):
    ask(client)
    code = sent_code()

    assert verify(client, code).status == 200
    again = verify(client, code)

    assert (again.status, error_of(again)) == (400, "otp_expired")


def test_a_code_typed_in_bangla_digits_works(client):
    ask(client)
    code = sent_code().translate(str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯"))

    assert verify(client, code).status == 200


def test_another_code_waits_for_the_resend_cooldown_and_replaces_the_first(client, kv):
    ask(client)
    first = sent_code()

    too_soon = ask(client)

    assert (too_soon.status, error_of(too_soon)) == (429, "otp_resend_too_soon")
    assert 1 <= int(too_soon.headers["retry-after"]) <= 60
    assert len(texts_to(PHONE)) == 1
    kv.delete(otp_resend_key(PHONE, "sign_in"))  # the minute passes
    assert ask(client).status == 202
    second = sent_code()
    if first != second:
        old = verify(client, first)
        assert (old.status, error_of(old)) == (400, "otp_invalid")
    assert verify(client, second).status == 200


def test_codes_per_number_are_limited(client, monkeypatch):
    monkeypatch.setenv("PHONE_OTP_PHONE_LIMIT", "2/3600")
    monkeypatch.setenv("PHONE_OTP_RESEND_SECONDS", "0")

    answers = [ask(client) for _ in range(3)]
    other = ask(client, phone=OTHER_PHONE)

    assert [a.status for a in answers] == [202, 202, 429]
    assert error_of(answers[2]) == "rate_limited"
    assert int(answers[2].headers["retry-after"]) > 60
    assert len(texts_to(PHONE)) == 2
    assert other.status == 202


def test_codes_per_network_are_limited(client, monkeypatch):
    monkeypatch.setenv("PHONE_OTP_IP_LIMIT", "3/3600")
    phones = ["+8801712345601", "+8801712345602", "+8801712345603", "+8801712345604"]

    answers = [ask(client, phone=phone) for phone in phones]

    assert [a.status for a in answers] == [202, 202, 202, 429]
    assert error_of(answers[3]) == "rate_limited"
    assert texts_to(phones[3]) == []


def test_asking_never_tells_whether_an_account_has_the_number(client):
    ask(client)
    verify(client, sent_code())  # PHONE now has an account

    known = ask(client, phone=PHONE, purpose="guest_checkout")
    unknown = ask(client, phone=OTHER_PHONE, purpose="guest_checkout")
    known_sign_in = ask(client, phone="+8801912345678")

    assert known.status == unknown.status == known_sign_in.status == 202
    assert known.body == unknown.body == known_sign_in.body
    assert len(texts_to(OTHER_PHONE)) == 1


def test_the_kv_holds_no_plain_code(client, kv):
    ask(client)
    code = sent_code()

    stored = []
    for key in kv.keys("*"):
        kind = kv.type(key)
        stored.append(key)
        if kind == "hash":
            stored.extend(str(v) for v in kv.hgetall(key).values())
        elif kind == "string":
            stored.append(str(kv.get(key)))
    assert otp_code_key(PHONE, "sign_in") in stored
    assert not any(code in value for value in stored)


@pytest.mark.parametrize("raw", ["+447911123456", "029876543", "0171234", "not a number"])
def test_numbers_that_are_not_bangladeshi_mobiles_are_422(client, raw):
    response = ask(client, phone=raw)

    assert (response.status, error_of(response)) == (422, "phone_invalid")
    assert list(response.json()["error"]["fields"]) == ["phone"]
    assert not OutboxMessage.objects.filter(topic=SMS_TOPIC).exists()


def test_malformed_requests_are_422(client):
    empty = ask(client, phone="")
    purpose = ask(client, purpose="spy")
    code = verify(client, "12ab56")

    assert [(r.status, error_of(r)) for r in (empty, purpose, code)] == [
        (422, "validation_error")
    ] * 3


def test_a_disabled_account_cannot_sign_in_with_its_phone(client, kv):
    ask(client)
    user_id = verify(client, sent_code()).json()["user"]["id"]
    User.objects.filter(pk=user_id).update(is_active=False)
    kv.delete(otp_resend_key(PHONE, "sign_in"))
    ask(client)

    response = verify(client, sent_code())

    assert (response.status, error_of(response)) == (403, "account_disabled")
    (failed,) = activities("sign_in_failed")
    assert failed["user_id"] == user_id
    assert failed["details"] == {"phone": PHONE, "reason": "disabled", "via": "phone"}


def test_a_number_typed_at_registration_is_not_a_sign_in(client):
    """An account that only typed the number (never proved it) is not signed in by it."""
    typed = User.objects.create_user(email="typed@example.com", password=None, phone=PHONE)
    ask(client)

    response = verify(client, sent_code())

    assert response.status == 200
    assert response.json()["created"] is True
    assert response.json()["user"]["id"] != str(typed.pk)


def test_a_phone_account_has_no_email_to_verify(client):
    ask(client)
    tokens = verify(client, sent_code()).json()["tokens"]

    response = client(
        "/api/v1/auth/verify-email/request", app=api.auth.app, token=tokens["access_token"]
    )

    assert (response.status, error_of(response)) == (422, "email_missing")


def test_a_guest_cart_moves_into_the_phone_account(client, server_key, kv):
    product = factories.product(category=factories.category(), quantity=50, images=0)
    added = call(
        api.cart.app,
        "POST",
        "/api/v1/cart/lines",
        json_body={"product_id": str(product.pk), "quantity": 3},
        headers=server_key,
    )
    token = added.json()["token"]
    ask(client)

    body = {"phone": PHONE, "purpose": "sign_in", "code": sent_code()}
    signed_in = call(
        api.phone_auth.app,
        "POST",
        "/api/v1/auth/phone/verify",
        json_body=body,
        headers={**server_key, "X-Cart-Token": token},
    )

    assert signed_in.status == 200, signed_in.body
    user_id = signed_in.json()["user"]["id"]
    lines = cart_lines(key=cart_key(user_id=user_id, guest_token=None))
    assert [(line.product_id, line.quantity) for line in lines] == [(str(product.pk), 3)]
    assert not kv.exists(cart_key(user_id=None, guest_token=token))


@pytest.mark.django_db(transaction=True)
def test_concurrent_uses_of_one_code_sign_in_once(client, server_key):
    ask(client)
    body = {"phone": PHONE, "purpose": "sign_in", "code": sent_code()}
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def use() -> None:
        barrier.wait()
        response = call(
            api.phone_auth.app,
            "POST",
            "/api/v1/auth/phone/verify",
            json_body=body,
            headers=server_key,
            isolated=True,
        )
        statuses.append(response.status)

    threads = [threading.Thread(target=use) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(statuses) == [200, 400, 400, 400]
    assert User.objects.filter(phone=PHONE).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_sign_ins_of_one_number_make_one_account(kv):
    barrier = threading.Barrier(4)
    outcomes: list[tuple[str, bool]] = []

    def first_sign_in() -> None:
        barrier.wait()
        try:
            user, created = phone_account(phone=PHONE, language="en")
            outcomes.append((str(user.pk), created))
        finally:
            connection.close()

    threads = [threading.Thread(target=first_sign_in) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(created for _, created in outcomes) == [False, False, False, True]
    assert len({user_id for user_id, _ in outcomes}) == 1
    assert User.objects.filter(phone=PHONE).count() == 1


# --- linking a number to the signed-in account ---------------------------------------------


def member(email: str) -> tuple[User, str]:
    user = User.objects.create_user(email=email, password=None)
    return user, session_start(user=user, ip="127.0.0.1", user_agent="test").access_token


def test_a_signed_in_user_links_a_proved_number(client, kv):
    user, token = member("rahim@example.com")

    asked = ask(client, purpose="link", token=token)
    linked = verify(client, sent_code(), purpose="link", token=token)

    assert asked.status == 202, asked.body
    assert linked.status == 200, linked.body
    assert linked.json()["email"] == "rahim@example.com"
    assert linked.json()["phone"] == PHONE
    user.refresh_from_db()
    assert user.phone == PHONE and user.phone_verified_at is not None
    kv.delete(otp_resend_key(PHONE, f"link:{user.pk}"))
    ask(client, purpose="link", token=token)
    again = verify(client, sent_code(), purpose="link", token=token)  # their own number
    assert again.status == 200 and again.json()["phone"] == PHONE
    assert ask(client).status == 202
    signed_in = verify(client, sent_code())  # the proved number now signs them in
    assert signed_in.json()["user"]["id"] == str(user.pk)
    assert signed_in.json()["created"] is False


def test_linking_a_number_another_account_proved_is_a_conflict(client):
    ask(client)
    verify(client, sent_code())  # the number's own account
    other, token = member("karim@example.com")

    asked = ask(client, purpose="link", token=token)  # same answer as for a free number
    taken = verify(client, sent_code(), purpose="link", token=token)

    assert asked.status == 202
    assert (taken.status, error_of(taken)) == (409, "phone_taken")
    other.refresh_from_db()
    assert other.phone_verified_at is None and other.phone == ""


def test_linking_needs_a_signed_in_user_and_their_own_code(client):
    _, alice = member("alice@example.com")
    _, bob = member("bob@example.com")

    anonymous = ask(client, purpose="link")
    ask(client, purpose="link", token=alice)
    code = sent_code()
    by_bob = verify(client, code, purpose="link", token=bob)
    by_alice = verify(client, code, purpose="link", token=alice)

    assert (anonymous.status, error_of(anonymous)) == (401, "unauthenticated")
    assert (by_bob.status, error_of(by_bob)) == (400, "otp_expired")  # no code asked by Bob
    assert by_alice.status == 200


# --- guest checkout ------------------------------------------------------------------------


@pytest.fixture
def shop(kv):
    importlib.import_module("migrations.0007_geo_and_shipping").geo_load(apps)
    return factories.product(
        category=factories.category(), price=Decimal("6000.00"), quantity=20, images=0
    )


def place(server_key, product, **fields):
    body = {
        "lines": [{"product_id": str(product.pk), "quantity": 1}],
        "address": {
            "full_name": "Karim Ahmed",
            "phone": "01712345678",
            "address_line1": "Flat 3B, Road 7",
            "division": "Dhaka",
            "district": "Dhaka",
        },
        "email": "guest@shop.test",
        **fields,
    }
    headers = {**server_key, "Idempotency-Key": f"phone-order-{next(_keys):06d}"}
    return call(
        api.checkout.app, "POST", "/api/v1/checkout/orders", json_body=body, headers=headers
    )


def guest_verification(client, phone=PHONE) -> str:
    assert ask(client, phone=phone, purpose="guest_checkout").status == 202
    response = verify(client, sent_code(phone), phone=phone, purpose="guest_checkout")
    assert response.status == 200, response.body
    assert response.json()["expires_in"] == 1800
    return response.json()["phone_verification"]


def test_guest_checkout_accepts_the_phone_verification(client, shop, server_key):
    proof = guest_verification(client)

    placed = place(server_key, shop, phone_verification=proof)

    assert placed.status == 201, placed.body
    assert placed.json()["shipping_address"]["verified_phone"] == PHONE
    order = Order.objects.get(number=placed.json()["number"])
    assert order.fraud_reasons == ["new_customer_cod", "phone_verified"]
    assert order.fraud_score == 5  # 35 for a new customer's large COD order, 30 off
    assert not User.objects.exists()  # proving a number for checkout makes no account


def test_guest_checkout_refuses_a_forged_or_foreign_verification(client, shop, server_key):
    proof = guest_verification(client, phone=OTHER_PHONE)  # not the order's number
    value, _, signature = proof.rpartition(":")
    forged = f"{value}:{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"

    foreign = place(server_key, shop, phone_verification=proof)
    tampered = place(server_key, shop, phone_verification=forged)
    garbage = place(server_key, shop, phone_verification="not-a-verification")

    for response in (foreign, tampered, garbage):
        assert (response.status, error_of(response)) == (422, "phone_verification_invalid")
        assert list(response.json()["error"]["fields"]) == ["phone_verification"]
    assert not Order.objects.exists()


def test_guest_checkout_refuses_an_expired_verification(client, shop, server_key, monkeypatch):
    proof = guest_verification(client)
    monkeypatch.setenv("PHONE_VERIFICATION_TTL", "1")
    time.sleep(2.1)

    response = place(server_key, shop, phone_verification=proof)

    assert (response.status, error_of(response)) == (422, "phone_verification_invalid")
    assert not Order.objects.exists()


def test_a_sign_in_code_does_not_verify_a_guest_checkout(client):
    ask(client)  # asked for signing in

    response = verify(client, sent_code(), purpose="guest_checkout")

    assert (response.status, error_of(response)) == (400, "otp_expired")


# --- staff see phone accounts ----------------------------------------------------------------

admin_urls = types.ModuleType("zest_phone_auth_admin_urls")
admin_urls.urlpatterns = [path("admin/", admin.site.urls)]
sys.modules[admin_urls.__name__] = admin_urls


def test_the_django_admin_lists_and_opens_phone_accounts(client, server_key, settings):
    """`client` here is the phone API's; the admin is reached with Django's test client."""
    from django.test import Client

    ask(client)
    user_id = verify(client, sent_code()).json()["user"]["id"]
    settings.ROOT_URLCONF = admin_urls.__name__
    settings.MIDDLEWARE = [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
    ]
    staff = Client()
    staff.force_login(User.objects.create_superuser("admin@example.com", "pw"))

    listed = staff.get("/admin/db/user/", {"q": "1712345678"})
    opened = staff.get(f"/admin/db/user/{user_id}/change/")

    assert listed.status_code == 200
    assert PHONE in listed.content.decode()
    assert opened.status_code == 200
    assert "phone_verified_at" in opened.content.decode()
