"""Response shapes the analytics and dashboard functions share."""

from __future__ import annotations

from uuid import UUID

from ninja import Schema


class LowStockItemOut(Schema):
    """An item at or below its low-stock threshold."""

    product_id: UUID
    variation_id: UUID | None
    sku: str
    name_en: str
    name_bn: str
    variation_value_en: str
    variation_value_bn: str
    available: int
    low_stock_threshold: int
