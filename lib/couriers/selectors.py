"""Reading consignments: the customer's tracking link, and the staff and vendor console
(each list a fixed number of queries whatever the page size)."""

from __future__ import annotations

import logging
from typing import Any, NamedTuple

from django.db.models import Prefetch, QuerySet

from db.models import Consignment, ConsignmentEvent, ConsignmentState, Order
from lib.couriers.base import CourierError
from lib.couriers.registry import courier_for
from lib.couriers.tracking import courier_label
from lib.errors import NotFound
from lib.i18n import Language
from lib.money import money
from lib.pagination import PageParams, paginate

logger = logging.getLogger("zest.couriers")

C = ConsignmentState
# A consignment the customer can follow on the courier's page.
TRACKABLE_EXCLUDED = (C.BOOKING, C.CANCELLED)


class OrderTracking(NamedTuple):
    courier: str
    tracking_code: str
    tracking_url: str


def tracking_url_of(courier: str, tracking_code: str) -> str:
    """The courier's public tracking page; "" when the adapter cannot be built."""
    try:
        return courier_for(courier).tracking_url(tracking_code=tracking_code)
    except CourierError as error:
        logger.warning("%s tracking url unavailable: %s", courier, error.code)
        return ""


def live_consignments() -> QuerySet:
    return Consignment.objects.exclude(state__in=TRACKABLE_EXCLUDED).order_by("-created_at")


def order_tracking(order: Order) -> OrderTracking | None:
    """(courier, tracking code, tracking url) of the order's parcel on the road, or None.
    Uses the `live_consignments` prefetch when the order carries one (`with_tracking`)."""
    cached = getattr(order, "_prefetched_objects_cache", {}).get("consignments")
    if cached is not None:
        consignment = next(iter(cached), None)
    else:
        consignment = live_consignments().filter(order_id=order.pk).first()
    if consignment is None or not consignment.tracking_code:
        return None
    code = consignment.tracking_code
    return OrderTracking(consignment.courier, code, tracking_url_of(consignment.courier, code))


def with_tracking(queryset: QuerySet) -> QuerySet:
    """Orders with their live consignment prefetched (one query for the page)."""
    return queryset.prefetch_related(Prefetch("consignments", queryset=live_consignments()))


def tracking_out(order: Order) -> dict[str, str] | None:
    """The `tracking` block of an order response."""
    tracking = order_tracking(order)
    if tracking is None:
        return None
    return {
        "courier": tracking.courier,
        "courier_name": courier_label(tracking.courier),
        "tracking_code": tracking.tracking_code,
        "tracking_url": tracking.tracking_url,
    }


# --- staff and vendors -------------------------------------------------------------------


def consignment_out(consignment: Consignment, language: Language) -> dict[str, Any]:
    def amount(value):
        return money(value, language) if value is not None else None

    return {
        "id": consignment.pk,
        "order_number": consignment.order.number,
        "order_status": consignment.order.status,
        "courier": consignment.courier,
        "consignment_id": consignment.consignment_id,
        "tracking_code": consignment.tracking_code,
        "tracking_url": (
            tracking_url_of(consignment.courier, consignment.tracking_code)
            if consignment.tracking_code
            else ""
        ),
        "state": consignment.state,
        "raw_status": consignment.raw_status,
        "delivery_fee": amount(consignment.delivery_fee),
        "cod_amount": money(consignment.cod_amount, language),
        "collected_amount": amount(consignment.collected_amount),
        "last_update_at": consignment.last_update_at,
        "last_polled_at": consignment.last_polled_at,
        "created_at": consignment.created_at,
    }


def event_out(event: ConsignmentEvent, language: Language) -> dict[str, Any]:
    return {
        "source": event.source,
        "raw_status": event.raw_status,
        "state": event.state,
        "occurred_at": event.occurred_at,
        "collected_amount": (
            money(event.collected_amount, language) if event.collected_amount is not None else None
        ),
        "message": event.message,
        "applied": event.applied,
        "received_at": event.created_at,
    }


def consignments_of(vendor_ids: tuple[str, ...] | None) -> QuerySet:
    """Consignments of orders the caller may see (every one when `vendor_ids` is None)."""
    from lib.orders.selectors import of_vendors

    orders = of_vendors(Order.objects.all(), vendor_ids)
    queryset = Consignment.objects.select_related("order")
    return queryset if vendor_ids is None else queryset.filter(order__in=orders)


def consignment_list(
    *,
    vendor_ids: tuple[str, ...] | None,
    params: PageParams,
    language: Language,
    courier: str | None = None,
    state: str | None = None,
    order_number: str | None = None,
) -> dict[str, Any]:
    queryset = consignments_of(vendor_ids)
    if courier:
        queryset = queryset.filter(courier=courier)
    if state:
        queryset = queryset.filter(state=state)
    if order_number:
        queryset = queryset.filter(order__number=order_number)
    page = paginate(queryset.order_by("-created_at", "-id"), params)
    page["items"] = [consignment_out(c, language) for c in page["items"]]
    return page


def consignment_get(*, consignment_pk: str, vendor_ids: tuple[str, ...] | None) -> Consignment:
    consignment = consignments_of(vendor_ids).filter(pk=consignment_pk).first()
    if consignment is None:
        raise NotFound()
    return consignment


def consignment_detail(consignment: Consignment, language: Language) -> dict[str, Any]:
    events = consignment.events.order_by("created_at", "id")
    return consignment_out(consignment, language) | {
        "events": [event_out(event, language) for event in events]
    }
