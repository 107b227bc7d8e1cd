"""Selling on the store: /api/v1/vendors/...

A signed-in user applies to sell (`/applications`); once approved they own a vendor and work
under `/vendors/{vendor_id}/...`: its parts of orders (only its own lines), fulfilment moves,
balance, ledger, payouts, dashboard and people. A vendor's members reach only their vendors
(403 for any other); staff (`vendors:manage`) reach every vendor.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from lib.runtime import make_app

from ninja import Field, Query, Router, Schema, Status
from pydantic import model_validator

from db.models import LedgerKind, OrderStatus, PayoutMethod, VendorRole
from lib.access.permissions import Require
from lib.money import Money
from lib.pagination import PageParams, paginate
from lib.schemas import ErrorOut, InputSchema
from lib.vendors import fulfilment, members, onboarding, selectors
from lib.vendors.access import (
    KEY_SCOPE,
    MEMBER_ACCESS,
    OWNER_ACCESS,
    vendor_for_request,
    vendor_owner_check,
)
from lib.vendors.balances import vendor_balance

router = Router(tags=["vendors"])
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
SIGNED_IN = Require(scope="storefront:write")


class VendorPageBase(Schema):
    count: int
    page: int
    page_size: int
    pages: int


# --- applications ------------------------------------------------------------------------------


class VendorPayoutAccountIn(InputSchema):
    account_number: str = Field(..., min_length=4, max_length=34)
    account_name: str = Field("", max_length=255, description="Bank only")
    bank_name: str = Field("", max_length=255, description="Bank only")
    branch: str = Field("", max_length=255, description="Bank only")
    routing_number: str = Field("", max_length=20, description="Bank only, optional")


class VendorApplicationIn(InputSchema):
    business_name: str = Field(..., min_length=2, max_length=255)
    slug: str = Field(..., pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=100)
    contact_email: str = Field(..., max_length=254, pattern=EMAIL_PATTERN)
    contact_phone: str = Field(
        ..., pattern=r"^\+8801[3-9]\d{8}$", description="E.164, e.g. +8801712345678"
    )
    trade_licence_no: str = Field(..., min_length=3, max_length=64)
    nid_no: str = Field("", pattern=r"^(\d{10}|\d{13}|\d{17})?$", description="Optional")
    payout_method: PayoutMethod
    payout_account: VendorPayoutAccountIn


class VendorApplicationOut(Schema):
    id: UUID
    business_name: str
    slug: str
    contact_email: str
    contact_phone: str
    trade_licence_no: str
    payout_method: PayoutMethod
    status: str
    decision_reason: str
    decided_at: datetime | None
    vendor_id: UUID | None
    created_at: datetime


@router.post("/applications", response={201: VendorApplicationOut, 409: ErrorOut}, auth=SIGNED_IN)
def apply(request, payload: VendorApplicationIn):
    """Apply to sell on the store; staff review it. One open application at a time."""
    fields = payload.model_dump()
    application = onboarding.application_submit(user_id=request.auth.user_id, **fields)
    return Status(201, application)


@router.get("/applications/mine", response=list[VendorApplicationOut], auth=SIGNED_IN)
def my_applications(request):
    """The caller's applications, newest first, with their decisions."""
    return list(onboarding.application_list(applicant_id=request.auth.user_id))


class VendorMembershipOut(Schema):
    vendor_id: UUID
    name: str
    slug: str
    status: str
    role: VendorRole

    @staticmethod
    def resolve_name(member) -> str:
        return member.vendor.name

    @staticmethod
    def resolve_slug(member) -> str:
        return member.vendor.slug

    @staticmethod
    def resolve_status(member) -> str:
        return member.vendor.status


@router.get("/mine", response=list[VendorMembershipOut], auth=Require(scope=KEY_SCOPE))
def my_vendors(request):
    """The vendors the caller belongs to, with their role on each."""
    return list(selectors.vendors_of_user(user_id=request.auth.user_id))


# --- parts of orders ----------------------------------------------------------------------------


class VendorOrderLineOut(Schema):
    product_id: UUID
    variation_id: UUID | None
    name_en: str = Field(..., alias="product_name")
    name_bn: str = Field(..., alias="product_name_bn")
    sku: str
    quantity: int
    unit_price: Money
    total_price: Money
    commission_rate: Decimal = Field(..., description="Percent, frozen at placement")
    commission: Money

    @staticmethod
    def resolve_commission_rate(item) -> Decimal:
        return item.vendor_line.commission_rate

    @staticmethod
    def resolve_commission(item) -> Decimal:
        return item.vendor_line.commission


class VendorShipToOut(Schema):
    full_name: str
    phone: str
    address_line1: str
    address_line2: str
    area: str
    upazila: str
    district: str
    division: str
    postal_code: str


class VendorOrderOut(Schema):
    id: UUID
    number: str = Field(..., description="The customer's order number")
    status: str = Field(..., description="This vendor's part (an order status)")
    order_status: str
    payment_method: str
    placed_at: datetime
    subtotal: Money
    commission: Money
    payout_amount: Money
    ship_to: VendorShipToOut
    lines: list[VendorOrderLineOut]

    @staticmethod
    def resolve_number(part) -> str:
        return part.order.number

    @staticmethod
    def resolve_order_status(part) -> str:
        return part.order.status

    @staticmethod
    def resolve_payment_method(part) -> str:
        return part.order.payment_method

    @staticmethod
    def resolve_placed_at(part) -> datetime:
        return part.order.placed_at

    @staticmethod
    def resolve_ship_to(part) -> dict[str, str]:
        return selectors.shipping_to(part)

    @staticmethod
    def resolve_lines(part) -> list[Any]:
        return part.order.own_items


class VendorOrderPageOut(VendorPageBase):
    items: list[VendorOrderOut]


class VendorOrderQuery(PageParams):
    status: OrderStatus | None = None
    number: str | None = Field(None, max_length=32, description="An order number")


class VendorOrderTransitionIn(InputSchema):
    to_status: Literal["shipped", "out_for_delivery", "delivered"]
    note: str = Field("", max_length=500)


@router.get("/{uuid:vendor_id}/orders", response=VendorOrderPageOut, auth=MEMBER_ACCESS)
def list_vendor_orders(request, vendor_id: UUID, query: Query[VendorOrderQuery]):
    """The vendor's parts of orders, newest first: its own lines and where to ship them."""
    vendor = vendor_for_request(request, vendor_id)
    parts = selectors.vendor_orders(vendor_id=vendor, status=query.status, number=query.number)
    return paginate(parts, query)


@router.get("/{uuid:vendor_id}/orders/{uuid:part_id}", response=VendorOrderOut, auth=MEMBER_ACCESS)
def get_vendor_order(request, vendor_id: UUID, part_id: UUID):
    """One part of an order of the vendor's (404 for another vendor's)."""
    vendor = vendor_for_request(request, vendor_id)
    return selectors.vendor_order_get(vendor_id=vendor, vendor_order_id=part_id)


@router.post(
    "/{uuid:vendor_id}/orders/{uuid:part_id}/transition",
    response={200: VendorOrderOut, 409: ErrorOut},
    auth=MEMBER_ACCESS,
)
def move_vendor_order(request, vendor_id: UUID, part_id: UUID, payload: VendorOrderTransitionIn):
    """Move the vendor's part along fulfilment (processing -> shipped -> out for delivery ->
    delivered); the order follows once every part has got as far."""
    vendor = vendor_for_request(request, vendor_id)
    fulfilment.vendor_order_transition(
        vendor_order_id=part_id,
        vendor_id=vendor,
        to_status=payload.to_status,
        actor_id=request.auth.user_id,
        note=payload.note,
    )
    return selectors.vendor_order_get(vendor_id=vendor, vendor_order_id=part_id)


# --- money ----------------------------------------------------------------------------------------


class VendorBalanceOut(Schema):
    vendor_id: UUID
    balance: Money = Field(..., description="Owed to the vendor now: the sum of its ledger")


class VendorLedgerEntryOut(Schema):
    id: UUID
    kind: LedgerKind
    amount: Money = Field(..., description="Credit positive, debit negative")
    order_number: str | None
    payout_id: UUID | None
    created_at: datetime

    @staticmethod
    def resolve_order_number(entry) -> str | None:
        return entry.vendor_order.order.number if entry.vendor_order_id else None


class VendorLedgerPageOut(VendorPageBase):
    items: list[VendorLedgerEntryOut]


class VendorLedgerQuery(PageParams):
    kind: LedgerKind | None = None


class VendorPayoutOut(Schema):
    id: UUID
    vendor_id: UUID
    amount: Money
    method: PayoutMethod
    reference: str
    status: str
    period_start: date | None
    period_end: date | None
    note: str
    created_at: datetime


class VendorPayoutPageOut(VendorPageBase):
    items: list[VendorPayoutOut]


@router.get("/{uuid:vendor_id}/balance", response=VendorBalanceOut, auth=MEMBER_ACCESS)
def get_balance(request, vendor_id: UUID):
    """What the store owes the vendor now."""
    vendor = vendor_for_request(request, vendor_id)
    return {"vendor_id": vendor, "balance": vendor_balance(vendor)}


@router.get("/{uuid:vendor_id}/ledger", response=VendorLedgerPageOut, auth=MEMBER_ACCESS)
def list_ledger(request, vendor_id: UUID, query: Query[VendorLedgerQuery]):
    """The vendor's ledger, newest first: sales, commission, reversals and payouts."""
    vendor = vendor_for_request(request, vendor_id)
    return paginate(selectors.vendor_ledger(vendor_id=vendor, kind=query.kind), query)


@router.get("/{uuid:vendor_id}/payouts", response=VendorPayoutPageOut, auth=MEMBER_ACCESS)
def list_payouts(request, vendor_id: UUID, query: Query[PageParams]):
    """Payouts the store recorded for the vendor, newest first."""
    vendor = vendor_for_request(request, vendor_id)
    return paginate(selectors.vendor_payouts(vendor_id=vendor), query)


class VendorSalesOut(Schema):
    orders: int
    gross: Money
    commission: Money
    net: Money


class VendorDashboardOut(Schema):
    vendor_id: UUID
    days: int
    recent: VendorSalesOut = Field(
        ..., description="Delivered parts placed in the last `days` days"
    )
    all_time: VendorSalesOut
    to_fulfil: dict[str, int] = Field(..., description="Parts not yet delivered, per status")
    low_stock: int
    balance: Money


class VendorDashboardQuery(Schema):
    days: int = Field(30, ge=1, le=366)


@router.get("/{uuid:vendor_id}/dashboard", response=VendorDashboardOut, auth=MEMBER_ACCESS)
def get_dashboard(request, vendor_id: UUID, query: Query[VendorDashboardQuery]):
    """Sales, parts to fulfil, low stock and balance of the vendor."""
    vendor = vendor_for_request(request, vendor_id)
    return selectors.vendor_dashboard(vendor_id=vendor, days=query.days)


# --- people ---------------------------------------------------------------------------------------


class VendorMemberOut(Schema):
    id: UUID
    user_id: UUID
    email: str | None
    full_name: str
    role: VendorRole
    created_at: datetime

    @staticmethod
    def resolve_email(member) -> str | None:
        return member.user.email

    @staticmethod
    def resolve_full_name(member) -> str:
        return member.user.full_name


class VendorMemberIn(InputSchema):
    email: str | None = Field(None, max_length=254, pattern=EMAIL_PATTERN)
    phone: str | None = Field(None, pattern=r"^\+[1-9]\d{7,14}$", description="E.164")
    role: VendorRole = VendorRole.STAFF

    @model_validator(mode="after")
    def one_contact(self) -> "VendorMemberIn":
        if (self.email is None) == (self.phone is None):
            raise ValueError("Give either email or phone.")
        return self


class VendorMemberRoleIn(InputSchema):
    role: VendorRole


@router.get("/{uuid:vendor_id}/members", response=list[VendorMemberOut], auth=MEMBER_ACCESS)
def list_members(request, vendor_id: UUID):
    """The vendor's owners and staff."""
    vendor = vendor_for_request(request, vendor_id)
    return list(members.member_list(vendor_id=vendor))


@router.post(
    "/{uuid:vendor_id}/members",
    response={201: VendorMemberOut, 404: ErrorOut, 409: ErrorOut},
    auth=OWNER_ACCESS,
)
def add_member(request, vendor_id: UUID, payload: VendorMemberIn):
    """Add an existing user (by email or phone) as owner or staff. Owners only."""
    vendor = vendor_for_request(request, vendor_id)
    vendor_owner_check(claims=request.auth, vendor_id=vendor)
    member = members.member_add(
        vendor_id=vendor, role=payload.role, email=payload.email, phone=payload.phone
    )
    return Status(201, member)


@router.patch(
    "/{uuid:vendor_id}/members/{uuid:member_id}",
    response={200: VendorMemberOut, 409: ErrorOut},
    auth=OWNER_ACCESS,
)
def update_member(request, vendor_id: UUID, member_id: UUID, payload: VendorMemberRoleIn):
    """Change a member's role; the last owner cannot be demoted. Owners only."""
    vendor = vendor_for_request(request, vendor_id)
    vendor_owner_check(claims=request.auth, vendor_id=vendor)
    return members.member_update(vendor_id=vendor, member_id=member_id, role=payload.role)


@router.delete(
    "/{uuid:vendor_id}/members/{uuid:member_id}",
    response={204: None, 409: ErrorOut},
    auth=OWNER_ACCESS,
)
def remove_member(request, vendor_id: UUID, member_id: UUID):
    """Remove a member; the last owner cannot be removed. Owners only."""
    vendor = vendor_for_request(request, vendor_id)
    vendor_owner_check(claims=request.auth, vendor_id=vendor)
    members.member_remove(vendor_id=vendor, member_id=member_id)
    return Status(204, None)


app = make_app("vendors", [("/vendors", router)], title="Zest Store vendors")
