"""Administration of API keys: /api/v1/admin/api-keys."""

from datetime import datetime
from uuid import UUID

from lib.runtime import make_app

from ninja import Field, Query, Router, Schema, Status

from db.models import ApiKeyKind
from lib.access import api_keys
from lib.access.permissions import Require
from lib.pagination import PageParams, paginate
from lib.schemas import ErrorOut, InputSchema

router = Router(tags=["admin: API keys"])
manage = Require("api_keys:manage", scope="api_keys:manage")


class ApiKeySecretOut(Schema):
    prefix: str = Field(description="The secret's first characters, to recognise it")
    created_at: datetime
    expires_at: datetime | None


class ApiKeyOut(Schema):
    id: UUID
    key_id: str = Field(description="Sent as X-API-Key")
    name: str
    kind: ApiKeyKind
    scopes: list[str]
    allowed_origins: list[str]
    vendor_id: UUID | None
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    secrets: list[ApiKeySecretOut] = Field(description="Newest first")

    @staticmethod
    def resolve_secrets(key) -> list:
        return sorted(key.secrets.all(), key=lambda secret: secret.created_at, reverse=True)


class ApiKeyPageOut(Schema):
    items: list[ApiKeyOut]
    count: int
    page: int
    page_size: int
    pages: int


class ApiKeyQuery(PageParams):
    kind: ApiKeyKind | None = None
    vendor_id: UUID | None = None
    revoked: bool | None = None
    q: str | None = Field(None, max_length=100, description="Search names, or an exact key id")


class ApiKeyIn(InputSchema):
    name: str = Field(min_length=1, max_length=100)
    kind: ApiKeyKind
    scopes: list[str] = Field(min_length=1, description=f"Any of: {', '.join(api_keys.SCOPES)}")
    allowed_origins: list[str] = Field(
        default_factory=list, description="Publishable keys: e.g. https://shop.example.com"
    )
    vendor_id: UUID | None = None


class ApiKeyCreatedOut(Schema):
    key: ApiKeyOut
    secret: str | None = Field(
        description="Secret keys only; shown this once and never again (only a hash is kept)"
    )


class ApiKeyRotateIn(InputSchema):
    overlap_seconds: int = Field(
        86400,
        ge=0,
        le=api_keys.MAX_OVERLAP_SECONDS,
        description="How long the current secrets keep working",
    )


class ApiKeyRotatedOut(Schema):
    key: ApiKeyOut
    secret: str = Field(description="The new secret; shown this once and never again")


@router.get("", response=ApiKeyPageOut, auth=manage)
def list_api_keys(request, query: Query[ApiKeyQuery]):
    """The API keys, filtered by kind, vendor, revocation or a search."""
    api_keys.api_key_sync_last_used()
    filters = api_keys.ApiKeyFilters(
        kind=query.kind,
        vendor_id=str(query.vendor_id) if query.vendor_id else None,
        revoked=query.revoked,
        search=query.q,
    )
    return paginate(api_keys.api_key_list(filters=filters), query)


@router.post("", response={201: ApiKeyCreatedOut}, auth=manage)
def create_api_key(request, payload: ApiKeyIn):
    """Create an API key; a secret key's secret is shown in this answer only."""
    key, secret = api_keys.api_key_create(
        name=payload.name,
        kind=payload.kind,
        scopes=payload.scopes,
        allowed_origins=payload.allowed_origins,
        vendor=api_keys.vendor_for_key(vendor_id=payload.vendor_id),
        created_by_id=request.auth.user_id,
    )
    return Status(201, {"key": key, "secret": secret})


@router.get("/{key_id}", response=ApiKeyOut, auth=manage)
def get_api_key(request, key_id: str):
    """One API key (never its secret)."""
    return api_keys.api_key_get(key_id=key_id)


@router.post("/{key_id}/rotate", response={200: ApiKeyRotatedOut, 409: ErrorOut}, auth=manage)
def rotate_api_key(request, key_id: str, payload: ApiKeyRotateIn):
    """Issue a new secret; the old one keeps working for `overlap_seconds`."""
    secret = api_keys.api_key_rotate(
        api_key=api_keys.api_key_get(key_id=key_id), overlap_seconds=payload.overlap_seconds
    )
    return {"key": api_keys.api_key_get(key_id=key_id), "secret": secret}


@router.post("/{key_id}/revoke", response=ApiKeyOut, auth=manage)
def revoke_api_key(request, key_id: str):
    """Revoke a key: every call with it is refused from now on."""
    return api_keys.api_key_revoke(api_key=api_keys.api_key_get(key_id=key_id))


app = make_app(
    "api_keys", [("/admin/api-keys", router)], title="Zest Store API keys administration"
)
