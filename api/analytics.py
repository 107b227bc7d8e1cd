"""Sales analytics: /api/v1/admin/analytics (daily rollups in Asia/Dhaka days).

Staff holding `analytics:read` see the whole shop, or one vendor with `vendor=`; a vendor's
owner and staff (`vendor:analytics`) see only their vendor's lines (another vendor's id is a
403). The sales, payment-method, product and category reports answer `?format=csv` with the
same rows as a CSV download. Ranges are Dhaka calendar days, `from` and `to` inclusive (the last
30 days by default, at most 1098).
"""

from datetime import date
from typing import Literal
from uuid import UUID

from lib.runtime import make_app

from ninja import Field, Query, Router, Schema

from lib.analytics import export, selectors
from lib.analytics.funnel import funnel_report
from lib.analytics.schemas import LowStockItemOut
from lib.analytics.scope import RequireAnalytics, analytics_vendor_ids
from lib.money import Money

router = Router(tags=["admin: analytics"], auth=RequireAnalytics())
CSV = {"responses": {200: {"content": {"text/csv": {"schema": {"type": "string"}}}}}}


class AnalyticsRangeQuery(Schema):
    date_from: date | None = Field(
        None, alias="from", description="First Dhaka day (default: 29 days before `to`)"
    )
    date_to: date | None = Field(None, alias="to", description="Last Dhaka day (default: today)")
    vendor: UUID | None = Field(
        None, description="One vendor's lines (staff: any vendor; a vendor: only its own)"
    )
    format: Literal["json", "csv"] = Field("json", description="`csv` for a download")


class AnalyticsSalesQuery(AnalyticsRangeQuery):
    granularity: Literal["day", "week", "month"] = Field(
        "day", description="Points per Dhaka day, ISO week (from Monday) or month"
    )


class AnalyticsTopQuery(AnalyticsRangeQuery):
    limit: int = Field(10, ge=1, le=100)


class AnalyticsLowStockQuery(Schema):
    vendor: UUID | None = Field(None, description="One vendor's items")
    limit: int = Field(20, ge=1, le=100)


class SalesFiguresOut(Schema):
    orders: int = Field(..., description="Counted orders (not unpaid, held or cancelled)")
    units: int
    revenue: Money = Field(..., description="Sum of the counted orders' lines")
    discounts: Money = Field(..., description="Order discounts (whole-shop figures only)")
    shipping: Money = Field(..., description="Shipping and COD fees (whole-shop figures only)")
    refunds: Money = Field(..., description="Lines of counted orders later returned/refunded")
    net_revenue: Money = Field(..., description="revenue - discounts - refunds")
    average_order_value: Money
    new_customers: int = Field(..., description="Customers whose first order it was")
    returning_customers: int = Field(..., description="Customers who had ordered before")


class SalesPointOut(SalesFiguresOut):
    period: date = Field(..., description="First Dhaka day of the day, week or month")


class SalesPaymentMethodOut(Schema):
    method: str
    orders: int
    revenue: Money
    share_percent: float = Field(..., description="Share of the revenue, in percent")


class SalesReportOut(Schema):
    date_from: date
    date_to: date
    granularity: str
    totals: SalesFiguresOut
    series: list[SalesPointOut]
    payment_methods: list[SalesPaymentMethodOut]


class TopSellingProductOut(Schema):
    product_id: UUID
    sku: str
    name_en: str
    name_bn: str
    units: int
    orders: int
    revenue: Money


class TopSellingCategoryOut(Schema):
    category_id: UUID
    name_en: str
    name_bn: str
    units: int
    orders: int
    revenue: Money


class SalesFunnelOut(Schema):
    date_from: date
    date_to: date
    counted_from: date | None = Field(
        ..., description="First day the counts cover; null: since counting began"
    )
    counted_to: date | None = Field(
        ..., description="Last day the counts cover; null: no snapshot covers the range"
    )
    views: int = Field(..., description="Product page views")
    cart_adds: int = Field(..., description="Adds to cart")
    purchases: int = Field(..., description="Units bought")
    view_to_cart_percent: float
    cart_to_purchase_percent: float
    view_to_purchase_percent: float
    orders: int = Field(..., description="Counted orders in the range")
    units: int = Field(..., description="Units of the counted orders in the range")


class AnalyticsLowStockOut(LowStockItemOut):
    vendor_id: UUID | None


def scope_of(request, query: AnalyticsRangeQuery) -> tuple[tuple[str, ...] | None, str]:
    """The vendors the caller reads (None: the whole shop) and their label for file names."""
    vendor_ids = analytics_vendor_ids(request, str(query.vendor) if query.vendor else None)
    return vendor_ids, export.scope_label(vendor_ids)


@router.get("/sales", response=SalesReportOut, openapi_extra=CSV)
def sales(request, query: Query[AnalyticsSalesQuery]):
    """Revenue, orders, units, average order value, discounts, refunds and new vs returning
    customers per day, week or month, with the totals and the payment-method split."""
    vendor_ids, label = scope_of(request, query)
    period = selectors.period_resolve(query.date_from, query.date_to)
    report = selectors.sales_report(
        vendor_ids=vendor_ids, period=period, granularity=query.granularity
    )
    if query.format == "csv":
        return export.csv_response(
            report="sales", rows=report["series"], period=period, scope=label
        )
    return report


@router.get("/payment-methods", response=list[SalesPaymentMethodOut], openapi_extra=CSV)
def payment_methods(request, query: Query[AnalyticsRangeQuery]):
    """Orders and revenue per payment method over the range, largest first."""
    vendor_ids, label = scope_of(request, query)
    period = selectors.period_resolve(query.date_from, query.date_to)
    rows = selectors.sales_report(vendor_ids=vendor_ids, period=period)["payment_methods"]
    if query.format == "csv":
        return export.csv_response(report="payment-methods", rows=rows, period=period, scope=label)
    return rows


@router.get("/products/top", response=list[TopSellingProductOut], openapi_extra=CSV)
def products_top(request, query: Query[AnalyticsTopQuery]):
    """The best-selling products of the range by revenue."""
    vendor_ids, label = scope_of(request, query)
    period = selectors.period_resolve(query.date_from, query.date_to)
    rows = selectors.top_products(vendor_ids=vendor_ids, period=period, limit=query.limit)
    if query.format == "csv":
        return export.csv_response(report="products", rows=rows, period=period, scope=label)
    return rows


@router.get("/categories/top", response=list[TopSellingCategoryOut], openapi_extra=CSV)
def categories_top(request, query: Query[AnalyticsTopQuery]):
    """Categories by the revenue of their products over the range."""
    vendor_ids, label = scope_of(request, query)
    period = selectors.period_resolve(query.date_from, query.date_to)
    rows = selectors.top_categories(vendor_ids=vendor_ids, period=period, limit=query.limit)
    if query.format == "csv":
        return export.csv_response(report="categories", rows=rows, period=period, scope=label)
    return rows


@router.get("/funnel", response=SalesFunnelOut)
def sales_funnel(request, query: Query[AnalyticsRangeQuery]):
    """Product views -> cart adds -> purchases over the range (from the daily snapshots of
    the product counters; live through today), beside the range's orders and units."""
    vendor_ids, _ = scope_of(request, query)
    period = selectors.period_resolve(query.date_from, query.date_to)
    return funnel_report(vendor_ids=vendor_ids, period=period)


@router.get("/low-stock", response=list[AnalyticsLowStockOut])
def low_stock(request, query: Query[AnalyticsLowStockQuery]):
    """Items for sale at or below their low-stock threshold, the emptiest first."""
    vendor_ids = analytics_vendor_ids(request, str(query.vendor) if query.vendor else None)
    return selectors.low_stock(vendor_ids=vendor_ids, limit=query.limit)


app = make_app("analytics", [("/admin/analytics", router)], title="Zest Store analytics")
