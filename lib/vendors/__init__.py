"""The marketplace: vendor onboarding and staff, vendors' parts of orders, commission,
the vendor ledger and payouts."""
