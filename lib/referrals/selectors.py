"""Reads of referrals and affiliates."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from db.models import Affiliate, PointsEntry, PointsKind, Referral, ReferralStatus
from lib.referrals.codes import referral_code_of, referral_link


def referral_summary(*, user_id: Any) -> dict[str, Any]:
    """The customer's code, link, referral counts and bonus points."""
    code = referral_code_of(user_id=user_id).code
    counts = Referral.objects.filter(referrer_id=user_id).aggregate(
        **{s: Count("pk", filter=Q(status=s)) for s in ReferralStatus.values}
    )
    points = PointsEntry.objects.filter(user_id=user_id, kind=PointsKind.REFERRAL_BONUS).aggregate(
        total=Sum("points")
    )["total"]
    referred_by = Referral.objects.filter(referee_id=user_id).values_list("code", flat=True).first()
    return {
        "code": code,
        "link": referral_link(code),
        **counts,
        "points_earned": int(points or 0),
        "referred_by": referred_by,
    }


def affiliate_list(*, status: str | None = None) -> QuerySet[Affiliate]:
    rows = Affiliate.objects.select_related("user__referral_code").order_by("-created_at")
    return rows.filter(status=status) if status else rows
