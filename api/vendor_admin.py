"""Running the marketplace (staff, `vendors:manage`): /api/v1/admin/vendors/...

Applications (approve, reject), suspension and reinstatement, commission rules, and payouts
recorded against vendors' balances (Idempotency-Key). A vendor's orders, ledger and dashboard
are read through /api/v1/vendors/{vendor_id}/..., which staff reach for every vendor.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from lib.runtime import make_app

from ninja import Field, Query, Router, Schema, Status
from pydantic import model_validator

from db.models import (
    CommissionScope,
    PayoutMethod,
    PayoutStatus,
    VendorApplicationStatus,
    VendorStatus,
)
from lib.money import Money
from lib.pagination import PageParams, paginate
from lib.schemas import ErrorOut, IdempotencyKey, InputSchema
from lib.vendors import balances, commission, onboarding, selectors
from lib.vendors.access import STAFF_ACCESS

router = Router(tags=["admin: vendors"])


class VendorPageBase(Schema):
    count: int
    page: int
    page_size: int
    pages: int


# --- vendors ---------------------------------------------------------------------------------


class VendorAdminOut(Schema):
    id: UUID
    name: str
    slug: str
    status: VendorStatus
    contact_email: str
    contact_phone: str
    payout_method: str
    payout_account: dict[str, str]
    created_at: datetime


class VendorAdminPageOut(VendorPageBase):
    items: list[VendorAdminOut]


class VendorAdminQuery(PageParams):
    status: VendorStatus | None = None
    q: str | None = Field(None, max_length=100, description="Search name and slug")


class VendorReasonIn(InputSchema):
    reason: str = Field(..., min_length=3, max_length=1000)


@router.get("", response=VendorAdminPageOut, auth=STAFF_ACCESS)
def list_vendors(request, query: Query[VendorAdminQuery]):
    """Vendors, filtered by status or a search."""
    return paginate(selectors.vendor_list(status=query.status, search=query.q), query)


@router.post(
    "/{uuid:vendor_id}/suspend", response={200: VendorAdminOut, 409: ErrorOut}, auth=STAFF_ACCESS
)
def suspend_vendor(request, vendor_id: UUID, payload: VendorReasonIn):
    """Suspend an active vendor: its products leave the storefront, its members are signed
    out and cannot act for it, its people are told why."""
    return onboarding.vendor_status_set(
        vendor_id=vendor_id, status=VendorStatus.SUSPENDED, reason=payload.reason
    )


@router.post(
    "/{uuid:vendor_id}/reinstate", response={200: VendorAdminOut, 409: ErrorOut}, auth=STAFF_ACCESS
)
def reinstate_vendor(request, vendor_id: UUID):
    """Make a suspended vendor active again."""
    return onboarding.vendor_status_set(vendor_id=vendor_id, status=VendorStatus.ACTIVE)


# --- applications ------------------------------------------------------------------------------


class VendorApplicationAdminOut(Schema):
    id: UUID
    applicant_id: UUID
    applicant_email: str | None
    business_name: str
    slug: str
    contact_email: str
    contact_phone: str
    trade_licence_no: str
    nid_no: str
    payout_method: PayoutMethod
    payout_account: dict[str, str]
    status: VendorApplicationStatus
    decision_reason: str
    decided_at: datetime | None
    vendor_id: UUID | None
    created_at: datetime

    @staticmethod
    def resolve_applicant_email(application) -> str | None:
        return application.applicant.email


class VendorApplicationPageOut(VendorPageBase):
    items: list[VendorApplicationAdminOut]


class VendorApplicationQuery(PageParams):
    status: VendorApplicationStatus | None = None


@router.get("/applications", response=VendorApplicationPageOut, auth=STAFF_ACCESS)
def list_applications(request, query: Query[VendorApplicationQuery]):
    """Applications to sell, newest first, filtered by status."""
    return paginate(onboarding.application_list(status=query.status), query)


@router.post(
    "/applications/{uuid:application_id}/approve",
    response={200: VendorApplicationAdminOut, 409: ErrorOut},
    auth=STAFF_ACCESS,
)
def approve_application(request, application_id: UUID):
    """Approve: the vendor is created (active) and the applicant becomes its owner (signed
    out, so their next sign-in carries the new role)."""
    return onboarding.application_approve(
        application_id=application_id, actor_id=request.auth.user_id
    )


@router.post(
    "/applications/{uuid:application_id}/reject",
    response={200: VendorApplicationAdminOut, 409: ErrorOut},
    auth=STAFF_ACCESS,
)
def reject_application(request, application_id: UUID, payload: VendorReasonIn):
    """Reject with a reason the applicant is told."""
    return onboarding.application_reject(
        application_id=application_id, reason=payload.reason, actor_id=request.auth.user_id
    )


# --- commission rules --------------------------------------------------------------------------


class CommissionRuleOut(Schema):
    id: UUID
    scope: CommissionScope
    vendor_id: UUID | None
    category_id: UUID | None
    rate: Decimal = Field(..., description="Percent of the line total")
    starts_at: datetime
    ends_at: datetime | None
    note: str
    created_at: datetime


class CommissionRulePageOut(VendorPageBase):
    items: list[CommissionRuleOut]


class CommissionRuleQuery(PageParams):
    scope: CommissionScope | None = None
    vendor_id: UUID | None = None


class CommissionRuleIn(InputSchema):
    scope: CommissionScope
    vendor_id: UUID | None = Field(None, description="vendor and vendor_category scopes")
    category_id: UUID | None = Field(None, description="category and vendor_category scopes")
    rate: Decimal = Field(..., ge=0, le=100, max_digits=5, decimal_places=2)
    starts_at: datetime | None = Field(None, description="Default: now")
    ends_at: datetime | None = Field(None, description="Empty: open-ended")
    note: str = Field("", max_length=255)


class CommissionRuleChangeIn(InputSchema):
    rate: Decimal | None = Field(None, ge=0, le=100, max_digits=5, decimal_places=2)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    note: str | None = Field(None, max_length=255)

    @model_validator(mode="after")
    def some_change(self) -> "CommissionRuleChangeIn":
        if not self.model_fields_set:
            raise ValueError("Change at least one field.")
        return self


@router.get("/commission-rules", response=CommissionRulePageOut, auth=STAFF_ACCESS)
def list_rules(request, query: Query[CommissionRuleQuery]):
    """Commission rules, by scope (most specific wins at placement)."""
    rules = commission.commission_rule_list(scope=query.scope, vendor_id=query.vendor_id)
    return paginate(rules, query)


@router.post(
    "/commission-rules", response={201: CommissionRuleOut, 404: ErrorOut}, auth=STAFF_ACCESS
)
def create_rule(request, payload: CommissionRuleIn):
    """Add a rule. It applies to orders placed while it is in force; placed orders keep
    the commission frozen on them."""
    return Status(201, commission.commission_rule_create(**payload.model_dump()))


@router.patch("/commission-rules/{uuid:rule_id}", response=CommissionRuleOut, auth=STAFF_ACCESS)
def update_rule(request, rule_id: UUID, payload: CommissionRuleChangeIn):
    """Change a rule's rate, period or note (its scope and targets stay)."""
    changes: dict[str, Any] = payload.model_dump(exclude_unset=True)
    return commission.commission_rule_update(rule_id=rule_id, changes=changes)


@router.delete("/commission-rules/{uuid:rule_id}", response={204: None}, auth=STAFF_ACCESS)
def delete_rule(request, rule_id: UUID):
    """Delete a rule (to end one but keep its history, set `ends_at` instead)."""
    commission.commission_rule_delete(rule_id=rule_id)
    return Status(204, None)


# --- payouts -------------------------------------------------------------------------------------


class VendorPayoutAdminOut(Schema):
    id: UUID
    vendor_id: UUID
    amount: Money
    method: PayoutMethod
    reference: str
    status: PayoutStatus
    period_start: date | None
    period_end: date | None
    note: str
    recorded_by_id: UUID | None
    created_at: datetime


class VendorPayoutAdminPageOut(VendorPageBase):
    items: list[VendorPayoutAdminOut]


class VendorPayoutQuery(PageParams):
    vendor_id: UUID | None = None
    status: PayoutStatus | None = None


class VendorPayoutIn(InputSchema):
    amount: Decimal = Field(..., gt=0, max_digits=12, decimal_places=2)
    method: PayoutMethod
    reference: str = Field(..., min_length=3, max_length=100, description="Transfer's id")
    period_start: date | None = None
    period_end: date | None = None
    note: str = Field("", max_length=255)


@router.get("/payouts", response=VendorPayoutAdminPageOut, auth=STAFF_ACCESS)
def list_all_payouts(request, query: Query[VendorPayoutQuery]):
    """Payouts to every vendor (or one), newest first."""
    return paginate(selectors.vendor_payouts(vendor_id=query.vendor_id, status=query.status), query)


@router.post(
    "/{uuid:vendor_id}/payouts",
    response={200: VendorPayoutAdminOut, 201: VendorPayoutAdminOut, 404: ErrorOut, 409: ErrorOut},
    auth=STAFF_ACCESS,
)
def record_payout(
    request, vendor_id: UUID, payload: VendorPayoutIn, idempotency_key: IdempotencyKey
):
    """Record money sent to the vendor; it is debited from the balance and may not exceed it.
    A retry with the same Idempotency-Key answers 200 with the first payout."""
    payout, created = balances.payout_record(
        vendor_id=vendor_id,
        idempotency_key=idempotency_key,
        actor_id=request.auth.user_id,
        **payload.model_dump(),
    )
    return Status(201 if created else 200, payout)


@router.post(
    "/payouts/{uuid:payout_id}/cancel", response={200: VendorPayoutAdminOut}, auth=STAFF_ACCESS
)
def cancel_payout(request, payout_id: UUID):
    """A payout recorded by mistake: cancelled and credited back to the vendor (once)."""
    return balances.payout_cancel(payout_id=payout_id)


app = make_app(
    "vendor_admin", [("/admin/vendors", router)], title="Zest Store vendor administration"
)
