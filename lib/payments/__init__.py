"""Payments: one gateway interface, an adapter per provider, settlement from verified events."""
