"""The one interface every payment provider adapter implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, Protocol

ProviderState = Literal["captured", "pending", "failed", "cancelled"]
# What a provider says about one refund: done, accepted but not done yet, refused, never
# received, or it cannot tell (no refund query for this case).
RefundState = Literal["refunded", "pending", "failed", "not_found", "unknown"]


@dataclass(frozen=True, slots=True)
class StartResult:
    provider_payment_id: str
    redirect_url: str
    raw: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProviderStatus:
    """What the provider says, server to server, about one payment."""

    provider_payment_id: str
    state: ProviderState
    amount: Decimal | None
    transaction_id: str = ""
    raw: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RefundResult:
    """The provider's answer to a refund it accepted: `refunded` when it says the money went
    back, `pending` when it only took the request (confirmed later by `refund_status`)."""

    refund_id: str
    amount: Decimal
    raw: dict = field(default_factory=dict)
    state: Literal["refunded", "pending"] = "refunded"


@dataclass(frozen=True, slots=True)
class RefundQuery:
    """Which refund `Gateway.refund_status` asks about: the one of `amount` sent for the
    payment, beyond the refunds we already hold as confirmed (`known_refund_ids`, totalling
    `refunded_before`). `refund_id` is the provider's id when its answer gave one."""

    provider_payment_id: str
    transaction_id: str
    amount: Decimal
    refund_id: str = ""
    refunded_before: Decimal = Decimal("0")
    known_refund_ids: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ProviderRefund:
    state: RefundState
    refund_id: str = ""
    amount: Decimal | None = None
    raw: dict = field(default_factory=dict)


class ProviderError(Exception):
    """The provider refused, failed or did not answer in time."""

    def __init__(self, message: str, *, code: str = "provider_error", retryable: bool = False):
        super().__init__(message)
        self.code = code
        self.retryable = retryable


class Gateway(Protocol):
    name: str

    def start(
        self, *, payment_id: str, invoice: str, amount: Decimal, callback_url: str, customer: dict
    ) -> StartResult:
        """Create the payment at the provider; the payer is sent to `redirect_url`."""

    def confirm(self, *, provider_payment_id: str, callback: dict) -> ProviderStatus:
        """After a payer return or a notification: verify with the provider (never trust the
        callback alone)."""

    def query(self, *, provider_payment_id: str) -> ProviderStatus:
        """The payment's current state at the provider (reconciliation)."""

    def refund(
        self, *, provider_payment_id: str, transaction_id: str, amount: Decimal, reason: str
    ) -> RefundResult:
        """Refund part or all of a captured payment. Raises a non-retryable `ProviderError`
        when the provider refused it, a retryable one when the outcome is unknown (timeout)."""

    def refund_status(self, *, query: RefundQuery) -> ProviderRefund:
        """What the provider says about a refund we sent (after a timeout, or one it only
        accepted). `ProviderError(code="unsupported")` where the provider has no such query."""

    def callback_payment_id(self, *, request_data: dict) -> str:
        """Which provider payment a callback is about (after checking its signature/hash)."""
