"""Which adapter serves which courier.

Each adapter module `lib.couriers.<name>` exposes `courier() -> Courier`, building the
adapter from its lazily read config (`lib.conf.<name>_config()`); it is imported only when
first needed. `register_courier` adds or replaces a factory (another deployment's adapter).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from lib.couriers.base import Courier, CourierError

CourierFactory = Callable[[], Courier]

COURIERS: tuple[str, ...] = ("pathao", "steadfast", "redx")


def _adapter(module: str) -> CourierFactory:
    def factory() -> Courier:
        return importlib.import_module(f"lib.couriers.{module}").courier()

    return factory


_FACTORIES: dict[str, CourierFactory] = {name: _adapter(name) for name in COURIERS}


def register_courier(name: str, factory: CourierFactory) -> CourierFactory | None:
    """Serve courier `name` with `factory`; returns the factory it replaces."""
    previous = _FACTORIES.get(name)
    _FACTORIES[name] = factory
    return previous


def courier_for(name: str) -> Courier:
    """The adapter for courier `name`. CourierError(code="courier_unknown") for a name we do
    not serve, code="courier_unavailable" when its adapter is not installed yet."""
    factory = _FACTORIES.get(str(name))
    if factory is None:
        raise CourierError(f"unknown courier {name!r}", code="courier_unknown")
    try:
        return factory()
    except ModuleNotFoundError as error:
        if error.name != f"lib.couriers.{name}":
            raise
        raise CourierError(
            f"courier {name!r} has no adapter", code="courier_unavailable"
        ) from error
