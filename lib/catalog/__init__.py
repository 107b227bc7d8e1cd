"""Catalog: categories and products."""
