"""Checkout: addresses, shipping quotes, pricing and order placement."""
