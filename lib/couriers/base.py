"""The one interface every courier adapter implements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal, Protocol

CourierState = Literal[
    "booked",
    "picked_up",
    "in_transit",
    "out_for_delivery",
    "delivered",
    "partially_delivered",
    "delivery_failed",
    "on_hold",
    "returning",
    "returned",
    "cancelled",
    "paid_out",
    "unknown",
]


@dataclass(frozen=True, slots=True)
class Parcel:
    """What we ask a courier to carry (built from an Order by `parcel_from_order`)."""

    merchant_order_id: str  # our order number: the idempotency reference at the courier
    recipient_name: str
    recipient_phone: str  # 11 digits, 01XXXXXXXXX
    recipient_address: str  # one line, as the customer wrote it
    district: str  # English district name from the address (e.g. "Dhaka")
    area: str  # English upazila/thana name
    cod_amount: Decimal  # cash to collect, 0 for prepaid
    declared_value: Decimal
    weight_grams: int
    item_count: int
    description: str = ""
    note: str = ""


@dataclass(frozen=True, slots=True)
class FeeQuote:
    delivery_fee: Decimal
    cod_fee: Decimal
    raw: dict = field(default_factory=dict)


# A booking recovered by our invoice (order number) before the courier's own id is known is
# stored as `invoice:<invoice>`; the first update that names the parcel's real id replaces it.
PROVISIONAL_ID_PREFIX = "invoice:"


def consignment_id_provisional(consignment_id: str) -> bool:
    return not consignment_id or consignment_id.startswith(PROVISIONAL_ID_PREFIX)


@dataclass(frozen=True, slots=True)
class Booking:
    consignment_id: str  # the courier's id for the parcel (or PROVISIONAL_ID_PREFIX + invoice)
    tracking_code: str  # what the customer types on the courier's tracking page
    delivery_fee: Decimal | None  # when the courier says it at booking
    raw: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TrackingUpdate:
    consignment_id: str
    merchant_order_id: str  # our order number when the courier sends it, else ""
    state: CourierState
    raw_status: str  # the courier's own word (event slug / status), stored as is
    occurred_at: datetime | None  # timezone-aware UTC when the courier says it
    collected_amount: Decimal | None = None  # cash the courier collected (delivered / partial)
    delivery_fee: Decimal | None = None
    message: str = ""
    raw: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WebhookReply:
    """What the courier expects back from our webhook."""

    status: int
    body: dict
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PayoutReport:
    """A courier's payout of collected cash (Steadfast publishes them; Pathao's order.paid
    webhook carries an invoice_id)."""

    reference: str
    paid_at: datetime | None
    amount: Decimal
    lines: tuple[tuple[str, Decimal], ...]  # (consignment_id, cash collected for it)
    raw: dict = field(default_factory=dict)


class CourierError(Exception):
    """The courier refused, failed or did not answer in time. `code` is
    "courier_unsupported" when the courier has no public API for the operation.

    `outcome_unknown` is True when the request reached (or may have reached) the courier and
    no answer says what it did: a read timeout, a dropped connection, a 5xx. A create that
    fails so may still have made the parcel. False when the courier certainly did nothing
    (connection refused, connect timeout, a 4xx refusal, 429, refused credentials)."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "courier_error",
        retryable: bool = False,
        outcome_unknown: bool = False,
    ):
        super().__init__(message)
        self.code = code
        self.retryable = retryable
        self.outcome_unknown = outcome_unknown


class Courier(Protocol):
    name: str  # "pathao" | "steadfast" | "redx"

    def quote(self, *, parcel: Parcel) -> FeeQuote:
        """The courier's delivery and COD fee for the parcel."""

    def book(self, *, parcel: Parcel) -> Booking:
        """Create the consignment at the courier."""

    def track(self, *, consignment_id: str) -> TrackingUpdate:
        """Poll the consignment's current status."""

    def cancel(self, *, consignment_id: str) -> None:
        """Cancel before pickup; CourierError(code="courier_unsupported") where not public."""

    def tracking_url(self, *, tracking_code: str) -> str:
        """The courier's public tracking page for the customer."""

    def webhook_authentic(self, *, headers: Mapping[str, str], query: Mapping[str, str]) -> bool:
        """Whether a webhook carries our secret/token (constant-time compare)."""

    def webhook_parse(self, *, payload: dict) -> list[TrackingUpdate]:
        """The updates a webhook carries: [] for handshakes and unrelated notifications;
        unknown statuses come back with state "unknown"."""

    def webhook_reply(self, *, payload: dict) -> WebhookReply:
        """What the courier expects back (e.g. Pathao: 202 + its integration secret header)."""


# Optional adapter methods (not in the Protocol, looked up with getattr):
#     def payouts(self) -> list[PayoutReport]: ...
#     def find_by_order(self, *, merchant_order_id: str) -> Booking | None: ...
#         The live parcel an earlier create made for our order number, None when the courier
#         certainly has none (settles a booking whose create answer was lost).
