"""Inventory administration: /api/v1/admin/inventory (stock adjustments, low stock, alerts).

Staff (`inventory:manage`) manage every product's stock; vendor owners and staff manage their
own vendors' products only.
"""

from datetime import datetime
from functools import partial
from typing import Generic, Literal, TypeVar
from uuid import UUID

from lib.runtime import make_app

from ninja import Field, Query, Router, Schema, Status

from db.models import InventoryAlertKind, StockAdjustmentReason
from lib import inventory, inventory_alerts
from lib.pagination import PageParams, paginate
from lib.schemas import ErrorOut, InputSchema

router = Router(tags=["admin: inventory"])
ACCESS = inventory.INVENTORY_EDITOR
MAX_BULK_ITEMS = 100

Item = TypeVar("Item")


class PageOut(Schema, Generic[Item]):
    items: list[Item]
    count: int
    page: int
    page_size: int
    pages: int


class AdjustmentIn(InputSchema):
    product_id: UUID
    variation_id: UUID | None = Field(None, description="Required for a product with variations")
    delta: int = Field(
        ...,
        ge=-inventory.MAX_DELTA,
        le=inventory.MAX_DELTA,
        description="Units added (positive) or removed (negative); never 0",
    )
    reason: StockAdjustmentReason
    note: str = Field("", max_length=255)

    def change(self) -> inventory.StockChange:
        return inventory.StockChange(
            product_id=self.product_id,
            variation_id=self.variation_id,
            delta=self.delta,
            reason=self.reason,
            note=self.note,
        )


class AdjustmentBatchIn(InputSchema):
    items: list[AdjustmentIn] = Field(..., min_length=1, max_length=MAX_BULK_ITEMS)


class AdjustmentOut(Schema):
    id: UUID
    product_id: UUID
    variation_id: UUID | None
    sku: str
    delta: int
    quantity_after: int
    reason: StockAdjustmentReason
    note: str
    actor_id: UUID | None
    created_at: datetime

    @staticmethod
    def resolve_sku(adjustment) -> str:
        return (adjustment.variation or adjustment.product).sku


class AdjustmentBatchOut(Schema):
    items: list[AdjustmentOut]


class AdjustmentQuery(PageParams):
    product_id: UUID | None = None
    variation_id: UUID | None = None
    reason: StockAdjustmentReason | None = None


class StockItemOut(Schema):
    product_id: UUID
    variation_id: UUID | None
    vendor_id: UUID | None
    sku: str
    name_en: str
    name_bn: str
    variation_value_en: str
    variation_value_bn: str
    quantity: int
    allocated: int
    available: int
    low_stock_threshold: int
    status: InventoryAlertKind


class AlertOut(Schema):
    id: UUID
    kind: InventoryAlertKind
    product_id: UUID
    variation_id: UUID | None
    sku: str
    name_en: str
    name_bn: str
    variation_value_en: str
    variation_value_bn: str
    quantity_at_alert: int
    created_at: datetime
    resolved_at: datetime | None

    @staticmethod
    def resolve_sku(alert) -> str:
        return (alert.variation or alert.product).sku

    @staticmethod
    def resolve_name_en(alert) -> str:
        return alert.product.name_en

    @staticmethod
    def resolve_name_bn(alert) -> str:
        return alert.product.name_bn

    @staticmethod
    def resolve_variation_value_en(alert) -> str:
        return alert.variation.variation_value_en if alert.variation else ""

    @staticmethod
    def resolve_variation_value_bn(alert) -> str:
        return alert.variation.variation_value_bn if alert.variation else ""


class AlertQuery(PageParams):
    status: Literal["open", "resolved", "all"] = "open"
    kind: InventoryAlertKind | None = None
    product_id: UUID | None = None


@router.post("/adjustments", response={201: AdjustmentOut, 409: ErrorOut}, auth=ACCESS)
def create_adjustment(request, payload: AdjustmentIn):
    """Adjust a product's (or variation's) stock, with the reason kept on the audit trail."""
    adjustments = inventory.stock_adjust_many(
        items=[payload.change()],
        actor_id=request.auth.user_id,
        authorize=partial(inventory.product_access_check, request),
    )
    return Status(201, adjustments[0])


@router.post("/adjustments/bulk", response={201: AdjustmentBatchOut, 409: ErrorOut}, auth=ACCESS)
def create_adjustments(request, payload: AdjustmentBatchIn):
    """Adjust the stock of many products at once: all or nothing."""
    adjustments = inventory.stock_adjust_many(
        items=[item.change() for item in payload.items],
        actor_id=request.auth.user_id,
        authorize=partial(inventory.product_access_check, request),
    )
    return Status(201, {"items": adjustments})


@router.get("/adjustments", response=PageOut[AdjustmentOut], auth=ACCESS)
def list_adjustments(request, query: Query[AdjustmentQuery]):
    """The stock audit trail, filtered by product, variation or reason."""
    filters = inventory.AdjustmentFilters(
        product_id=query.product_id, variation_id=query.variation_id, reason=query.reason
    )
    rows = inventory.stock_adjustment_list(
        filters=filters, vendor_ids=inventory.inventory_vendor_ids(request)
    )
    return paginate(rows, query)


@router.get("/low-stock", response=PageOut[StockItemOut], auth=ACCESS)
def low_stock(request, query: Query[PageParams]):
    """Products at or below their low-stock threshold."""
    return inventory_alerts.low_stock_report(
        page=query, vendor_ids=inventory.inventory_vendor_ids(request)
    )


@router.get("/alerts", response=PageOut[AlertOut], auth=ACCESS)
def list_alerts(request, query: Query[AlertQuery]):
    """Inventory alerts, filtered by status, kind or product."""
    filters = inventory_alerts.AlertFilters(
        status=query.status, kind=query.kind, product_id=query.product_id
    )
    alerts = inventory_alerts.inventory_alert_list(
        filters=filters, vendor_ids=inventory.inventory_vendor_ids(request)
    )
    return paginate(alerts, query)


@router.post("/alerts/{alert_id}/resolve", response={200: AlertOut, 409: ErrorOut}, auth=ACCESS)
def resolve_alert(request, alert_id: UUID):
    """Mark an inventory alert resolved."""
    return inventory_alerts.inventory_alert_resolve(
        alert_id=alert_id, authorize=partial(inventory.product_access_check, request)
    )


app = make_app(
    "inventory", [("/admin/inventory", router)], title="Zest Store inventory administration"
)
