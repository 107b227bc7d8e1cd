"""SMS for staff: /api/v1/admin/sms, the queued, sent and failed messages."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from lib.runtime import make_app

from ninja import Field, Query, Router, Schema

from lib.access.permissions import Require
from lib.pagination import PageParams, paginate
from lib.schemas import ErrorOut
from lib.sms.selectors import SmsFilters, sms_list, sms_view
from lib.sms.services import sms_retry

router = Router(tags=["admin: SMS"], auth=Require("orders:manage", scope="orders:manage"))


class SmsOut(Schema):
    id: UUID
    to: str = Field(description="8801XXXXXXXXX")
    kind: str = Field(description="otp, order_placed, order_shipped, order_out_for_delivery")
    text: str = Field(description="Empty for one-time codes, which are never shown")
    reference: str = Field(description="Our id at the gateway (SSL Wireless's csms_id)")
    status: Literal["pending", "sent", "failed"]
    attempts: int
    last_error: str = Field(description="Why the last attempt failed")
    created_at: datetime
    next_attempt_at: datetime | None = Field(description="Pending messages: the next attempt")
    sent_at: datetime | None


class SmsPageOut(Schema):
    items: list[SmsOut]
    count: int
    page: int
    page_size: int
    pages: int


class SmsQuery(PageParams):
    status: Literal["pending", "sent", "failed"] | None = None
    kind: str | None = Field(None, max_length=50)
    to: str | None = Field(None, pattern=r"^8801[0-9]{9}$", description="8801XXXXXXXXX")


@router.get("", response=SmsPageOut)
def list_sms(request, query: Query[SmsQuery]):
    """Queued SMS, newest first, filtered by status (`failed`: permanently refused by the
    gateway or over the per-number cap, with the reason in `last_error`), kind or number."""
    filters = SmsFilters(status=query.status, kind=query.kind, to=query.to)
    page = paginate(sms_list(filters=filters), query)
    return {**page, "items": [sms_view(message) for message in page["items"]]}


@router.post("/{message_id}/retry", response={200: SmsOut, 409: ErrorOut})
def retry_sms(request, message_id: UUID):
    """Send a failed or waiting SMS again now (after topping up the gateway account or fixing
    its settings); it goes out right after this answer. 409 `sms_already_sent` for one that
    was sent, 404 for an id that is not an SMS."""
    return sms_view(sms_retry(message_id=message_id))


app = make_app("sms_admin", [("/admin/sms", router)], title="Zest Store SMS administration")
