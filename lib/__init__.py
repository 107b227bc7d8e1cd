"""Zest Store shared kernel: everything an `api/` function imports."""
