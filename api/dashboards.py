"""GET /api/v1/dashboard: the widgets the signed-in user's role may see.

One answer shape for every role: a widget the role may not see (or whose area is not
installed) is `null`. Admin: sales today and over 7 days, orders to process, low stock, fraud
reviews, failed notifications, the chat queue, pending vendor applications. Staff: orders to
process, low stock, fraud reviews. Support: the chat queue and recent orders needing attention.
A vendor's owner: its sales, orders to fulfil, low stock and balance; its staff: orders to
fulfil and low stock. Customers get a 403.
"""

from datetime import datetime
from uuid import UUID

from lib.runtime import make_app

from ninja import Field, Router, Schema

from lib.access.permissions import Require
from lib.analytics.dashboards import dashboard_get
from lib.analytics.schemas import LowStockItemOut
from lib.money import Money

router = Router(tags=["dashboard"])


class DashboardSalesOut(Schema):
    orders: int
    units: int
    revenue: Money = Field(..., description="Sum of the counted orders' lines")
    average_order_value: Money


class DashboardLowStockItemOut(LowStockItemOut):
    pass


class DashboardLowStockOut(Schema):
    count: int = Field(..., description="Items at or below their threshold")
    items: list[DashboardLowStockItemOut] = Field(..., description="The emptiest five")


class DashboardChatQueueOut(Schema):
    unassigned: int
    assigned: int
    awaiting_staff: int


class DashboardOrderOut(Schema):
    number: str
    status: str
    payment_method: str
    payment_status: str
    total_amount: Money
    placed_at: datetime


class RoleDashboardOut(Schema):
    role: str
    vendor_ids: list[UUID] = Field(..., description="The vendors a vendor's widgets cover")
    sales_today: DashboardSalesOut | None = Field(None, description="Dhaka day so far")
    sales_7d: DashboardSalesOut | None = Field(None, description="The last 7 Dhaka days")
    orders_to_process: int | None = Field(None, description="Placed or paid, not started")
    orders_to_fulfil: int | None = Field(None, description="The vendor's orders not shipped")
    low_stock: DashboardLowStockOut | None = None
    fraud_reviews_pending: int | None = Field(None, description="Orders held for review")
    failed_notifications: int | None = Field(None, description="Messages the outbox gave up")
    chat_queue: DashboardChatQueueOut | None = None
    vendor_applications_pending: int | None = None
    orders_needing_attention: list[DashboardOrderOut] | None = Field(
        None, description="Latest orders held for review or whose payment failed"
    )
    balance: Money | None = Field(None, description="What the store owes the vendor now")


@router.get("", response=RoleDashboardOut, auth=Require())
def dashboard(request):
    """The caller's dashboard: the widgets of their role, each `null` when not theirs."""
    return dashboard_get(request.auth)


app = make_app("dashboards", [("/dashboard", router)], title="Zest Store dashboard")
