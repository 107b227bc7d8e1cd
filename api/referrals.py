"""Referrals and affiliates: /api/v1/referrals, /api/v1/affiliates, /api/v1/admin/affiliates.

A customer shares their code (`{STOREFRONT_URL}/?ref=CODE`); a newcomer claims it before their
first order (or sends it as `ref` with that order); both earn points when that order is
delivered. Affiliates apply, staff approve them, and they earn a commission on orders placed
with their code within their window, reversed on refund or return; staff record payouts.
"""

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from lib.runtime import make_app

from ninja import Field, Query, Router, Schema, Status

from db.models import Affiliate, AffiliateStatus
from lib.access.permissions import Require
from lib.errors import NotFound
from lib.money import Money
from lib.pagination import PageParams, paginate
from lib.referrals import affiliates as services
from lib.referrals.codes import referral_link
from lib.referrals.selectors import affiliate_list, referral_summary
from lib.referrals.services import referral_create
from lib.schemas import ErrorOut, InputSchema

router = Router(tags=["referrals"])
affiliate_router = Router(tags=["affiliates"])
admin_router = Router(tags=["admin: affiliates"])
SIGNED_IN = Require()
STAFF = Require("orders:manage")


class ReferralsOut(Schema):
    code: str
    link: str = Field(..., description="Share it: `{STOREFRONT_URL}/?ref=CODE`")
    pending: int
    credited: int
    blocked: int
    points_earned: int = Field(..., description="Referral bonus points received")
    referred_by: str | None = Field(None, description="The code this customer claimed")


class ReferralClaimIn(InputSchema):
    code: str = Field(..., min_length=1, max_length=16)


class ReferralClaimOut(Schema):
    code: str
    status: str


class ReferralClickIn(InputSchema):
    code: str = Field(..., min_length=1, max_length=16)
    landing_path: str = Field("", max_length=255)


class ReferralClickOut(Schema):
    affiliate: bool = Field(..., description="The code is an approved affiliate's")
    window_days: int | None = Field(None, description="Send `ref_seen_at` within this")
    seen_at: datetime


class AffiliateApplyIn(InputSchema):
    website: str = Field("", max_length=255)
    note: str = Field("", max_length=2000)


class AffiliateCommissionTotalOut(Schema):
    count: int
    amount: Money


class AffiliatePayoutOut(Schema):
    id: UUID
    amount: Money
    reference: str
    note: str
    created_at: datetime


class AffiliateOut(Schema):
    id: UUID
    user_id: UUID
    status: str
    code: str
    link: str
    commission_rate: Decimal = Field(..., description="Percent of the item subtotal")
    cookie_window_days: int
    website: str
    created_at: datetime
    approved_at: datetime | None

    @staticmethod
    def resolve_code(affiliate) -> str:
        return affiliate.user.referral_code.code

    @staticmethod
    def resolve_link(affiliate) -> str:
        return referral_link(affiliate.user.referral_code.code)


class AffiliateDashboardOut(Schema):
    status: str
    commission_rate: Decimal
    cookie_window_days: int
    clicks: int
    orders: int = Field(..., description="Orders attributed to the affiliate")
    commissions: dict[str, AffiliateCommissionTotalOut] = Field(
        ..., description="By status: pending, approved, reversed, paid"
    )
    payouts: list[AffiliatePayoutOut]
    paid_total: Money


class AffiliatePageOut(Schema):
    items: list[AffiliateOut]
    count: int
    page: int
    page_size: int
    pages: int


class AffiliateQuery(PageParams):
    status: AffiliateStatus | None = None


class AffiliateDecisionIn(InputSchema):
    approve: bool
    commission_rate: Decimal | None = Field(None, ge=0, le=100, max_digits=5, decimal_places=2)
    cookie_window_days: int | None = Field(None, ge=1, le=365)


class AffiliateCommissionIdsIn(InputSchema):
    commission_ids: list[UUID] = Field(..., min_length=1, max_length=500)


class AffiliateCommissionsApprovedOut(Schema):
    approved: int


class AffiliatePayoutIn(AffiliateCommissionIdsIn):
    reference: str = Field("", max_length=100, description="e.g. the bKash transaction id")
    note: str = Field("", max_length=255)


@router.get("", response={200: ReferralsOut, 401: ErrorOut}, auth=SIGNED_IN)
def my_referrals(request):
    """The customer's referral code and link, and how their referrals went."""
    return referral_summary(user_id=request.auth.user_id)


@router.post(
    "/claim",
    response={201: ReferralClaimOut, 401: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    auth=SIGNED_IN,
)
def claim(request, body: ReferralClaimIn):
    """Claim a friend's code before the first order: 409 `referral_too_late` after it,
    `referral_exists` if one was claimed; 422 `referral_self` or `referral_code_invalid`."""
    referral = referral_create(referee_id=request.auth.user_id, code=body.code, source="claim")
    return Status(201, {"code": referral.code, "status": referral.status})


@router.post("/clicks", response={200: ReferralClickOut, 422: ErrorOut}, auth=None)
def click(request, body: ReferralClickIn):
    """The storefront reports a visit with `?ref=CODE` (counted for an affiliate's dashboard);
    it then keeps the code and `seen_at` and sends them with the order (`ref`,
    `ref_seen_at`)."""
    from django.utils import timezone

    affiliate = services.affiliate_click_record(code=body.code, landing_path=body.landing_path)
    return {
        "affiliate": affiliate is not None,
        "window_days": affiliate.cookie_window_days if affiliate else None,
        "seen_at": timezone.now(),
    }


@affiliate_router.post(
    "/apply", response={201: AffiliateOut, 401: ErrorOut, 409: ErrorOut}, auth=SIGNED_IN
)
def apply(request, body: AffiliateApplyIn):
    """Apply to the affiliate programme; staff decide (409 `affiliate_exists` on a repeat)."""
    affiliate = services.affiliate_apply(
        user_id=request.auth.user_id, website=body.website, note=body.note
    )
    return Status(201, affiliate)


@affiliate_router.get(
    "/me", response={200: AffiliateDashboardOut, 401: ErrorOut, 404: ErrorOut}, auth=SIGNED_IN
)
def dashboard(request):
    """The affiliate's clicks, orders, commission totals by status and payouts."""
    affiliate = Affiliate.objects.filter(user_id=request.auth.user_id).first()
    if affiliate is None:
        raise NotFound()
    return services.affiliate_dashboard(affiliate=affiliate)


@admin_router.get("", response={200: AffiliatePageOut, 401: ErrorOut, 403: ErrorOut}, auth=STAFF)
def list_affiliates(request, query: Query[AffiliateQuery]):
    """Affiliates and applications, newest first, by status."""
    return paginate(affiliate_list(status=query.status), query)


@admin_router.post(
    "/{affiliate_id}/decision",
    response={200: AffiliateOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    auth=STAFF,
)
def decide(request, affiliate_id: UUID, body: AffiliateDecisionIn):
    """Approve (optionally with a commission rate and window) or reject an application."""
    return services.affiliate_decide(
        affiliate_id=affiliate_id,
        approve=body.approve,
        actor_id=request.auth.user_id,
        commission_rate=body.commission_rate,
        cookie_window_days=body.cookie_window_days,
    )


@admin_router.post(
    "/commissions/approve",
    response={200: AffiliateCommissionsApprovedOut, 401: ErrorOut, 403: ErrorOut},
    auth=STAFF,
)
def approve_commissions(request, body: AffiliateCommissionIdsIn):
    """Approve pending commissions (for example once the return period is over)."""
    return {"approved": services.commissions_approve(ids=body.commission_ids)}


@admin_router.post(
    "/{affiliate_id}/payouts",
    response={201: AffiliatePayoutOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    auth=STAFF,
)
def record_payout(request, affiliate_id: UUID, body: AffiliatePayoutIn):
    """Record money paid to the affiliate for the listed approved commissions: the amount is
    their sum (409 `commission_not_payable` if one is not approved, another's or paid)."""
    payout = services.payout_record(
        affiliate_id=affiliate_id,
        commission_ids=body.commission_ids,
        actor_id=request.auth.user_id,
        reference=body.reference,
        note=body.note,
    )
    return Status(201, payout)


app = make_app(
    "referrals",
    [
        ("/referrals", router),
        ("/affiliates", affiliate_router),
        ("/admin/affiliates", admin_router),
    ],
    title="Zest Store referrals and affiliates",
)
