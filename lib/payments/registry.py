"""Which gateway serves which payment method.

Each adapter module `lib.payments.<provider>` exposes `gateway() -> Gateway`, imported only
when first needed. Rocket has no merchant API of its own: it is the SSLCommerz gateway with
Rocket preselected. Cash on delivery has no gateway. `register_gateway` adds or replaces a
factory (another deployment's adapter, or a stand-in provider in tests).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from db.models import PaymentProvider
from lib.errors import ApiError
from lib.payments.base import Gateway, ProviderError

GatewayFactory = Callable[[], Gateway]

# Payment methods paid online, through a gateway.
WALLET_METHODS = frozenset(
    {
        PaymentProvider.BKASH,
        PaymentProvider.NAGAD,
        PaymentProvider.ROCKET,
        PaymentProvider.UPAY,
        PaymentProvider.SSLCOMMERZ,
    }
)
# Payment method -> the gateway module that serves it, when that is another one.
SERVED_BY: dict[str, str] = {PaymentProvider.ROCKET: PaymentProvider.SSLCOMMERZ}


def _adapter(module: str, **options: str) -> GatewayFactory:
    def factory() -> Gateway:
        return importlib.import_module(f"lib.payments.{module}").gateway(**options)

    return factory


GATEWAYS: dict[str, GatewayFactory] = {
    PaymentProvider.BKASH: _adapter("bkash"),
    PaymentProvider.NAGAD: _adapter("nagad"),
    PaymentProvider.UPAY: _adapter("upay"),
    PaymentProvider.SSLCOMMERZ: _adapter("sslcommerz"),
    PaymentProvider.ROCKET: _adapter("sslcommerz", preselect="rocket"),
}


def register_gateway(name: str, factory: GatewayFactory) -> GatewayFactory | None:
    """Serve payment method `name` with `factory`; returns the factory it replaces."""
    previous = GATEWAYS.get(name)
    GATEWAYS[name] = factory
    return previous


def gateway_for(provider: str) -> Gateway:
    """The gateway for a payment method; 409 `payment_provider_unknown` for cash on delivery
    or anything unknown; 503 `payment_provider_error` when the adapter is not configured."""
    factory = GATEWAYS.get(str(provider))
    if factory is None:
        raise ApiError("payment_provider_unknown", status=409, fields={"provider": [provider]})
    try:
        return factory()
    except ProviderError as error:
        raise ApiError(
            "payment_provider_error", status=503, fields={"provider": [error.code]}
        ) from error


def methods_served_by(provider: str) -> frozenset[str]:
    """The payment methods whose callbacks arrive at `provider`'s webhook (SSLCommerz also
    carries Rocket)."""
    return frozenset({provider, *(m for m, via in SERVED_BY.items() if via == provider)})


def webhook_provider(method: str) -> str:
    """The provider whose webhook receives callbacks for payment method `method`."""
    return SERVED_BY.get(method, method)
