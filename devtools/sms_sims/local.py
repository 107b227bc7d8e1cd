"""Start the SMS gateway simulator for `zest dev`, so one-time codes and order SMS can be
read locally (its inbox page, and a line on the dev server's output for each message).

When the developer chose a backend (SMS_BACKEND set: console, or a real gateway's sandbox or
live account) nothing is started; otherwise the SSL Wireless adapter is pointed at the
simulator. Returns the variables to set and the simulator (or None).
"""

from __future__ import annotations

import os

from devtools.sms_sims.gateway import SmsGatewaySimulator, env, start_sms_simulator


def sms_simulator_start() -> tuple[dict[str, str], SmsGatewaySimulator | None]:
    if os.environ.get("SMS_BACKEND"):
        return {}, None
    simulator = start_sms_simulator(echo=True)
    return env(simulator.url, "sslwireless"), simulator
