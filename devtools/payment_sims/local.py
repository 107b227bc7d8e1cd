"""Start every payment provider simulator for `zest dev`, so checkout works offline.

A provider the developer has configured (its base URL set in the environment, e.g. a
sandbox) is left alone; for the others a simulator is started on a free port and the
environment points the adapter at it. Returns the variables to set and what was started.
"""

from __future__ import annotations

import os
from typing import Any

from devtools.payment_sims import bkash, nagad, sslcommerz, upay


def payment_simulators_start() -> tuple[dict[str, str], dict[str, Any]]:
    env: dict[str, str] = {}
    running: dict[str, Any] = {}
    if not os.environ.get("BKASH_BASE_URL"):
        running["bkash"] = bkash.start_bkash_simulator()
        env.update(bkash.env(running["bkash"].url))
    if not os.environ.get("NAGAD_BASE_URL"):
        running["nagad"] = nagad.start_nagad_simulator()
        env.update(running["nagad"].env())
    if not os.environ.get("UPAY_BASE_URL"):
        running["upay"] = upay.start_upay_simulator()
        env["UPAY_BASE_URL"] = f"{running['upay'].url}/"
    if not os.environ.get("SSLCOMMERZ_BASE_URL"):
        running["sslcommerz"] = sslcommerz.start_sslcommerz_simulator()
        env["SSLCOMMERZ_BASE_URL"] = running["sslcommerz"].url
    return env, running
