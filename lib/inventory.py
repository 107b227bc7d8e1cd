"""Inventory rules: availability and low-stock alerts."""

from __future__ import annotations

from django.db.models import F, IntegerField, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, Now

from db.models import StockReservation


def inventory_alerts_scan() -> dict:
    """Open an alert for each product at or under its threshold, resolve recovered ones.

    Routed and authorised by the inventory-alerts cron; the alert rules arrive with the
    catalog and inventory capability.
    """
    return {"alerts_opened": 0, "alerts_resolved": 0}


def reserved_units(*, variation: bool = False) -> Subquery:
    """Units held by unexpired reservations of the outer product (or variation) row.

    Expired reservations stop counting at once, so availability never depends on a cron.
    """
    owner = "variation" if variation else "product"
    held = (
        StockReservation.objects.filter(**{owner: OuterRef("pk")}, expires_at__gt=Now())
        .values(owner)
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    if not variation:
        held = held.filter(variation__isnull=True)
    return Coalesce(Subquery(held, output_field=IntegerField()), 0)


def with_available(queryset: QuerySet, *, variation: bool = False) -> QuerySet:
    """Annotate `available` = on hand - allocated - unexpired reservations."""
    return queryset.annotate(
        available=F("quantity") - F("allocated") - reserved_units(variation=variation)
    )
