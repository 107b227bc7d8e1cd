"""The /api/v1/auth function through the full access pipeline: register, verify, sign in and
out, refresh, forgotten and changed passwords; emails and activity delivered by the outbox."""

from __future__ import annotations

import re
import threading
import uuid

from lib.runtime import FunctionApp

import pytest
from django.core import mail
from django.db import connection

import api.auth
from db.models import User
from lib.access.activity import ACTIVITY_COLLECTION
from lib.access.api_keys import api_key_create
from lib.access.passwords import password_problems
from lib.access.recovery import token_key
from lib.access.services import phone_normalize, user_register
from lib.access.sessions import session_key
from lib.access.tokens import access_token_verify
from lib.documents import get_documents_db
from lib.errors import ApiError
from lib.outbox import outbox_dispatch
from tests.support import call

pytestmark = pytest.mark.django_db

ACCESS_MIDDLEWARE = "lib.access.middleware.AccessMiddleware"
# The auth function exactly as deployed, with the access pipeline whether or not the
# settings list it yet.
app = FunctionApp(
    "auth",
    api.auth.app.urlconf.urlpatterns,
    api=api.auth.app.api,
    middleware=list(dict.fromkeys([*api.auth.app.middleware, ACCESS_MIDDLEWARE])),
)
STRONG = "mango-lassi-42-dhaka"
TOKEN_IN_LINK = re.compile(r"\?token=([A-Za-z0-9_-]+)")


@pytest.fixture
def api_headers(kv):
    key, secret = api_key_create(
        name="Storefront server", kind="secret", scopes=["storefront:read", "storefront:write"]
    )
    return {"X-API-Key": key.key_id, "X-API-Secret": secret}


@pytest.fixture
def client(api_headers):
    def request(method, url, *, token=None, language=None, **kwargs):
        headers = dict(api_headers)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if language:
            headers["Accept-Language"] = language
        return call(app, method, url, headers=headers, **kwargs)

    return request


@pytest.fixture
def member(client):
    email = f"member-{uuid.uuid4().hex[:8]}@example.com"
    response = client(
        "POST", "/api/v1/auth/register", json_body={"email": email, "password": STRONG}
    )
    assert response.status == 201, response.body
    mail.outbox.clear()
    outbox_dispatch()
    return User.objects.get(email=email)


def sign_in(client, email, password=STRONG):
    response = client(
        "POST", "/api/v1/auth/login", json_body={"email": email, "password": password}
    )
    assert response.status == 200, response.body
    return response.json()["tokens"]


def error_of(response) -> str:
    return response.json()["error"]["code"]


def emailed_token(recipient: str) -> str:
    outbox_dispatch()
    (message,) = [m for m in mail.outbox if m.to == [recipient]]
    return TOKEN_IN_LINK.search(message.body).group(1)


def test_register_signs_in_and_verifies_the_email(client):
    mail.outbox.clear()
    registered = client(
        "POST",
        "/api/v1/auth/register",
        json_body={
            "email": "  Rahim@Example.com ",
            "password": STRONG,
            "full_name": "Rahim Uddin",
            "phone": "01712-345678",
        },
        language="bn",
    )
    assert registered.status == 201, registered.body
    body = registered.json()
    assert body["user"] == {
        "id": body["user"]["id"],
        "email": "rahim@example.com",
        "full_name": "Rahim Uddin",
        "phone": "+8801712345678",
        "role": "customer",
        "email_verified": False,
        "preferred_language": "bn",
    }
    tokens = body["tokens"]
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 900

    me = client("GET", "/api/v1/auth/me", token=tokens["access_token"])
    assert me.status == 200 and me.json() == body["user"]

    outbox_dispatch()
    (email,) = mail.outbox
    assert email.to == ["rahim@example.com"]
    assert email.subject == "আপনার ইমেইল ঠিকানা যাচাই করুন"  # in the account's language
    assert "http://localhost:3000/verify-email?token=" in email.body
    assert "৪৮ ঘণ্টার মধ্যে" in email.body and "within 48 hours" not in email.body
    assert email.alternatives[0][1] == "text/html"
    token = TOKEN_IN_LINK.search(email.body).group(1)

    confirmed = client("POST", "/api/v1/auth/verify-email/confirm", json_body={"token": token})
    again = client("POST", "/api/v1/auth/verify-email/confirm", json_body={"token": token})

    assert confirmed.status == 204
    assert (again.status, error_of(again)) == (400, "verification_token_invalid")
    me = client("GET", "/api/v1/auth/me", token=tokens["access_token"])
    assert me.json()["email_verified"] is True


def test_register_reports_every_invalid_field_in_bangla(client):
    response = client(
        "POST",
        "/api/v1/auth/register",
        json_body={"email": "not-an-email", "password": "12345", "phone": "+44 7911 123456"},
        language="bn",
    )

    assert response.status == 422
    fields = response.json()["error"]["fields"]
    assert fields["email"] == ["একটি সঠিক ইমেইল ঠিকানা লিখুন।"]
    assert fields["phone"] == ["একটি সঠিক বাংলাদেশি মোবাইল নম্বর লিখুন, যেমন ০১৭১২৩৪৫৬৭৮।"]
    assert fields["password"] == [
        "পাসওয়ার্ডটি খুব ছোট। এতে অন্তত ১০টি অক্ষর থাকতে হবে।",
        "এই পাসওয়ার্ডটি খুব সাধারণ। অনুমান করা কঠিন এমন একটি পাসওয়ার্ড বেছে নিন।",
        "এই পাসওয়ার্ডে শুধু সংখ্যা আছে। অক্ষর বা চিহ্ন যোগ করুন।",
    ]
    assert not User.objects.filter(email="not-an-email").exists()


def test_password_rules_name_the_similar_field_in_each_language():
    user = User(email="farhana.akter@example.com", full_name="Farhana Akter")

    assert password_problems("farhana.akter", user=user, language="en") == [
        "This password is too similar to your email address."
    ]
    assert password_problems("farhana.akter", user=user, language="bn") == [
        "এই পাসওয়ার্ডটি আপনার ইমেইল ঠিকানা-এর সাথে খুব মিলে যায়।"
    ]
    assert password_problems("x" * 129, language="en") == [
        "This password is too long. It can contain at most 128 characters."
    ]
    assert password_problems(STRONG, user=user) == []


def test_registering_a_taken_email_is_a_conflict(client, member):
    response = client(
        "POST",
        "/api/v1/auth/register",
        json_body={"email": member.email.upper(), "password": STRONG},
    )

    assert (response.status, error_of(response)) == (409, "email_taken")
    assert User.objects.filter(email=member.email).count() == 1


def test_wrong_password_and_unknown_email_get_the_same_answer(client, member):
    wrong = client(
        "POST", "/api/v1/auth/login", json_body={"email": member.email, "password": "nope-nope-1"}
    )
    unknown = client(
        "POST",
        "/api/v1/auth/login",
        json_body={"email": "nobody@example.com", "password": "nope-nope-1"},
    )

    assert wrong.status == unknown.status == 401
    strip = lambda body: {**body["error"], "request_id": None}  # noqa: E731
    assert strip(wrong.json()) == strip(unknown.json())
    assert error_of(wrong) == "invalid_credentials"


def test_disabled_account_cannot_sign_in(client, member):
    User.objects.filter(pk=member.pk).update(is_active=False)

    response = client(
        "POST", "/api/v1/auth/login", json_body={"email": member.email, "password": STRONG}
    )

    assert (response.status, error_of(response)) == (403, "account_disabled")


def test_sign_ins_and_failures_land_in_the_activity_log(client, member):
    sign_in(client, member.email)
    client(
        "POST", "/api/v1/auth/login", json_body={"email": member.email, "password": "wrong-1234"}
    )

    outbox_dispatch()

    documents = list(get_documents_db()[ACTIVITY_COLLECTION].find({"user_id": str(member.pk)}))
    assert sorted(d["activity_type"] for d in documents) == ["sign_in", "sign_in_failed"]
    failed = next(d for d in documents if d["activity_type"] == "sign_in_failed")
    assert failed["details"] == {"email": member.email, "reason": "wrong_password"}
    assert set(failed) >= {"ip", "timestamp"}


def test_logout_revokes_the_access_token_at_once(client, member, kv):
    tokens = sign_in(client, member.email)
    session_id = access_token_verify(tokens["access_token"]).session_id
    assert client("GET", "/api/v1/auth/me", token=tokens["access_token"]).status == 200

    logout = client("POST", "/api/v1/auth/logout", token=tokens["access_token"])

    assert logout.status == 204
    assert kv.exists(session_key(session_id)) == 0
    me = client("GET", "/api/v1/auth/me", token=tokens["access_token"])
    assert (me.status, error_of(me)) == (401, "token_revoked")
    refresh = client(
        "POST", "/api/v1/auth/refresh", json_body={"refresh_token": tokens["refresh_token"]}
    )
    assert (refresh.status, error_of(refresh)) == (401, "refresh_token_invalid")
    outbox_dispatch()
    activity = get_documents_db()[ACTIVITY_COLLECTION]
    assert activity.count_documents({"user_id": str(member.pk), "activity_type": "sign_out"}) == 1


def test_signed_in_routes_need_a_valid_token(client):
    anonymous = client("GET", "/api/v1/auth/me")
    forged = client("GET", "/api/v1/auth/me", token="eyJhbGciOiJub25lIn0.e30.")

    assert (anonymous.status, error_of(anonymous)) == (401, "unauthenticated")
    assert (forged.status, error_of(forged)) == (401, "token_invalid")


def test_refresh_rotates_and_a_replay_ends_the_session(client, member, kv):
    first = sign_in(client, member.email)
    session_id = access_token_verify(first["access_token"]).session_id

    rotated = client(
        "POST", "/api/v1/auth/refresh", json_body={"refresh_token": first["refresh_token"]}
    )
    assert rotated.status == 200
    assert rotated.json()["user"]["email"] == member.email  # the same answer as signing in
    second = rotated.json()["tokens"]
    assert second["refresh_token"] != first["refresh_token"]
    assert client("GET", "/api/v1/auth/me", token=second["access_token"]).status == 200

    kv.delete(f"session:{session_id}:previous")  # the rotation grace runs out
    replay = client(
        "POST", "/api/v1/auth/refresh", json_body={"refresh_token": first["refresh_token"]}
    )

    assert (replay.status, error_of(replay)) == (401, "refresh_token_reused")
    me = client("GET", "/api/v1/auth/me", token=second["access_token"])
    assert (me.status, error_of(me)) == (401, "token_revoked")


def test_forgot_password_answers_the_same_for_known_and_unknown_emails(client, member):
    mail.outbox.clear()
    known = client("POST", "/api/v1/auth/password/forgot", json_body={"email": member.email})
    unknown = client(
        "POST", "/api/v1/auth/password/forgot", json_body={"email": "ghost@example.com"}
    )

    assert known.status == unknown.status == 202
    assert known.body == unknown.body
    assert known.json()["message"].startswith("If an account uses this email address")
    assert outbox_dispatch() == 2
    assert [m.to for m in mail.outbox] == [[member.email]]


def test_password_reset_is_single_use_and_signs_out_everywhere(client, member, kv):
    old_session = sign_in(client, member.email)
    client("POST", "/api/v1/auth/password/forgot", json_body={"email": member.email})
    mail.outbox.clear()
    token = emailed_token(member.email)

    weak = client(
        "POST",
        "/api/v1/auth/password/reset",
        json_body={"token": token, "new_password": "password"},
        language="bn",
    )
    assert (weak.status, error_of(weak)) == (422, "password_too_weak")
    assert weak.json()["error"]["fields"]["password"] == [
        "পাসওয়ার্ডটি খুব ছোট। এতে অন্তত ১০টি অক্ষর থাকতে হবে।",
        "এই পাসওয়ার্ডটি খুব সাধারণ। অনুমান করা কঠিন এমন একটি পাসওয়ার্ড বেছে নিন।",
    ]

    reset = client(
        "POST",
        "/api/v1/auth/password/reset",
        json_body={"token": token, "new_password": "jackfruit-season-77"},
    )
    again = client(
        "POST",
        "/api/v1/auth/password/reset",
        json_body={"token": token, "new_password": "another-one-88-x"},
    )

    assert reset.status == 204
    assert (again.status, error_of(again)) == (400, "reset_token_invalid")
    me = client("GET", "/api/v1/auth/me", token=old_session["access_token"])
    assert (me.status, error_of(me)) == (401, "token_revoked")
    assert sign_in(client, member.email, "jackfruit-season-77")["access_token"]
    old = client(
        "POST", "/api/v1/auth/login", json_body={"email": member.email, "password": STRONG}
    )
    assert old.status == 401
    member.refresh_from_db()
    assert member.email_verified_at is not None  # the link proved the mailbox
    outbox_dispatch()
    assert [m.subject for m in mail.outbox if m.to == [member.email]][-1].startswith(
        "Your password was changed"
    )


def test_reset_token_expires(client, member, kv):
    client("POST", "/api/v1/auth/password/forgot", json_body={"email": member.email})
    mail.outbox.clear()
    token = emailed_token(member.email)
    key = token_key("reset", token)
    assert 3590 <= kv.ttl(key) <= 3600

    kv.pexpire(key, 1)
    while kv.exists(key):
        pass

    response = client(
        "POST",
        "/api/v1/auth/password/reset",
        json_body={"token": token, "new_password": "jackfruit-season-77"},
    )
    assert (response.status, error_of(response)) == (400, "reset_token_invalid")


def test_reset_token_dies_when_the_password_changes_first(client, member):
    client("POST", "/api/v1/auth/password/forgot", json_body={"email": member.email})
    mail.outbox.clear()
    token = emailed_token(member.email)
    member.set_password("changed-elsewhere-9")
    member.save()

    response = client(
        "POST",
        "/api/v1/auth/password/reset",
        json_body={"token": token, "new_password": "jackfruit-season-77"},
    )

    assert (response.status, error_of(response)) == (400, "reset_token_invalid")


def test_password_change_keeps_this_session_and_ends_the_others(client, member):
    this = sign_in(client, member.email)
    other = sign_in(client, member.email)

    wrong = client(
        "POST",
        "/api/v1/auth/password/change",
        token=this["access_token"],
        json_body={"old_password": "not-it-at-all", "new_password": "jackfruit-season-77"},
    )
    changed = client(
        "POST",
        "/api/v1/auth/password/change",
        token=this["access_token"],
        json_body={"old_password": STRONG, "new_password": "jackfruit-season-77"},
    )

    assert (wrong.status, error_of(wrong)) == (422, "password_incorrect")
    assert list(wrong.json()["error"]["fields"]) == ["old_password"]
    assert changed.status == 204
    assert client("GET", "/api/v1/auth/me", token=this["access_token"]).status == 200
    assert client("GET", "/api/v1/auth/me", token=other["access_token"]).status == 401
    outbox_dispatch()
    changes = get_documents_db()[ACTIVITY_COLLECTION].find(
        {"user_id": str(member.pk), "activity_type": "password_changed"}
    )
    assert [d["details"] for d in changes] == [{"via": "change"}]


def test_verification_email_can_be_requested_again_until_verified(client, member):
    tokens = sign_in(client, member.email)
    mail.outbox.clear()

    sent = client("POST", "/api/v1/auth/verify-email/request", token=tokens["access_token"])
    token = emailed_token(member.email)
    client("POST", "/api/v1/auth/verify-email/confirm", json_body={"token": token})
    done = client(
        "POST", "/api/v1/auth/verify-email/request", token=tokens["access_token"], language="bn"
    )

    assert sent.status == 202
    assert sent.json()["message"].startswith("A verification link is on its way")
    assert done.status == 202
    assert done.json()["message"] == "আপনার ইমেইল ঠিকানা ইতিমধ্যে যাচাই করা হয়েছে।"


def test_verification_token_is_bound_to_the_address(client, member):
    tokens = sign_in(client, member.email)
    mail.outbox.clear()
    client("POST", "/api/v1/auth/verify-email/request", token=tokens["access_token"])
    token = emailed_token(member.email)
    User.objects.filter(pk=member.pk).update(email=f"new-{member.email}")

    response = client("POST", "/api/v1/auth/verify-email/confirm", json_body={"token": token})

    assert (response.status, error_of(response)) == (400, "verification_token_invalid")
    member.refresh_from_db()
    assert member.email_verified_at is None


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("01712345678", "+8801712345678"),
        ("+880 1812-345678", "+8801812345678"),
        ("০১৯১২৩৪৫৬৭৮", "+8801912345678"),
        ("029876543", None),  # a Dhaka landline
        ("+447911123456", None),
        ("0171234", None),
    ],
)
def test_phone_must_be_a_bangladeshi_mobile_number(raw, e164):
    if e164 is None:
        with pytest.raises(ValueError):
            phone_normalize(raw)
    else:
        assert phone_normalize(raw) == e164


@pytest.mark.django_db(transaction=True)
def test_concurrent_registrations_of_one_email_create_one_account(kv):
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def register() -> None:
        barrier.wait()
        try:
            user_register(email="twice@example.com", password=STRONG)
            outcomes.append("created")
        except ApiError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=register) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["created", "email_taken", "email_taken", "email_taken"]
    assert User.objects.filter(email="twice@example.com").count() == 1
