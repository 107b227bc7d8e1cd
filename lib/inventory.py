"""Inventory rules: availability and low-stock alerts."""

from __future__ import annotations


def inventory_alerts_scan() -> dict:
    """Open an alert for each product at or under its threshold, resolve recovered ones.

    Routed and authorised by the inventory-alerts cron; the alert rules arrive with the
    catalog and inventory capability.
    """
    return {"alerts_opened": 0, "alerts_resolved": 0}
