"""Order numbers: `ZS-YYMM-NNNNNN`, a per-month counter that never hands out one number twice.

The counter is a KV `INCR` (one round trip, atomic across instances). If the KV store was
emptied, the counter restarts from the highest number already in the database for the month
(`order_number_resync`), which placement calls when an insert hits the unique constraint.
"""

from __future__ import annotations

from django.utils import timezone

from db.models import Order
from lib.kv import get_kv

PREFIX = "ZS"
WIDTH = 6
KEY = "orders:number:{month}"


def month_now() -> str:
    return timezone.now().strftime("%y%m")


def order_number_next() -> str:
    month = month_now()
    value = int(get_kv().incr(KEY.format(month=month)))
    return f"{PREFIX}-{month}-{value:0{WIDTH}d}"


def order_number_resync() -> None:
    """Move the month's counter past the highest number already used."""
    month = month_now()
    prefix = f"{PREFIX}-{month}-"
    last = (
        Order.objects.filter(number__startswith=prefix)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    highest = int(last.rsplit("-", 1)[1]) if last else 0
    kv = get_kv()
    key = KEY.format(month=month)
    current = int(kv.get(key) or 0)
    if current < highest:
        kv.incrby(key, highest - current)
