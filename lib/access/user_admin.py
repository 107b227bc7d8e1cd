"""Managing users as an administrator: listing, role changes, deactivation."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q, QuerySet

from db.models import User, UserRole
from lib.access.activity import activity_record
from lib.access.context import AccessClaims
from lib.access.sessions import sessions_end_all
from lib.errors import ApiError, NotFound

# Roles only an administrator may hand out (or take away).
PRIVILEGED_ROLES = frozenset({UserRole.ADMIN, UserRole.STAFF})


@dataclass(frozen=True, slots=True)
class UserFilters:
    role: str | None = None
    search: str | None = None
    is_active: bool | None = None


def user_list(*, filters: UserFilters) -> QuerySet[User]:
    users = User.objects.all()
    if filters.role:
        users = users.filter(role=filters.role)
    if filters.is_active is not None:
        users = users.filter(is_active=filters.is_active)
    if filters.search:
        term = filters.search.strip()
        users = users.filter(
            Q(email__icontains=term) | Q(full_name__icontains=term) | Q(phone__icontains=term)
        )
    return users.order_by("-created_at", "id")


def user_get(*, user_id: str) -> User:
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise NotFound(fields={"id": [str(user_id)]})
    return user


def user_update_access(
    *,
    actor: AccessClaims,
    user: User,
    role: str | None = None,
    is_active: bool | None = None,
    ip: str = "",
) -> User:
    """Change a user's role and/or active flag. Either change ends all of the user's sessions,
    so the new role applies at once instead of when the current access token expires."""
    if str(user.pk) == actor.user_id:
        raise ApiError(
            "forbidden", status=403, fields={"id": ["You cannot change your own access."]}
        )
    touches_privileged = role in PRIVILEGED_ROLES or user.role in PRIVILEGED_ROLES
    if touches_privileged and actor.role != UserRole.ADMIN:
        raise ApiError("forbidden", status=403, fields={"role": ["Only an administrator can."]})
    changed: list[str] = []
    previous_role = user.role
    if role is not None and role != user.role:
        user.role = role
        user.is_staff = role in PRIVILEGED_ROLES | {UserRole.SUPPORT}
        changed += ["role", "is_staff"]
    if is_active is not None and is_active != user.is_active:
        user.is_active = is_active
        changed.append("is_active")
    if not changed:
        return user
    with transaction.atomic():
        user.save(update_fields=[*changed, "updated_at"])
        if "role" in changed:
            activity_record(
                user_id=str(user.pk),
                activity_type="role_changed",
                details={"from": previous_role, "to": user.role, "by": actor.user_id},
                ip=ip,
            )
    sessions_end_all(user_id=str(user.pk))
    return user
