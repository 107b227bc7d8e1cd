"""Recommendations: bought together, similar items and popularity, blended per product.

Computed by the recommendations cron (`services.recommendations_refresh`) into the KV store
(`store`), served by `selectors`. Pure Python and SQL; the method is described in the README.
"""
