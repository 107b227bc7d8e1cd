"""Shipping quotes by delivery zone (inside Dhaka, Dhaka suburbs, outside Dhaka) and
delivery estimates in Bangladesh time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import F, FilteredRelation, Q

from db.models import ShippingZone
from lib.errors import ApiError

DHAKA = ZoneInfo("Asia/Dhaka")
FRIDAY = 4  # couriers do not deliver on Fridays
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class ShippingQuote:
    zone_code: str
    zone_name: str
    rate: Decimal  # what the shopper pays: 0 when shipping is free
    free: bool
    days_min: int
    days_max: int
    zone_name_bn: str = ""
    base_rate: Decimal = ZERO  # the zone's (or the district's own) rate before free shipping
    free_shipping_threshold: Decimal | None = None

    def estimate(self, *, now: datetime | None = None) -> tuple[date, date]:
        return delivery_estimate(days_min=self.days_min, days_max=self.days_max, now=now)


def shipping_quote(
    *, district_id: int, subtotal: Decimal, store_threshold: Decimal | None = None
) -> ShippingQuote:
    """The district's zone (or the default zone) and its price for this subtotal: one query.
    A district rate (ShippingDistrictRate.rate) overrides its zone's rate; orders at or above
    the free-shipping threshold ship free: `store_threshold` (the store settings') when set,
    else the zone's own."""
    zone = (
        ShippingZone.objects.annotate(
            own=FilteredRelation("districts", condition=Q(districts__district_id=district_id))
        )
        .filter(Q(own__id__isnull=False) | Q(is_default=True))
        .annotate(district_rate=F("own__rate"), listed=F("own__id"))
        .order_by(F("listed").asc(nulls_last=True))
        .first()
    )
    if zone is None:
        raise ApiError("shipping_unavailable", status=422, fields={"district": ["No zone."]})
    base = zone.district_rate if zone.district_rate is not None else zone.rate
    threshold = zone.free_shipping_threshold if store_threshold is None else store_threshold
    free = threshold is not None and subtotal >= threshold
    return ShippingQuote(
        zone_code=zone.code,
        zone_name=zone.name_en,
        rate=ZERO if free else base,
        free=free,
        days_min=zone.delivery_days_min,
        days_max=zone.delivery_days_max,
        zone_name_bn=zone.name_bn,
        base_rate=base,
        free_shipping_threshold=threshold,
    )


def _add_delivery_days(start: date, days: int) -> date:
    day = start
    while days > 0:
        day += timedelta(days=1)
        if day.weekday() != FRIDAY:
            days -= 1
    return day


def delivery_estimate(
    *, days_min: int, days_max: int, now: datetime | None = None
) -> tuple[date, date]:
    """Earliest and latest delivery dates (Asia/Dhaka), counting days from tomorrow and
    skipping Fridays."""
    today = (now or datetime.now(DHAKA)).astimezone(DHAKA).date()
    return _add_delivery_days(today, days_min), _add_delivery_days(today, days_max)
