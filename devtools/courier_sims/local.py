"""Start every courier simulator for `zest dev`, so booking and tracking work offline.

A courier the developer has configured (its base URL set in the environment, e.g. a
sandbox) is left alone; for the others, whose simulator module exists, a simulator is started
on a free port, its status moves POST to the dev server's /api/webhooks/<courier>, and the
environment points the adapter at it (base URL, demo credentials, webhook secret or token).
Returns the variables to set and what was started.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

COURIERS = ("pathao", "steadfast", "redx")


def courier_simulators_start(
    public_base_url: str = "http://127.0.0.1:8000",
) -> tuple[dict[str, str], dict[str, Any]]:
    env: dict[str, str] = {}
    running: dict[str, Any] = {}
    for name in COURIERS:
        if os.environ.get(f"{name.upper()}_BASE_URL"):
            continue
        try:
            module = importlib.import_module(f"devtools.courier_sims.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"devtools.courier_sims.{name}":
                raise
            continue
        start = getattr(module, f"start_{name}_simulator")
        webhook_url = f"{public_base_url.rstrip('/')}/api/webhooks/{name}"
        running[name] = start(webhook_url=webhook_url)
        env.update(running[name].env())
    return env, running
