"""Roles and route permissions (`Require`), vendor scoping, and the users admin API."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

import api.users
from db.models import User, UserRole, Vendor, VendorMember
from lib.access.api_keys import api_key_create
from lib.access.context import AccessClaims, ApiKeyInfo, get_access
from lib.access.permissions import Require, has_permission, vendor_access_check
from lib.access.sessions import session_start
from lib.access.tokens import access_token_verify
from lib.documents import get_documents_db
from lib.errors import ApiError
from lib.outbox import outbox_dispatch
from tests.support import call

pytestmark = pytest.mark.django_db


def request_with(*, role: str | None = None, vendors=(), scopes=(), key_vendor=None):
    request = RequestFactory().get("/api/v1/anything")
    access = get_access(request)
    if role is not None:
        access.claims = AccessClaims("u-1", "s-1", role, tuple(vendors))
    access.api_key = ApiKeyInfo("k", "zk_sec_x", "secret", frozenset(scopes), (), key_vendor)
    return request


def refused(check, *args) -> tuple[int, str]:
    with pytest.raises(ApiError) as error:
        check(*args)
    return error.value.status_code, error.value.code


@pytest.mark.parametrize(
    ("role", "permission", "allowed"),
    [
        (UserRole.CUSTOMER, "orders:own", True),
        (UserRole.CUSTOMER, "users:read", False),
        (UserRole.SUPPORT, "users:read", True),
        (UserRole.SUPPORT, "users:manage", False),
        (UserRole.VENDOR_STAFF, "vendor:catalog", True),
        (UserRole.VENDOR_STAFF, "vendor:manage", False),
        (UserRole.VENDOR_OWNER, "vendor:manage", True),
        (UserRole.STAFF, "catalog:manage", True),
        (UserRole.STAFF, "users:manage", False),
        (UserRole.ADMIN, "users:manage", True),
        (UserRole.ADMIN, "anything:new", True),
    ],
)
def test_role_permissions(role, permission, allowed):
    assert has_permission(role, permission) is allowed


def test_require_checks_sign_in_permission_and_key_scope():
    rule = Require("users:read", scope="users:manage")
    signed_out = request_with(scopes={"users:manage"})
    assert refused(rule, signed_out) == (401, "unauthenticated")
    customer = request_with(role=UserRole.CUSTOMER, scopes={"users:manage"})
    assert refused(rule, customer) == (403, "forbidden")
    storefront_key = request_with(role=UserRole.ADMIN, scopes={"storefront:read"})
    assert refused(rule, storefront_key) == (403, "scope_denied")
    admin = request_with(role=UserRole.ADMIN, scopes={"users:manage"})
    assert rule(admin).user_id == "u-1"


def test_require_reports_why_a_token_was_not_accepted():
    request = request_with()
    get_access(request).token_error = "expired"
    assert refused(Require(), request) == (401, "token_expired")


def test_key_only_routes_need_no_user():
    assert Require(scope="catalog:manage", user=False)(request_with(scopes={"catalog:manage"}))


def test_vendor_staff_cannot_reach_another_vendors_data():
    member = request_with(role=UserRole.VENDOR_STAFF, vendors=["vendor-a"])
    vendor_access_check(member, "vendor-a")
    assert refused(vendor_access_check, member, "vendor-b") == (403, "forbidden")
    # Staff roles see every vendor; a vendor-bound key never leaves its vendor.
    vendor_access_check(request_with(role=UserRole.STAFF), "vendor-b")
    bound_key = request_with(role=UserRole.ADMIN, key_vendor="vendor-a")
    assert refused(vendor_access_check, bound_key, "vendor-b") == (403, "forbidden")
    vendor_access_check(request_with(key_vendor="vendor-a"), "vendor-a")


def test_vendor_membership_reaches_the_token(kv):
    owner = User.objects.create_user(email="owner@shop.test", password="x", role="vendor_owner")
    vendor = Vendor.objects.create(name="Nakshi", slug="nakshi")
    VendorMember.objects.create(vendor=vendor, user=owner, role="owner")
    tokens = session_start(user=owner, ip="127.0.0.1", user_agent="test")
    assert access_token_verify(tokens.access_token).vendor_ids == (str(vendor.pk),)


# --- the users admin API, through the whole pipeline ---------------------------------------


@pytest.fixture
def admin_call(kv):
    key, secret = api_key_create(name="back office", kind="secret", scopes=["users:manage"])

    def admin_call(actor: User, method: str, url: str, **kwargs):
        tokens = session_start(user=actor, ip="127.0.0.1", user_agent="test")
        headers = {
            "X-API-Key": key.key_id,
            "X-API-Secret": secret,
            "Authorization": f"Bearer {tokens.access_token}",
        }
        return call(api.users.app, method, url, headers=headers, **kwargs)

    return admin_call


def make_user(email: str, role: str) -> User:
    return User.objects.create_user(email=email, password="Long-enough-pass-1", role=role)


def test_support_can_list_users_but_not_change_roles(admin_call):
    support = make_user("support@zest.test", UserRole.SUPPORT)
    customer = make_user("nusrat@zest.test", UserRole.CUSTOMER)
    listed = admin_call(support, "GET", "/api/v1/admin/users?role=customer").json()
    assert [user["email"] for user in listed["items"]] == ["nusrat@zest.test"]
    response = admin_call(
        support, "PATCH", f"/api/v1/admin/users/{customer.pk}", json_body={"role": "staff"}
    )
    assert (response.status, response.json()["error"]["code"]) == (403, "forbidden")


def test_a_role_change_ends_the_users_sessions_and_is_recorded(admin_call, kv):
    admin = make_user("boss@zest.test", UserRole.ADMIN)
    customer = make_user("rafiq@zest.test", UserRole.CUSTOMER)
    their_session = session_start(user=customer, ip="127.0.0.1", user_agent="phone")
    session_key = f"session:{access_token_verify(their_session.access_token).session_id}"
    assert kv.exists(session_key) == 1

    response = admin_call(
        admin, "PATCH", f"/api/v1/admin/users/{customer.pk}", json_body={"role": "support"}
    )

    assert response.status == 200 and response.json()["role"] == "support"
    customer.refresh_from_db()
    assert (customer.role, customer.is_staff) == ("support", True)
    assert kv.exists(session_key) == 0
    outbox_dispatch()
    record = get_documents_db().user_activity.find_one(
        {"user_id": str(customer.pk), "activity_type": "role_changed"}
    )
    assert record["details"]["from"] == "customer" and record["details"]["to"] == "support"


def test_only_admins_grant_privileged_roles_and_nobody_changes_their_own(admin_call):
    staff = make_user("kamal@zest.test", UserRole.STAFF)
    admin = make_user("farhana@zest.test", UserRole.ADMIN)
    customer = make_user("arif@zest.test", UserRole.CUSTOMER)
    promote = {"role": "admin"}
    assert (
        admin_call(staff, "PATCH", f"/api/v1/admin/users/{customer.pk}", json_body=promote).status
        == 403
    )
    own = admin_call(
        admin, "PATCH", f"/api/v1/admin/users/{admin.pk}", json_body={"is_active": False}
    )
    assert own.status == 403
    done = admin_call(admin, "PATCH", f"/api/v1/admin/users/{customer.pk}", json_body=promote)
    assert done.status == 200 and done.json()["role"] == "admin"


def test_deactivated_users_are_listed_as_such_and_unknown_ids_are_404(admin_call):
    admin = make_user("root@zest.test", UserRole.ADMIN)
    customer = make_user("gone@zest.test", UserRole.CUSTOMER)
    admin_call(admin, "PATCH", f"/api/v1/admin/users/{customer.pk}", json_body={"is_active": False})
    inactive = admin_call(admin, "GET", "/api/v1/admin/users?is_active=false").json()
    assert [user["email"] for user in inactive["items"]] == ["gone@zest.test"]
    missing = admin_call(admin, "GET", "/api/v1/admin/users/6b0c1e7e-0000-4000-8000-000000000001")
    assert missing.status == 404
