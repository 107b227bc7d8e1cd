"""Local SMS gateways for `zest dev` and the tests (devtools/sms_sims/gateway.py)."""
