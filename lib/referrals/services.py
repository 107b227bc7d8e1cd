"""Referrals: claimed before the first order (or given at its checkout), credited on the
referred customer's first delivered order, exactly once, unless it looks like the referrer
referring themselves (same account, phone, email, device or address): then it is blocked
with the reason recorded."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from db.models import Order, PointsKind, Referral, ReferralSource, ReferralStatus, User
from lib import conf
from lib.errors import ApiError, Conflict
from lib.loyalty.ledger import points_entry_add, rewards_notify
from lib.money import BANGLA_DIGITS
from lib.referrals.codes import referral_code_find

SAME_ACCOUNT = "same_account"
SAME_PHONE = "same_phone"
SAME_EMAIL = "same_email"
SAME_DEVICE = "same_device"
SAME_ADDRESS = "same_address"


def referral_create(*, referee_id: Any, code: str, source: str) -> Referral:
    """Record who referred `referee_id`. 422 `referral_code_invalid` / `referral_self`,
    409 `referral_exists` / `referral_too_late` (the referee already ordered)."""
    found = referral_code_find(code)
    if found is None:
        raise ApiError("referral_code_invalid", status=422, fields={"code": [code[:16]]})
    if str(found.user_id) == str(referee_id):
        raise ApiError("referral_self", status=422, fields={"code": [found.code]})
    if Referral.objects.filter(referrer_id=referee_id, referee_id=found.user_id).exists():
        # Two customers referring each other are one customer twice.
        raise ApiError("referral_self", status=422, fields={"code": [found.code]})
    if Referral.objects.filter(referee_id=referee_id).exists():
        raise Conflict("referral_exists")
    if source != ReferralSource.CHECKOUT and Order.objects.filter(user_id=referee_id).exists():
        raise Conflict("referral_too_late")
    try:
        with transaction.atomic():
            return Referral.objects.create(
                referrer_id=found.user_id, referee_id=referee_id, code=found.code, source=source
            )
    except IntegrityError as exc:  # claimed concurrently
        raise Conflict("referral_exists") from exc


def referral_code_check(code: str) -> None:
    """422 `referral_code_invalid` for a code given (at sign-up) that does not exist."""
    if code.strip() and referral_code_find(code) is None:
        raise ApiError("referral_code_invalid", status=422, fields={"referral_code": [code[:16]]})


def referral_at_signup(*, referee_id: Any, code: str) -> Referral | None:
    """The code a new customer signed up with (checked by `referral_code_check`)."""
    if not code.strip():
        return None
    return referral_create(referee_id=referee_id, code=code, source=ReferralSource.SIGNUP)


def referral_at_checkout(*, order: Order, code: str) -> Referral | None:
    """A code given at the referee's first order's checkout; anything else is ignored (the
    order is never refused for a referral code)."""
    if (
        not order.user_id
        or Order.objects.filter(user_id=order.user_id).exclude(pk=order.pk).exists()
    ):
        return None
    try:
        return referral_create(referee_id=order.user_id, code=code, source=ReferralSource.CHECKOUT)
    except ApiError:
        return None


def norm_address(snapshot: dict[str, Any]) -> str:
    parts = (snapshot.get("address_line1", ""), snapshot.get("district_id", ""))
    return "|".join(" ".join(str(p).lower().split()) for p in parts)


def referral_block_reason(referral: Referral, order: Order) -> str:
    """Why crediting would reward the referrer for referring themselves ("" when it would not)."""
    referrer: User = referral.referrer
    referee: User = referral.referee
    if referrer.pk == referee.pk:
        return SAME_ACCOUNT
    theirs = Order.objects.filter(user_id=referrer.pk).values_list(
        "shipping_snapshot", "device_id", "guest_phone"
    )
    phones = {p for p in (referrer.phone,) if p}
    devices, addresses = set(), set()
    for snapshot, device, phone in theirs:
        phones |= {x for x in (phone, (snapshot or {}).get("phone", "")) if x}
        devices |= {device} if device else set()
        addresses.add(norm_address(snapshot or {}))
    snap = order.shipping_snapshot or {}
    if {x for x in (referee.phone, snap.get("phone", "")) if x} & phones:
        return SAME_PHONE
    if referee.email and referrer.email and referee.email.lower() == referrer.email.lower():
        return SAME_EMAIL
    if order.device_id and order.device_id in devices:
        return SAME_DEVICE
    if norm_address(snap).strip("|") and norm_address(snap) in addresses:
        return SAME_ADDRESS
    return ""


def referral_credit(order: Order) -> Referral | None:
    """On the referee's delivered order: credit both once, or block with the reason."""
    if not order.user_id:
        return None
    referral = (
        Referral.objects.select_for_update()
        .select_related("referrer", "referee")
        .filter(referee_id=order.user_id, status=ReferralStatus.PENDING)
        .first()
    )
    if referral is None:
        return None
    reason = referral_block_reason(referral, order)
    referral.order = order
    if reason:
        referral.status, referral.blocked_reason = ReferralStatus.BLOCKED, reason
        referral.save(update_fields=["status", "blocked_reason", "order", "updated_at"])
        return referral
    settings = conf.loyalty_config
    expires = timezone.now() + timedelta(days=settings.expiry_days)
    for user_id, points, role in (
        (referral.referrer_id, settings.referral_referrer_points, "referrer"),
        (referral.referee_id, settings.referral_referee_points, "referee"),
    ):
        if points > 0:
            points_entry_add(
                user_id=user_id,
                kind=PointsKind.REFERRAL_BONUS,
                points=points,
                reference=f"referral:{referral.pk}:{role}",
                order_id=order.pk,
                expires_at=expires,
            )
            rewards_notify(
                user_id=user_id,
                event="referral",
                dedupe_key=f"rewards-referral:{referral.pk}:{role}",
                title=(
                    f"{points} referral points",
                    f"{str(points).translate(BANGLA_DIGITS)} রেফারেল পয়েন্ট",
                ),
                body=(
                    "Thank you for bringing a friend to the store.",
                    "বন্ধুকে স্টোরে আনার জন্য ধন্যবাদ।",
                ),
            )
    referral.status, referral.credited_at = ReferralStatus.CREDITED, timezone.now()
    referral.save(update_fields=["status", "credited_at", "order", "updated_at"])
    return referral
