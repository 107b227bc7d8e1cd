"""Reconciliation: payments whose payer never came back, and refunds their provider has not
confirmed yet, are asked about at the provider."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from db.models import Payment, PaymentStatus, Refund, RefundStatus
from lib.conf import payment_config
from lib.errors import ApiError
from lib.payments.base import ProviderError
from lib.payments.refunds import OPEN_REFUNDS, refund_check
from lib.payments.services import SETTLED, gateway_of, status_apply

logger = logging.getLogger("zest.payments")


def payment_reconcile(*, older_than_minutes: int | None = None, limit: int | None = None) -> dict:
    """Pending payments older than N minutes: ask the provider and settle them (the payer
    may never have come back). One failure does not stop the run."""
    minutes = (
        payment_config.reconcile_after_minutes if older_than_minutes is None else older_than_minutes
    )
    cutoff = timezone.now() - timedelta(minutes=minutes)
    pending = list(
        Payment.objects.filter(
            Q(status__in=(PaymentStatus.PENDING, PaymentStatus.AUTHORIZED)),
            created_at__lte=cutoff,
        )
        .exclude(transaction_id="")
        .order_by("created_at")[: limit or payment_config.reconcile_batch]
    )
    counts: dict[str, int] = {"checked": 0, "captured": 0, "failed": 0, "pending": 0, "errors": 0}
    for payment in pending:
        counts["checked"] += 1
        try:
            status = gateway_of(payment).query(provider_payment_id=payment.transaction_id)
            settled = status_apply(payment, status, source="reconcile", context={})
        except (ProviderError, ApiError) as error:
            counts["errors"] += 1
            logger.warning("reconcile %s: %s", payment.pk, getattr(error, "code", error))
            continue
        if settled.status in SETTLED:
            counts["captured"] += 1
        elif settled.status in (PaymentStatus.FAILED, PaymentStatus.CANCELLED):
            counts["failed"] += 1
        else:
            counts["pending"] += 1
    return counts | refund_reconcile(limit=limit)


def refund_reconcile(*, limit: int | None = None) -> dict[str, int]:
    """Refunds still open (the provider did not answer in time, or only took the request):
    asked about at their provider again. One failure does not stop the run."""
    refunds = list(
        Refund.objects.filter(status__in=OPEN_REFUNDS)
        .select_related("payment")
        .order_by("created_at")[: limit or payment_config.reconcile_batch]
    )
    counts = {"refunds_checked": 0, "refunds_confirmed": 0, "refunds_failed": 0}
    for refund in refunds:
        counts["refunds_checked"] += 1
        try:
            checked = refund_check(refund)
        except (ProviderError, ApiError) as error:
            logger.warning("reconcile refund %s: %s", refund.pk, getattr(error, "code", error))
            continue
        if checked.status == RefundStatus.REFUNDED:
            counts["refunds_confirmed"] += 1
        elif checked.status == RefundStatus.FAILED:
            counts["refunds_failed"] += 1
    return counts
