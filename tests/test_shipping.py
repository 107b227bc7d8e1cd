"""Shipping quotes per zone, district overrides, free shipping, delivery estimates."""

from __future__ import annotations

import importlib
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.apps import apps

from db.models import District, ShippingDistrictRate, ShippingZone
from lib.checkout.shipping import DHAKA, delivery_estimate, shipping_quote
from lib.errors import ApiError

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def geo():
    importlib.import_module("migrations.0007_geo_and_shipping").geo_load(apps)


def district(name: str) -> int:
    return District.objects.get(name_en=name).pk


def test_the_data_migration_created_the_three_zones():
    zones = {z.code: z for z in ShippingZone.objects.all()}
    assert set(zones) >= {"inside_dhaka", "dhaka_suburbs", "outside_dhaka"}
    assert zones["outside_dhaka"].is_default
    assert zones["inside_dhaka"].name_bn
    assert {r.district.name_en for r in zones["dhaka_suburbs"].districts.all()} == {
        "Gazipur",
        "Narayanganj",
    }


@pytest.mark.parametrize(
    ("name", "zone", "rate", "days"),
    [
        ("Dhaka", "inside_dhaka", "60", (1, 2)),
        ("Gazipur", "dhaka_suburbs", "100", (2, 3)),
        ("Narayanganj", "dhaka_suburbs", "100", (2, 3)),
        ("Chattogram", "outside_dhaka", "120", (3, 5)),
        ("Sylhet", "outside_dhaka", "120", (3, 5)),
    ],
)
def test_rates_per_zone_in_one_query(name, zone, rate, days, django_assert_num_queries):
    district_id = district(name)
    with django_assert_num_queries(1):
        quote = shipping_quote(district_id=district_id, subtotal=Decimal("500.00"))
    assert quote.zone_code == zone
    assert quote.rate == Decimal(rate) and quote.base_rate == Decimal(rate)
    assert quote.free is False
    assert (quote.days_min, quote.days_max) == days


def test_a_district_rate_overrides_its_zone():
    zone = ShippingZone.objects.get(code="outside_dhaka")
    ShippingDistrictRate.objects.create(district_id=district("Cox's Bazar"), zone=zone, rate=150)
    assert shipping_quote(district_id=district("Cox's Bazar"), subtotal=Decimal(1)).rate == 150
    assert shipping_quote(district_id=district("Feni"), subtotal=Decimal(1)).rate == 120


def test_a_listed_district_without_its_own_rate_takes_the_zones():
    quote = shipping_quote(district_id=district("Gazipur"), subtotal=Decimal("10"))
    assert quote.rate == Decimal("100.00")


def test_free_shipping_from_the_zones_threshold():
    ShippingZone.objects.filter(code="inside_dhaka").update(free_shipping_threshold=3000)
    dhaka = district("Dhaka")
    below = shipping_quote(district_id=dhaka, subtotal=Decimal("2999.99"))
    at = shipping_quote(district_id=dhaka, subtotal=Decimal("3000.00"))
    assert (below.free, below.rate) == (False, Decimal("60.00"))
    assert (at.free, at.rate, at.base_rate) == (True, Decimal("0.00"), Decimal("60.00"))


def test_a_zone_without_threshold_never_ships_free():
    ShippingZone.objects.filter(code="outside_dhaka").update(free_shipping_threshold=None)
    quote = shipping_quote(district_id=district("Sylhet"), subtotal=Decimal("100000"))
    assert quote.free is False and quote.rate == Decimal("120.00")


def test_without_a_default_zone_unlisted_districts_cannot_be_quoted():
    ShippingZone.objects.filter(is_default=True).update(is_default=False)
    with pytest.raises(ApiError) as caught:
        shipping_quote(district_id=district("Sylhet"), subtotal=Decimal("100"))
    assert caught.value.code == "shipping_unavailable"


def test_delivery_estimates_count_from_tomorrow_in_dhaka_and_skip_fridays():
    # Wednesday 2026-11-25, 23:30 in Dhaka (17:30 UTC): Thursday, then Saturday.
    now = datetime(2026, 11, 25, 23, 30, tzinfo=DHAKA)
    assert delivery_estimate(days_min=1, days_max=2, now=now) == (
        date(2026, 11, 26),
        date(2026, 11, 28),
    )
    quote = shipping_quote(district_id=district("Sylhet"), subtotal=Decimal("100"))
    earliest, latest = quote.estimate(now=now)
    assert earliest == date(2026, 11, 29) and latest == date(2026, 12, 1)
