"""The couriers' payouts of the cash they collected, and what staff must reconcile.

A payout is recorded once per (courier, reference): from a Pathao `order.paid` webhook (one
per consignment, all carrying the invoice id: the lines add up), from an adapter's optional
`payouts()` (Steadfast publishes its payments), or typed in by staff from a statement.
`courier_reconciliation` lists the differences: delivered consignments whose cash is in no
payout, payout lines whose amount differs from what was collected, and payout lines naming
consignments we do not know.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Sum

from db.models import Consignment, ConsignmentState, CourierPayout, CourierPayoutLine
from lib.couriers.base import CourierError, PayoutReport, TrackingUpdate
from lib.errors import Conflict

logger = logging.getLogger("zest.couriers")

ZERO = Decimal("0.00")
COLLECTED_STATES = (ConsignmentState.DELIVERED, ConsignmentState.PARTIALLY_DELIVERED)


def payout_lines_store(payout: CourierPayout, lines: tuple[tuple[str, Decimal], ...]) -> int:
    """Add the lines the payout does not hold yet; the number added."""
    refs = [ref for ref, _ in lines]
    known = dict(
        Consignment.objects.filter(courier=payout.courier, consignment_id__in=refs).values_list(
            "consignment_id", "pk"
        )
    )
    held = set(payout.lines.values_list("consignment_ref", flat=True))
    added = [
        CourierPayoutLine(
            payout=payout, consignment_ref=ref[:64], consignment_id=known.get(ref), amount=amount
        )
        for ref, amount in dict(lines).items()
        if ref[:64] not in held
    ]
    CourierPayoutLine.objects.bulk_create(added)
    return len(added)


def courier_payout_record(
    *, courier: str, report: PayoutReport, actor_id: str | None = None, accumulate: bool = False
) -> tuple[CourierPayout, bool]:
    """Store `report` once per (courier, reference) with its lines; (payout, created). A
    repeat adds only lines not held yet. `accumulate`: the payout's amount is the sum of its
    lines (Pathao announces an invoice one consignment at a time)."""
    if not report.reference:
        raise Conflict("validation_error", fields={"reference": ["required"]})
    with transaction.atomic():
        payout = (
            CourierPayout.objects.select_for_update()
            .filter(courier=courier, reference=report.reference[:128])
            .first()
        )
        created = payout is None
        if payout is None:
            try:
                with transaction.atomic():
                    payout = CourierPayout.objects.create(
                        courier=courier,
                        reference=report.reference[:128],
                        amount=report.amount,
                        paid_at=report.paid_at,
                        payload=report.raw or {},
                        recorded_by_id=actor_id,
                    )
            except IntegrityError:  # recorded concurrently
                payout = CourierPayout.objects.select_for_update().get(
                    courier=courier, reference=report.reference[:128]
                )
                created = False
        payout_lines_store(payout, report.lines)
        if accumulate:
            total = payout.lines.aggregate(total=Sum("amount"))["total"] or ZERO
            CourierPayout.objects.filter(pk=payout.pk).update(amount=total)
            payout.amount = total
    return payout, created


def payout_of_update(consignment: Consignment, update: TrackingUpdate) -> None:
    """A `paid_out` update (Pathao's order.paid with its invoice_id): the consignment's cash
    joins that invoice's payout."""
    raw = update.raw or {}
    reference = str(raw.get("invoice_id") or raw.get("invoice") or raw.get("reference") or "")
    if not reference:
        logger.warning("%s paid_out update without a reference", consignment.courier)
        return
    amount = update.collected_amount
    if amount is None:
        amount = consignment.collected_amount if consignment.collected_amount is not None else ZERO
    report = PayoutReport(
        reference=reference,
        paid_at=update.occurred_at,
        amount=amount,
        lines=((consignment.consignment_id, amount),),
        raw={"source": "webhook"},
    )
    courier_payout_record(courier=consignment.courier, report=report, accumulate=True)


def courier_payouts_fetch(*, courier: str) -> dict[str, int]:
    """Ask the courier for its payouts (adapters with `payouts()`) and record new ones."""
    from lib.couriers.services import courier_failed, courier_get

    adapter = courier_get(courier)
    fetch = getattr(adapter, "payouts", None)
    if fetch is None:
        raise Conflict("courier_unsupported", fields={"courier": [courier]})
    try:
        reports = fetch()
    except CourierError as error:
        raise courier_failed(error, courier) from error
    counts = {"fetched": len(reports), "recorded": 0}
    for report in reports:
        _, created = courier_payout_record(courier=courier, report=report)
        counts["recorded"] += int(created)
    return counts


# --- reconciliation ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reconciliation:
    courier: str
    unpaid: list[dict[str, Any]]  # delivered, cash collected, in no payout
    mismatched: list[dict[str, Any]]  # a payout line whose amount differs from the cash
    unknown: list[dict[str, Any]]  # a payout line naming a consignment we do not know
    collected_total: Decimal
    paid_out_total: Decimal


def courier_reconciliation(*, courier: str, limit: int = 500) -> Reconciliation:
    """The differences between what the courier collected for us and what it paid out (a
    fixed number of queries)."""
    in_payout = CourierPayoutLine.objects.filter(consignment_id=OuterRef("pk"))
    delivered = Consignment.objects.filter(courier=courier, state__in=COLLECTED_STATES)
    unpaid = (
        delivered.filter(collected_amount__gt=0)
        .exclude(Exists(in_payout))
        .select_related("order")
        .order_by("last_update_at", "pk")[:limit]
    )
    lines = CourierPayoutLine.objects.filter(payout__courier=courier).select_related(
        "payout", "consignment__order"
    )
    mismatched, unknown = [], []
    for line in lines.order_by("created_at", "pk")[: limit * 4]:
        entry = {
            "payout_reference": line.payout.reference,
            "consignment_id": line.consignment_ref,
            "paid_out": line.amount,
        }
        consignment = line.consignment
        if consignment is None:
            unknown.append(entry)
        elif (consignment.collected_amount or ZERO) != line.amount:
            collected = consignment.collected_amount or ZERO
            mismatched.append(
                entry | {"order_number": consignment.order.number, "collected": collected}
            )
    collected = delivered.aggregate(total=Sum("collected_amount"))["total"] or ZERO
    paid = CourierPayout.objects.filter(courier=courier).aggregate(total=Sum("amount"))["total"]
    return Reconciliation(
        courier=courier,
        unpaid=[
            {
                "order_number": c.order.number,
                "consignment_id": c.consignment_id,
                "collected": c.collected_amount or ZERO,
                "delivered_at": c.last_update_at,
            }
            for c in unpaid[:limit]
        ],
        mismatched=mismatched[:limit],
        unknown=unknown[:limit],
        collected_total=collected,
        paid_out_total=paid or ZERO,
    )
