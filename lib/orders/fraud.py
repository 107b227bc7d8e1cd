"""Fraud screening at placement: a transparent rule set with points.

`fraud_screen` gathers what the rules need in one KV round trip (hourly velocity counters per
phone, IP and device: INCR + EXPIRE in one pipeline) and one database query (the customer's
history, failed payments of the last 24 hours and the phone's reuse across accounts over 30
days). Each rule is a small pure function of the signals and those facts returning
`(points, reason code)` or None; the score is the sum and the order is held for staff review
when it reaches `FRAUD_HOLD_SCORE`. `fraud_record` stores the outcome on the order and in an
append-only FraudReview row. Thresholds come from `config.fraud` (FRAUD_* variables).

Call `fraud_screen` once per placement attempt (it counts the attempt) and before the order row
is created, so the customer's history holds only earlier orders.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db.models import Avg, Count, Q
from django.db.models.functions import Lower
from django.utils import timezone

from db.models import FraudDecision, FraudReview, Order, OrderPaymentStatus, PaymentProvider
from lib.access.services import phone_normalize
from lib.conf import FraudConfig, config
from lib.i18n import Language
from lib.kv import get_kv

logger = logging.getLogger("zest.fraud")

VELOCITY_WINDOW = 3600  # seconds
FAILED_PAYMENT_WINDOW = timedelta(hours=24)
PHONE_REUSE_WINDOW = timedelta(days=30)

# Points each rule adds when it fires.
POINTS = {
    "velocity_phone": 30,
    "velocity_ip": 20,
    "velocity_device": 25,
    "new_customer_cod": 35,
    "failed_payments": 30,
    "high_amount": 30,
    "unusual_amount": 20,
    "phone_shared": 35,
    "phone_verified": -30,  # the customer proved the phone with an SMS code
}

# reason code -> (English, Bangla)
REASON_LABELS: dict[str, tuple[str, str]] = {
    "velocity_phone": (
        "Many orders from this phone number in the last hour",
        "গত এক ঘণ্টায় এই ফোন নম্বর থেকে অনেক অর্ডার",
    ),
    "velocity_ip": (
        "Many orders from this IP address in the last hour",
        "গত এক ঘণ্টায় এই আইপি ঠিকানা থেকে অনেক অর্ডার",
    ),
    "velocity_device": (
        "Many orders from this device in the last hour",
        "গত এক ঘণ্টায় এই ডিভাইস থেকে অনেক অর্ডার",
    ),
    "new_customer_cod": (
        "New customer's cash-on-delivery order above the limit",
        "নতুন গ্রাহকের সীমার বেশি ক্যাশ অন ডেলিভারি অর্ডার",
    ),
    "failed_payments": (
        "Repeated failed payments in the last 24 hours",
        "গত ২৪ ঘণ্টায় বারবার ব্যর্থ পেমেন্ট",
    ),
    "high_amount": ("Unusually high order amount", "অস্বাভাবিক বেশি অর্ডারের পরিমাণ"),
    "unusual_amount": (
        "Far above this customer's average order",
        "এই গ্রাহকের গড় অর্ডারের চেয়ে অনেক বেশি",
    ),
    "phone_shared": (
        "Phone number used by several accounts",
        "ফোন নম্বরটি একাধিক অ্যাকাউন্টে ব্যবহৃত",
    ),
    "phone_verified": (
        "Phone number proved with an SMS code (lowers the score)",
        "ফোন নম্বরটি এসএমএস কোডে যাচাই করা (স্কোর কমায়)",
    ),
}


@dataclass(frozen=True, slots=True)
class FraudSignals:
    user_id: str | None
    phone: str
    email: str
    ip: str
    device_id: str
    total: Decimal
    payment_method: str
    district_id: int | None
    is_new_customer: bool
    phone_verified: bool = False


@dataclass(frozen=True, slots=True)
class FraudResult:
    score: int
    reasons: list[str]
    hold: bool


@dataclass(frozen=True, slots=True)
class FraudFacts:
    """What the rules look at besides the signals: gathered in one query and one KV trip."""

    phone_orders_hour: int = 0
    ip_orders_hour: int = 0
    device_orders_hour: int = 0
    prior_orders: int = 0
    prior_average: Decimal | None = None
    failed_payments: int = 0
    other_accounts: int = 0  # other users and guest emails that used the phone (30 days)


Rule = Callable[[FraudSignals, FraudFacts, FraudConfig], "tuple[int, str] | None"]


def reason_label(code: str, language: Language = "en") -> str:
    english, bangla = REASON_LABELS.get(code, (code, code))
    return bangla if language == "bn" else english


def reasons_labelled(codes: list[str], language: Language = "en") -> list[dict[str, str]]:
    return [
        {"code": code, "label_en": reason_label(code, "en"), "label_bn": reason_label(code, "bn")}
        for code in codes
    ]


# --- the rules -----------------------------------------------------------------------------


def _fired(code: str) -> tuple[int, str]:
    return POINTS[code], code


def rule_velocity_phone(signals: FraudSignals, facts: FraudFacts, conf: FraudConfig):
    if facts.phone_orders_hour > conf.velocity_phone:
        return _fired("velocity_phone")
    return None


def rule_velocity_ip(signals: FraudSignals, facts: FraudFacts, conf: FraudConfig):
    if facts.ip_orders_hour > conf.velocity_ip:
        return _fired("velocity_ip")
    return None


def rule_velocity_device(signals: FraudSignals, facts: FraudFacts, conf: FraudConfig):
    if facts.device_orders_hour > conf.velocity_device:
        return _fired("velocity_device")
    return None


def rule_new_customer_cod(signals: FraudSignals, facts: FraudFacts, conf: FraudConfig):
    if (
        signals.is_new_customer
        and signals.payment_method == PaymentProvider.COD
        and signals.total > conf.new_customer_cod_limit
    ):
        return _fired("new_customer_cod")
    return None


def rule_failed_payments(signals: FraudSignals, facts: FraudFacts, conf: FraudConfig):
    if facts.failed_payments >= conf.failed_payments:
        return _fired("failed_payments")
    return None


def rule_high_amount(signals: FraudSignals, facts: FraudFacts, conf: FraudConfig):
    if signals.total > conf.high_amount:
        return _fired("high_amount")
    return None


def rule_unusual_amount(signals: FraudSignals, facts: FraudFacts, conf: FraudConfig):
    average = facts.prior_average
    if facts.prior_orders and average and signals.total > average * conf.average_multiplier:
        return _fired("unusual_amount")
    return None


def rule_phone_shared(signals: FraudSignals, facts: FraudFacts, conf: FraudConfig):
    # This customer plus every other account or guest email seen with the phone.
    if signals.phone and facts.other_accounts + 1 > conf.phone_accounts:
        return _fired("phone_shared")
    return None


def rule_phone_verified(signals: FraudSignals, facts: FraudFacts, conf: FraudConfig):
    if signals.phone_verified:
        return _fired("phone_verified")
    return None


RULES: tuple[Rule, ...] = (
    rule_velocity_phone,
    rule_velocity_ip,
    rule_velocity_device,
    rule_new_customer_cod,
    rule_failed_payments,
    rule_high_amount,
    rule_unusual_amount,
    rule_phone_shared,
    rule_phone_verified,
)


# --- gathering the facts -------------------------------------------------------------------


def phone_canonical(raw: str) -> str:
    raw = (raw or "").strip()
    if not raw:
        return ""
    try:
        return phone_normalize(raw)
    except ValueError:
        return raw


def velocity_key(kind: str, value: str) -> str:
    return f"fraud:velocity:{kind}:{value}"


def velocity_counts(signals: FraudSignals, phone: str) -> dict[str, int]:
    """Count this attempt in the hourly counter of each identifier present: one round trip.
    A counter's hour starts with its first order (EXPIRE NX). KV trouble counts as zero."""
    wanted = [
        (kind, value)
        for kind, value in (("phone", phone), ("ip", signals.ip), ("device", signals.device_id))
        if value
    ]
    if not wanted:
        return {}
    pipe = get_kv().pipeline()
    for kind, value in wanted:
        key = velocity_key(kind, value)
        pipe.incr(key)
        pipe.expire(key, VELOCITY_WINDOW, nx=True)
    try:
        replies = pipe.exec()
    except Exception:  # screening must not block checkout when KV is down
        logger.warning("fraud velocity counters unavailable", exc_info=True)
        return {}
    return {kind: int(replies[2 * index]) for index, (kind, _) in enumerate(wanted)}


def history_facts(signals: FraudSignals, phone: str) -> dict:
    """The customer's earlier orders, failed payments and the phone's reuse: one query."""
    phone_q = Q(guest_phone=phone) | Q(shipping_snapshot__phone=phone) if phone else Q(pk=None)
    user_q = Q(user_id=signals.user_id) if signals.user_id else Q(pk=None)
    if not (phone or signals.user_id):
        return {}
    now = timezone.now()
    customer_q = user_q if signals.user_id else phone_q
    recent_phone_q = phone_q & Q(created_at__gte=now - PHONE_REUSE_WINDOW)
    email = (signals.email or "").strip().lower()
    other_user_q = recent_phone_q & Q(user__isnull=False)
    if signals.user_id:
        other_user_q &= ~Q(user_id=signals.user_id)
    other_guest_q = recent_phone_q & Q(user__isnull=True) & ~Q(guest_email="")
    if email:
        other_guest_q &= ~Q(guest_email__iexact=email)
    return Order.objects.filter(user_q | phone_q).aggregate(
        prior_orders=Count("id", filter=customer_q),
        prior_average=Avg("total_amount", filter=customer_q),
        failed_payments=Count(
            "id",
            filter=Q(payment_status=OrderPaymentStatus.FAILED)
            & Q(created_at__gte=now - FAILED_PAYMENT_WINDOW),
        ),
        other_users=Count("user_id", distinct=True, filter=other_user_q),
        other_guests=Count(Lower("guest_email"), distinct=True, filter=other_guest_q),
    )


def fraud_facts(signals: FraudSignals) -> FraudFacts:
    phone = phone_canonical(signals.phone)
    counts = velocity_counts(signals, phone)
    history = history_facts(signals, phone)
    average = history.get("prior_average")
    return FraudFacts(
        phone_orders_hour=counts.get("phone", 0),
        ip_orders_hour=counts.get("ip", 0),
        device_orders_hour=counts.get("device", 0),
        prior_orders=history.get("prior_orders") or 0,
        prior_average=Decimal(average) if average is not None else None,
        failed_payments=history.get("failed_payments") or 0,
        other_accounts=(history.get("other_users") or 0) + (history.get("other_guests") or 0),
    )


# --- screening and recording ----------------------------------------------------------------


def fraud_evaluate(
    signals: FraudSignals, facts: FraudFacts, conf: FraudConfig | None = None
) -> FraudResult:
    """Apply every rule to gathered facts (pure: no I/O)."""
    conf = conf or config.fraud
    score, reasons = 0, []
    for rule in RULES:
        fired = rule(signals, facts, conf)
        if fired is not None:
            points, code = fired
            score += points
            reasons.append(code)
    score = max(score, 0)  # a verified phone lowers the score, never below zero
    return FraudResult(score=score, reasons=reasons, hold=score >= conf.hold_score)


def fraud_screen(*, signals: FraudSignals) -> FraudResult:
    """Score an order about to be placed: at most one query and one KV round trip."""
    return fraud_evaluate(signals, fraud_facts(signals))


def fraud_record(*, order: Order, result: FraudResult) -> FraudReview:
    """Store the screening on the order and as an audit row (held or accepted). The order's
    status is the caller's: a held order is created `on_hold`."""
    reasons = list(result.reasons)
    if (order.fraud_score, order.fraud_reasons) != (result.score, reasons):
        order.fraud_score, order.fraud_reasons = result.score, reasons
        order.save(update_fields=["fraud_score", "fraud_reasons", "updated_at"])
    return FraudReview.objects.create(
        order=order,
        score=result.score,
        reasons=reasons,
        decision=FraudDecision.HELD if result.hold else FraudDecision.ACCEPTED,
    )
