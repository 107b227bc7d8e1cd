"""Engagement data: product reviews and helpful votes, product analytics counters (MongoDB),
and each signed-in shopper's recently viewed products (Redis)."""
