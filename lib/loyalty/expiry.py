"""Expiry, first in first out: what is left of each earned entry once the customer's debits
(spent, expired, taken back) are charged to the oldest credits first expires on its date.
Swept by the loyalty cron together with the partial refunds' share of earned points."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import CharField, Exists, OuterRef, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from db.models import Order, OrderPaymentStatus, OrderStatus, PointsEntry, PointsKind
from lib.loyalty.earn import order_points_partial_reverse
from lib.loyalty.ledger import loyalty_account_lock, points_entry_add

# Credits that expired longer ago than this are not looked at again (the daily cron has
# dealt with them); keeps the sweep's scan bounded.
LOOK_BACK = timedelta(days=90)
EXPIRE_PREFIX = "expire:"


def points_remaining(entries: list[PointsEntry]) -> dict[Any, int]:
    """Credit entry id -> points still unspent. A reversal is charged to its order's earned
    entry, an expiry to its credit; every other debit to the oldest credits first."""
    credits = [entry for entry in entries if entry.points > 0]
    left = {entry.pk: entry.points for entry in credits}
    earned_of_order = {e.order_id: e.pk for e in credits if e.kind == PointsKind.EARN}
    pool = 0
    for entry in entries:
        if entry.points >= 0:
            continue
        amount = -entry.points
        target = None
        if entry.kind == PointsKind.REVERSE:
            target = earned_of_order.get(entry.order_id)
        elif entry.kind == PointsKind.EXPIRE:
            target = next((c.pk for c in credits if entry.reference == expiry_ref(c)), None)
        if target is not None:
            taken = min(amount, left[target])
            left[target] -= taken
            amount -= taken
        pool += amount
    for credit in credits:
        taken = min(pool, left[credit.pk])
        left[credit.pk] -= taken
        pool -= taken
    return left


def expiry_ref(entry: PointsEntry) -> str:
    return f"{EXPIRE_PREFIX}{entry.pk}"


def user_points_expire(*, user_id: Any) -> int:
    """Expire what is left of the customer's credits past their date; returns the points."""
    now = timezone.now()
    expired = 0
    with transaction.atomic():
        loyalty_account_lock(user_id=user_id)
        entries = list(PointsEntry.objects.filter(user_id=user_id).order_by("created_at", "pk"))
        left = points_remaining(entries)
        for entry in entries:
            if entry.expires_at is None or entry.expires_at > now or left.get(entry.pk, 0) <= 0:
                continue
            written = points_entry_add(
                user_id=user_id,
                kind=PointsKind.EXPIRE,
                points=-left[entry.pk],
                reference=expiry_ref(entry),
                order_id=entry.order_id,
            )
            expired += left[entry.pk] if written else 0
    return expired


def points_expire_sweep(*, batch: int = 500) -> dict[str, int]:
    """The customers with credits past their date and not expired yet; each is done in its
    own transaction, so a run cut short loses nothing and a second run writes nothing twice.
    (A credit spent in full has no expiry entry: it is looked at until LOOK_BACK passes.)"""
    now = timezone.now()
    expired_entry = PointsEntry.objects.filter(
        reference=Concat(Value(EXPIRE_PREFIX), Cast(OuterRef("pk"), CharField()))
    )
    candidates = (
        PointsEntry.objects.filter(expires_at__lte=now, expires_at__gt=now - LOOK_BACK)
        .exclude(Exists(expired_entry))
        .order_by("user_id")
        .values_list("user_id", flat=True)
        .distinct()[:batch]
    )
    customers = points = 0
    for user_id in list(candidates):
        gone = user_points_expire(user_id=user_id)
        customers += 1 if gone else 0
        points += gone
    return {"expired_customers": customers, "expired_points": points}


def partial_refunds_sweep(*, batch: int = 500) -> dict[str, int]:
    """Delivered orders partly refunded: take back the refunded share of their points."""
    from lib.payments.selectors import order_kept

    earned = PointsEntry.objects.filter(order_id=OuterRef("pk"), kind=PointsKind.EARN)
    orders = Order.objects.filter(
        status=OrderStatus.DELIVERED,
        payment_status=OrderPaymentStatus.PARTIALLY_REFUNDED,
        user__isnull=False,
    ).filter(Exists(earned))[:batch]
    taken = 0
    for order in orders:
        with transaction.atomic():
            refunded = order.total_amount - order_kept(order)
            taken += order_points_partial_reverse(order, refunded=refunded)
    return {"partial_refund_points": taken}


def loyalty_sweep() -> dict[str, int]:
    return {**points_expire_sweep(), **partial_refunds_sweep()}
