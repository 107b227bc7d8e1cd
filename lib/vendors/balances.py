"""The vendor ledger: append-only money owed to each vendor, and payouts out of it.

- Order delivered (`ORDER_STATUS_HOOKS`): each part's sale is credited (`sale`, +subtotal)
  and the store's commission debited (`commission`, -commission).
- Order returned or refunded after a sale was credited: both are reversed once
  (`sale_reversal`, `commission_reversal`); returned-then-refunded reverses only once.
- A payout staff record debits it (`payout`); cancelling the payout credits it back.

`vendor_balance` is the sum of the vendor's entries; a unique (part or payout, kind) makes a
repeated event harmless. Payouts lock the vendor row, so two at once cannot overdraw it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum

from db.models import (
    LedgerKind,
    Order,
    OrderStatus,
    OrderStatusEvent,
    PayoutStatus,
    Vendor,
    VendorLedgerEntry,
    VendorOrder,
    VendorPayout,
)
from lib.errors import ApiError, Conflict, NotFound
from lib.money import format_bdt
from lib.notifications.services import notify

ZERO = Decimal("0.00")
REVERSING_STATUSES = frozenset({OrderStatus.RETURNED, OrderStatus.REFUNDED})


def vendor_balance(vendor_id: Any) -> Decimal:
    """What the store owes the vendor now: the sum of its ledger (one query)."""
    total = VendorLedgerEntry.objects.filter(vendor_id=vendor_id).aggregate(total=Sum("amount"))
    return total["total"] or ZERO


def entries_write(entries: list[VendorLedgerEntry]) -> None:
    """Insert; an entry already written for the same event is skipped (unique constraint)."""
    if entries:
        VendorLedgerEntry.objects.bulk_create(entries, ignore_conflicts=True)


def vendor_ledger_follow(order: Order, event: OrderStatusEvent) -> None:
    """Status hook: credit vendors on delivery, reverse on return or refund."""
    if event.to_status == OrderStatus.DELIVERED:
        parts = VendorOrder.objects.filter(order_id=order.pk)
        entries_write(
            [
                entry
                for part in parts
                for entry in (
                    VendorLedgerEntry(
                        vendor_id=part.vendor_id,
                        vendor_order=part,
                        kind=LedgerKind.SALE,
                        amount=part.subtotal,
                    ),
                    VendorLedgerEntry(
                        vendor_id=part.vendor_id,
                        vendor_order=part,
                        kind=LedgerKind.COMMISSION,
                        amount=-part.commission,
                    ),
                )
            ]
        )
    elif event.to_status in REVERSING_STATUSES:
        credited = VendorLedgerEntry.objects.filter(
            vendor_order__order_id=order.pk, kind=LedgerKind.SALE
        ).select_related("vendor_order")
        entries_write(
            [
                entry
                for sale in credited
                for entry in (
                    VendorLedgerEntry(
                        vendor_id=sale.vendor_id,
                        vendor_order=sale.vendor_order,
                        kind=LedgerKind.SALE_REVERSAL,
                        amount=-sale.vendor_order.subtotal,
                    ),
                    VendorLedgerEntry(
                        vendor_id=sale.vendor_id,
                        vendor_order=sale.vendor_order,
                        kind=LedgerKind.COMMISSION_REVERSAL,
                        amount=sale.vendor_order.commission,
                    ),
                )
            ]
        )


# --- payouts -------------------------------------------------------------------------------


def payout_record(
    *,
    vendor_id: Any,
    amount: Decimal,
    method: str,
    reference: str,
    idempotency_key: str,
    period_start: date | None = None,
    period_end: date | None = None,
    note: str = "",
    actor_id: str | None = None,
) -> tuple[VendorPayout, bool]:
    """Record a transfer to the vendor, debited from its balance: `(payout, created)`. The
    same Idempotency-Key returns the first payout (409 `idempotency_key_reused` if it was for
    something else); more than the balance is 409 `payout_exceeds_balance`."""
    wanted = {"vendor_id": str(vendor_id), "amount": amount, "reference": reference}
    existing = replayed(idempotency_key, wanted)
    if existing is not None:
        return existing, False
    if period_start and period_end and period_end < period_start:
        raise ApiError("validation_error", status=422, fields={"period_end": ["before start"]})
    try:
        with transaction.atomic():
            vendor = Vendor.objects.select_for_update().filter(pk=vendor_id).first()
            if vendor is None:
                raise NotFound(fields={"vendor": [str(vendor_id)]})
            balance = vendor_balance(vendor.pk)
            if amount > balance:
                raise Conflict(
                    "payout_exceeds_balance",
                    fields={"amount": [f"{amount:.2f} > {balance:.2f}"]},
                )
            payout = VendorPayout.objects.create(
                vendor=vendor,
                amount=amount,
                method=method,
                reference=reference,
                period_start=period_start,
                period_end=period_end,
                note=note,
                idempotency_key=idempotency_key,
                recorded_by_id=actor_id,
            )
            entries_write(
                [
                    VendorLedgerEntry(
                        vendor=vendor, payout=payout, kind=LedgerKind.PAYOUT, amount=-amount
                    )
                ]
            )
            payout_notify(vendor, payout, event="payout_sent")
    except IntegrityError:  # the same key, recorded at the same moment by another request
        existing = replayed(idempotency_key, wanted)
        if existing is None:
            raise
        return existing, False
    return payout, True


def replayed(idempotency_key: str, wanted: dict[str, Any]) -> VendorPayout | None:
    existing = VendorPayout.objects.filter(idempotency_key=idempotency_key).first()
    if existing is None:
        return None
    same = (
        str(existing.vendor_id) == wanted["vendor_id"]
        and existing.amount == wanted["amount"]
        and existing.reference == wanted["reference"]
    )
    if not same:
        raise Conflict("idempotency_key_reused", fields={"Idempotency-Key": []})
    return existing


def payout_cancel(*, payout_id: Any, vendor_id: Any | None = None) -> VendorPayout:
    """A payout recorded by mistake: marked cancelled and credited back (once)."""
    with transaction.atomic():
        payouts = VendorPayout.objects.select_for_update()
        if vendor_id is not None:
            payouts = payouts.filter(vendor_id=vendor_id)
        payout = payouts.filter(pk=payout_id).first()
        if payout is None:
            raise NotFound(fields={"id": [str(payout_id)]})
        if payout.status == PayoutStatus.CANCELLED:
            return payout
        payout.status = PayoutStatus.CANCELLED
        payout.save(update_fields=["status", "updated_at"])
        entries_write(
            [
                VendorLedgerEntry(
                    vendor_id=payout.vendor_id,
                    payout=payout,
                    kind=LedgerKind.PAYOUT_REVERSAL,
                    amount=payout.amount,
                )
            ]
        )
    return payout


def payout_notify(vendor: Vendor, payout: VendorPayout, *, event: str) -> None:
    owners = vendor.memberships.filter(role="owner").values_list("user_id", flat=True)
    for user_id in owners:
        notify(
            user_id=str(user_id),
            kind=f"vendor.{event}",
            title=("Payout sent", "পেআউট পাঠানো হয়েছে"),
            body=(
                f"{format_bdt(payout.amount)} was sent to {vendor.name} "
                f"(reference {payout.reference}).",
                f"{vendor.name}-কে {format_bdt(payout.amount, 'bn')} পাঠানো হয়েছে "
                f"(রেফারেন্স {payout.reference})।",
            ),
            dedupe_key=f"vendor:payout:{payout.pk}:{user_id}",
        )
