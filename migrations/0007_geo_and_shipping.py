"""Data: Bangladesh's 8 divisions, 64 districts and their upazilas (bilingual, from
db/data/bd_geo.json), and the default shipping zones couriers price by."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from django.db import migrations

GEO_FILE = Path(__file__).resolve().parent.parent / "db" / "data" / "bd_geo.json"

# code, English, Bangla, rate, free-shipping threshold, days min, days max, default
ZONES = [
    ("inside_dhaka", "Inside Dhaka", "ঢাকা সিটির ভেতরে", "60", "3000", 1, 2, False),
    ("dhaka_suburbs", "Dhaka suburbs", "ঢাকার আশেপাশে", "100", "3000", 2, 3, False),
    ("outside_dhaka", "Outside Dhaka", "ঢাকার বাইরে", "120", "3000", 3, 5, True),
]
ZONE_DISTRICTS = {"inside_dhaka": ["Dhaka"], "dhaka_suburbs": ["Gazipur", "Narayanganj"]}


def geo_load(apps, schema_editor=None) -> None:
    """Load the geography once (skipped when present) and the default zones (by code)."""
    Division = apps.get_model("db", "Division")
    District = apps.get_model("db", "District")
    Upazila = apps.get_model("db", "Upazila")
    ShippingZone = apps.get_model("db", "ShippingZone")
    ShippingDistrictRate = apps.get_model("db", "ShippingDistrictRate")

    if not Division.objects.exists():
        data = json.loads(GEO_FILE.read_text(encoding="utf-8"))
        divisions = Division.objects.bulk_create(
            Division(name_en=en, name_bn=bn) for en, bn in data["divisions"]
        )
        districts = District.objects.bulk_create(
            District(division_id=divisions[index].pk, name_en=en, name_bn=bn)
            for index, en, bn in data["districts"]
        )
        Upazila.objects.bulk_create(
            Upazila(district_id=districts[index].pk, name_en=en, name_bn=bn)
            for index, en, bn in data["upazilas"]
        )

    for code, name_en, name_bn, rate, free_from, days_min, days_max, default in ZONES:
        zone, created = ShippingZone.objects.get_or_create(
            code=code,
            defaults={
                "name_en": name_en,
                "name_bn": name_bn,
                "rate": Decimal(rate),
                "free_shipping_threshold": Decimal(free_from),
                "delivery_days_min": days_min,
                "delivery_days_max": days_max,
                "is_default": default and not ShippingZone.objects.filter(is_default=True).exists(),
            },
        )
        if not created:
            continue
        for district in District.objects.filter(name_en__in=ZONE_DISTRICTS.get(code, [])):
            ShippingDistrictRate.objects.get_or_create(district=district, defaults={"zone": zone})


def geo_unload(apps, schema_editor) -> None:
    """Reverse: remove the default zones; the geography stays (addresses name it)."""
    apps.get_model("db", "ShippingZone").objects.filter(code__in=[z[0] for z in ZONES]).delete()


class Migration(migrations.Migration):
    dependencies = [("db", "0006_checkout")]

    operations = [migrations.RunPython(geo_load, geo_unload)]
