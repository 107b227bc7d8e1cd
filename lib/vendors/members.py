"""A vendor's people: owners add existing users by email or phone as owner or staff, change
their role and remove them; the last owner can neither leave nor be demoted.

A user's global role follows their memberships (`user_role_sync`: vendor_owner when they own
any vendor, vendor_staff when they only work for some, customer when none; staff and admins
keep theirs), and every change ends the person's sessions, as any role change does, so their
next token carries the new role and vendors.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from db.models import User, UserRole, VendorMember, VendorRole
from lib.access.sessions import sessions_end_all
from lib.errors import Conflict, NotFound
from lib.notifications.services import notify

VENDOR_ROLES = frozenset({UserRole.CUSTOMER, UserRole.VENDOR_STAFF, UserRole.VENDOR_OWNER})


def user_role_sync(user: User) -> None:
    """Set a customer's or vendor person's role from their memberships."""
    if user.role not in VENDOR_ROLES:
        return
    roles = set(VendorMember.objects.filter(user_id=user.pk).values_list("role", flat=True))
    role = (
        UserRole.VENDOR_OWNER
        if VendorRole.OWNER in roles
        else UserRole.VENDOR_STAFF
        if roles
        else UserRole.CUSTOMER
    )
    if role != user.role:
        user.role = role
        user.save(update_fields=["role", "updated_at"])


def members_sessions_end(user_ids: Iterable[Any]) -> None:
    """After the change committed: the people sign in again with their new access."""
    for user_id in user_ids:
        sessions_end_all(user_id=str(user_id))


def member_list(*, vendor_id: Any) -> QuerySet:
    return (
        VendorMember.objects.filter(vendor_id=vendor_id)
        .select_related("user")
        .order_by("created_at", "id")
    )


def user_for_contact(*, email: str | None = None, phone: str | None = None) -> User:
    """An existing, active user by email (any case) or phone; 404 otherwise."""
    users = User.objects.filter(is_active=True)
    user = (users.filter(email__iexact=email) if email else users.filter(phone=phone)).first()
    if user is None:
        field = "email" if email else "phone"
        raise NotFound("vendor_member_unknown_user", fields={field: ["no such user"]})
    return user


def member_add(
    *, vendor_id: Any, role: str, email: str | None = None, phone: str | None = None
) -> VendorMember:
    """409 `vendor_member_exists` when the user already belongs to the vendor."""
    user = user_for_contact(email=email, phone=phone)
    try:
        with transaction.atomic():
            member = VendorMember.objects.create(vendor_id=vendor_id, user=user, role=role)
            user_role_sync(user)
            notify(
                user_id=str(user.pk),
                kind="vendor.member_added",
                title=("You joined a shop", "আপনি একটি দোকানে যুক্ত হয়েছেন"),
                body=(
                    f"You are now {role} of {member.vendor.name}. Sign in again to start.",
                    f"আপনি এখন {member.vendor.name}-এর {role}। শুরু করতে আবার সাইন ইন করুন।",
                ),
                dedupe_key=f"vendor:member:{member.pk}:added",
            )
    except IntegrityError as exc:  # vendor_members_unique_user
        raise Conflict("vendor_member_exists", fields={"user": [str(user.pk)]}) from exc
    members_sessions_end([user.pk])
    return member_get(vendor_id=vendor_id, member_id=member.pk)


def member_get(*, vendor_id: Any, member_id: Any) -> VendorMember:
    member = member_list(vendor_id=vendor_id).filter(pk=member_id).first()
    if member is None:
        raise NotFound(fields={"id": [str(member_id)]})
    return member


def owners_locked(vendor_id: Any) -> list[VendorMember]:
    """The vendor's memberships, locked (so two owners cannot remove each other at once),
    and which of them are owners."""
    members = list(
        VendorMember.objects.select_for_update().filter(vendor_id=vendor_id).order_by("pk")
    )
    return [m for m in members if m.role == VendorRole.OWNER]


def member_update(*, vendor_id: Any, member_id: Any, role: str) -> VendorMember:
    """Change a member's role; demoting the last owner is 409 `vendor_last_owner`."""
    with transaction.atomic():
        owners = owners_locked(vendor_id)
        member = member_get(vendor_id=vendor_id, member_id=member_id)
        if member.role == role:
            return member
        if member.role == VendorRole.OWNER and len(owners) == 1:
            raise Conflict("vendor_last_owner", fields={"role": [role]})
        member.role = role
        member.save(update_fields=["role", "updated_at"])
        user_role_sync(member.user)
    members_sessions_end([member.user_id])
    return member


def member_remove(*, vendor_id: Any, member_id: Any) -> None:
    """Remove a member; the last owner is 409 `vendor_last_owner`."""
    with transaction.atomic():
        owners = owners_locked(vendor_id)
        member = member_get(vendor_id=vendor_id, member_id=member_id)
        if member.role == VendorRole.OWNER and len(owners) == 1:
            raise Conflict("vendor_last_owner", fields={"id": [str(member_id)]})
        member.delete()
        user_role_sync(member.user)
    members_sessions_end([member.user_id])
