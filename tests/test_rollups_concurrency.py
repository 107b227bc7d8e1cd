"""Rollups rebuilt at the same moment (the hourly cron while a backfill runs) end in one
set of rows, never a failure or a duplicate."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from db.models import DailyProductSales, DailySales, FunnelSnapshot
from lib.analytics.funnel import funnel_snapshot_take
from lib.analytics.rollups import rollups_build
from tests.test_rollups import LATE_ON_10TH, NOV_10, NOV_11, item, sale, vendor

pytestmark = pytest.mark.django_db(transaction=True)


def all_at_once(work, count: int) -> list[BaseException]:
    start = threading.Barrier(count)
    errors: list[BaseException] = []

    def one() -> None:
        try:
            start.wait()
            work()
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_concurrent_rebuilds_of_the_same_days_leave_one_row_each():
    product = item(vendor=vendor(), price="40.00")
    sale(at=LATE_ON_10TH, lines=[(product, 2)])

    errors = all_at_once(lambda: rollups_build(NOV_10, NOV_11), 6)

    assert errors == []
    assert DailySales.objects.filter(vendor__isnull=True).count() == 2
    assert DailySales.objects.filter(vendor__isnull=False).count() == 1
    assert DailyProductSales.objects.count() == 1
    row = DailySales.objects.get(day=NOV_10, vendor__isnull=True)
    assert (row.orders, row.revenue) == (1, Decimal("80.00"))


def test_concurrent_funnel_snapshots_of_a_day_leave_one_row(kv):
    errors = all_at_once(lambda: funnel_snapshot_take(now=LATE_ON_10TH), 6)

    assert errors == []
    assert FunnelSnapshot.objects.filter(day=NOV_10, vendor__isnull=True).count() == 1
