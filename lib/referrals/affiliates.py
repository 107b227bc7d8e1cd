"""Affiliates: apply, approval by staff, clicks, attribution of orders placed with their code
within their window, commissions accrued on delivery and reversed on refund or return (unless
paid out), and payouts that cover exactly the approved commissions they list.

Attribution: the storefront keeps the `?ref=CODE` it saw first and when (`ref_seen_at`), and
sends both with the order; `POST /referrals/clicks` records the visit for the dashboard. An
order is attributed when the code is an approved affiliate's, the affiliate is not the buyer,
and `ref_seen_at` (now when missing; a time in the future counts as now) is within the
affiliate's `cookie_window_days`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from db.models import (
    ZERO,
    Affiliate,
    AffiliateAttribution,
    AffiliateClick,
    AffiliateCommission,
    AffiliateCommissionStatus,
    AffiliatePayout,
    AffiliateStatus,
    Order,
)
from lib import conf
from lib.errors import Conflict, NotFound
from lib.money import quantize_bdt
from lib.referrals.codes import referral_code_find, referral_code_of

C = AffiliateCommissionStatus


def affiliate_apply(*, user_id: Any, website: str = "", note: str = "") -> Affiliate:
    """Apply to the programme (409 `affiliate_exists` if already applied)."""
    referral_code_of(user_id=user_id)
    settings = conf.loyalty_config
    try:
        with transaction.atomic():
            return Affiliate.objects.create(
                user_id=user_id,
                website=website,
                note=note,
                commission_rate=Decimal(settings.affiliate_commission_rate),
                cookie_window_days=settings.affiliate_window_days,
            )
    except IntegrityError as exc:
        raise Conflict("affiliate_exists") from exc


def affiliate_decide(
    *,
    affiliate_id: Any,
    approve: bool,
    actor_id: Any,
    commission_rate: Decimal | None = None,
    cookie_window_days: int | None = None,
) -> Affiliate:
    """Staff approve (optionally with their own rate and window) or reject an application
    (409 `affiliate_not_pending` once decided)."""
    with transaction.atomic():
        affiliate = Affiliate.objects.select_for_update().filter(pk=affiliate_id).first()
        if affiliate is None:
            raise NotFound()
        if affiliate.status != AffiliateStatus.PENDING:
            raise Conflict("affiliate_not_pending", fields={"status": [affiliate.status]})
        affiliate.status = AffiliateStatus.APPROVED if approve else AffiliateStatus.REJECTED
        if approve:
            affiliate.approved_at, affiliate.approved_by_id = timezone.now(), actor_id
            if commission_rate is not None:
                affiliate.commission_rate = commission_rate
            if cookie_window_days is not None:
                affiliate.cookie_window_days = cookie_window_days
        affiliate.save()
    return affiliate


def affiliate_by_code(code: str) -> Affiliate | None:
    """The approved affiliate whose code this is."""
    found = referral_code_find(code)
    if found is None:
        return None
    return Affiliate.objects.filter(user_id=found.user_id, status=AffiliateStatus.APPROVED).first()


def affiliate_click_record(*, code: str, landing_path: str = "") -> Affiliate | None:
    affiliate = affiliate_by_code(code)
    if affiliate is not None:
        AffiliateClick.objects.create(affiliate=affiliate, landing_path=landing_path[:255])
    return affiliate


def affiliate_attribute(
    *, order: Order, code: str, seen_at: datetime | None
) -> AffiliateAttribution | None:
    """Attribute a new order to the affiliate of `code` if within their window."""
    affiliate = affiliate_by_code(code)
    if affiliate is None or (order.user_id and str(order.user_id) == str(affiliate.user_id)):
        return None
    now = timezone.now()
    seen = min(seen_at or now, now)
    if now - seen > timedelta(days=affiliate.cookie_window_days):
        return None
    attribution, _ = AffiliateAttribution.objects.get_or_create(
        order=order, defaults={"affiliate": affiliate, "first_seen_at": seen}
    )
    return attribution


def commission_accrue(order: Order) -> AffiliateCommission | None:
    """The delivered order's commission, once: rate x (item subtotal after discounts)."""
    attribution = AffiliateAttribution.objects.filter(order_id=order.pk).first()
    if attribution is None:
        return None
    affiliate = Affiliate.objects.get(pk=attribution.affiliate_id)
    base = quantize_bdt(max(order.subtotal - order.discount_total, ZERO))
    commission, _ = AffiliateCommission.objects.get_or_create(
        order=order,
        defaults={
            "affiliate": affiliate,
            "base_amount": base,
            "rate": affiliate.commission_rate,
            "amount": quantize_bdt(base * affiliate.commission_rate / 100),
        },
    )
    return commission


def commission_reverse(order: Order) -> int:
    """Refunded or returned: an unpaid commission is reversed (a paid one stays paid)."""
    return AffiliateCommission.objects.filter(
        order_id=order.pk, status__in=(C.PENDING, C.APPROVED)
    ).update(status=C.REVERSED, updated_at=timezone.now())


def commissions_approve(*, ids: list[Any]) -> int:
    """Staff approve pending commissions (others are left as they are)."""
    return AffiliateCommission.objects.filter(pk__in=ids, status=C.PENDING).update(
        status=C.APPROVED, updated_at=timezone.now()
    )


def payout_record(
    *,
    affiliate_id: Any,
    commission_ids: list[Any],
    actor_id: Any,
    reference: str = "",
    note: str = "",
) -> AffiliatePayout:
    """Pay the listed approved commissions of the affiliate: the payout's amount is their sum,
    and each is marked paid with it, in one transaction under their row locks (409
    `commission_not_payable` if any is not approved, another's, or already paid)."""
    wanted = sorted({str(pk) for pk in commission_ids})
    with transaction.atomic():
        affiliate = Affiliate.objects.filter(pk=affiliate_id).first()
        if affiliate is None:
            raise NotFound()
        rows = list(
            AffiliateCommission.objects.select_for_update()
            .filter(pk__in=wanted, affiliate=affiliate, status=C.APPROVED)
            .order_by("pk")
        )
        if not wanted or len(rows) != len(wanted):
            found = {str(row.pk) for row in rows}
            raise Conflict(
                "commission_not_payable",
                fields={"commission_ids": [pk for pk in wanted if pk not in found]},
            )
        payout = AffiliatePayout.objects.create(
            affiliate=affiliate,
            amount=quantize_bdt(sum((row.amount for row in rows), ZERO)),
            reference=reference,
            note=note,
            created_by_id=actor_id,
        )
        AffiliateCommission.objects.filter(pk__in=[row.pk for row in rows]).update(
            status=C.PAID, payout=payout, updated_at=timezone.now()
        )
    return payout


def affiliate_dashboard(*, affiliate: Affiliate) -> dict[str, Any]:
    """Clicks, attributed orders, commission totals by status and payouts (five queries)."""
    clicks = AffiliateClick.objects.filter(affiliate=affiliate).count()
    orders = AffiliateAttribution.objects.filter(affiliate=affiliate).count()
    totals = AffiliateCommission.objects.filter(affiliate=affiliate).aggregate(
        **{
            f"{status}_{what}": agg("amount" if what == "amount" else "pk", filter=Q(status=status))
            for status in C.values
            for what, agg in (("amount", Sum), ("count", Count))
        }
    )
    payouts = list(AffiliatePayout.objects.filter(affiliate=affiliate).order_by("-created_at"))
    return {
        "status": affiliate.status,
        "commission_rate": affiliate.commission_rate,
        "cookie_window_days": affiliate.cookie_window_days,
        "clicks": clicks,
        "orders": orders,
        "commissions": {
            status: {
                "count": totals[f"{status}_count"],
                "amount": totals[f"{status}_amount"] or ZERO,
            }
            for status in C.values
        },
        "payouts": payouts,
        "paid_total": quantize_bdt(sum((p.amount for p in payouts), ZERO)),
    }
