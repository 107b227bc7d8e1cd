"""Discount administration: /api/v1/admin/discounts (coupons and automatic promotions).

Staff holding `orders:manage`, through an API key with the `orders:manage` scope, list,
create, update and deactivate discounts. A discount without a code is an automatic promotion.
"""

from datetime import datetime
from decimal import Decimal
from typing import Generic, TypeVar
from uuid import UUID

from lib.runtime import make_app

from ninja import Field, Query, Router, Schema, Status

from db.models import DiscountKind
from lib.access.permissions import Require
from lib.discounts import admin as services
from lib.money import Money
from lib.pagination import PageParams, paginate
from lib.schemas import ErrorOut, InputSchema, PositiveCount

router = Router(tags=["admin: discounts"])
ACCESS = Require("orders:manage", scope="orders:manage")
MAX_SCOPE_IDS = 500

Item = TypeVar("Item")


class PageOut(Schema, Generic[Item]):
    items: list[Item]
    count: int
    page: int
    page_size: int
    pages: int


class DiscountBase(InputSchema):
    code: str | None = Field(
        None, max_length=40, description="Unique, case-insensitive; empty for a promotion"
    )
    max_discount: Decimal | None = Field(
        None, ge=0, max_digits=12, decimal_places=2, description="Cap for percentages"
    )
    min_order: Decimal = Field(Decimal("0"), ge=0, max_digits=12, decimal_places=2)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    usage_limit: PositiveCount | None = None
    usage_limit_per_customer: PositiveCount | None = None
    stackable: bool = False
    priority: int = Field(0, ge=0, le=32767)
    is_active: bool = True
    category_ids: list[UUID] = Field(default_factory=list, max_length=MAX_SCOPE_IDS)
    product_ids: list[UUID] = Field(default_factory=list, max_length=MAX_SCOPE_IDS)
    vendor_ids: list[UUID] = Field(default_factory=list, max_length=MAX_SCOPE_IDS)


class DiscountIn(DiscountBase):
    name: str = Field(..., min_length=1, max_length=100)
    kind: DiscountKind
    value: Decimal = Field(
        Decimal("0"), ge=0, max_digits=12, decimal_places=2, description="Percent or taka"
    )


class DiscountPatch(DiscountBase):
    name: str | None = Field(None, min_length=1, max_length=100)
    kind: DiscountKind | None = None
    value: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)


class DiscountOut(Schema):
    id: UUID
    code: str | None
    name: str
    kind: DiscountKind
    value: Decimal = Field(..., description="Percent off, or taka off (see `kind`)")
    max_discount: Money | None
    min_order: Money
    starts_at: datetime | None
    ends_at: datetime | None
    usage_limit: int | None
    usage_limit_per_customer: int | None
    times_used: int
    stackable: bool
    priority: int
    is_active: bool
    category_ids: list[UUID]
    product_ids: list[UUID]
    vendor_ids: list[UUID]
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_category_ids(discount) -> list[UUID]:
        return [row.pk for row in discount.categories.all()]

    @staticmethod
    def resolve_product_ids(discount) -> list[UUID]:
        return [row.pk for row in discount.products.all()]

    @staticmethod
    def resolve_vendor_ids(discount) -> list[UUID]:
        return [row.pk for row in discount.vendors.all()]


class DiscountQuery(PageParams):
    active: bool | None = None
    q: str = Field("", max_length=100, description="Part of the code or name")


@router.get("", response=PageOut[DiscountOut], auth=ACCESS)
def list_discounts(request, query: Query[DiscountQuery]):
    """Discounts and coupons, filtered by active or a search."""
    return paginate(services.discount_list(active=query.active, search=query.q), query)


@router.post("", response={201: DiscountOut, 409: ErrorOut}, auth=ACCESS)
def create_discount(request, payload: DiscountIn):
    """Create a discount: a coupon (with a code) or an automatic promotion."""
    return Status(201, services.discount_create(data=payload.dict()))


@router.get("/{discount_id}", response=DiscountOut, auth=ACCESS)
def get_discount(request, discount_id: UUID):
    """One discount with its targets and usage."""
    return services.discount_get(discount_id=discount_id)


@router.patch("/{discount_id}", response={200: DiscountOut, 409: ErrorOut}, auth=ACCESS)
def update_discount(request, discount_id: UUID, payload: DiscountPatch):
    """Change a discount: only the fields sent change."""
    changes = payload.dict(exclude_unset=True)
    for required in ("name", "kind", "value"):
        if changes.get(required, "") is None:
            changes.pop(required)
    return services.discount_update(discount_id=discount_id, changes=changes)


@router.post("/{discount_id}/deactivate", response=DiscountOut, auth=ACCESS)
def deactivate_discount(request, discount_id: UUID):
    """Stop a discount from applying (kept for the orders that used it)."""
    return services.discount_deactivate(discount_id=discount_id)


app = make_app(
    "discounts", [("/admin/discounts", router)], title="Zest Store discount administration"
)
