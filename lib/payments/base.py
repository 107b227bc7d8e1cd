"""The one interface every payment provider adapter implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, Protocol

ProviderState = Literal["captured", "pending", "failed", "cancelled"]


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
    refund_id: str
    amount: Decimal
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
        """Refund part or all of a captured payment."""

    def callback_payment_id(self, *, request_data: dict) -> str:
        """Which provider payment a callback is about (after checking its signature/hash)."""
