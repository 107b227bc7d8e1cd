"""Loyalty points: earned on delivered orders, spent at checkout, expired, taken back on refunds.

The ledger (`PointsEntry`) is append-only and every write carries a unique `reference`, so a
retried hook or cron writes nothing twice. A customer's `LoyaltyAccount.balance` is the sum of
their entries, kept in the same transaction under the account row's lock (`ledger.py`).
"""
