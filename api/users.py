"""Administration of users and roles: /api/v1/admin/users."""

from datetime import datetime
from uuid import UUID

from lib.runtime import make_app

from ninja import Field, Query, Router, Schema

from db.models import UserRole
from lib.access import user_admin
from lib.access.context import client_ip
from lib.access.permissions import Require
from lib.pagination import PageParams, paginate
from lib.schemas import InputSchema

router = Router(tags=["admin: users"])


class ManagedUserOut(Schema):
    id: UUID
    email: str | None
    full_name: str
    phone: str
    role: UserRole
    is_active: bool
    email_verified_at: datetime | None
    created_at: datetime


class ManagedUserPageOut(Schema):
    items: list[ManagedUserOut]
    count: int
    page: int
    page_size: int
    pages: int


class UserQuery(PageParams):
    role: UserRole | None = None
    q: str | None = Field(None, max_length=100, description="Search email and name")
    is_active: bool | None = None


class UserAccessIn(InputSchema):
    role: UserRole | None = None
    is_active: bool | None = None


@router.get("", response=ManagedUserPageOut, auth=Require("users:read", scope="users:manage"))
def list_users(request, query: Query[UserQuery]):
    """Users, filtered by role, active or a search."""
    filters = user_admin.UserFilters(role=query.role, search=query.q, is_active=query.is_active)
    return paginate(user_admin.user_list(filters=filters), query)


@router.get("/{user_id}", response=ManagedUserOut, auth=Require("users:read", scope="users:manage"))
def get_user(request, user_id: UUID):
    """One user."""
    return user_admin.user_get(user_id=user_id)


@router.patch(
    "/{user_id}", response=ManagedUserOut, auth=Require("users:manage", scope="users:manage")
)
def update_user_access(request, user_id: UUID, payload: UserAccessIn):
    """Change a user's role or active flag; either change signs the user out everywhere."""
    return user_admin.user_update_access(
        actor=request.auth,
        user=user_admin.user_get(user_id=user_id),
        role=payload.role,
        is_active=payload.is_active,
        ip=client_ip(request),
    )


app = make_app("users", [("/admin/users", router)], title="Zest Store users administration")
