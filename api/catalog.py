"""Catalog reads: categories and products (placeholder until models land)."""

from lib.runtime import make_app

from ninja import Router

router = Router(tags=["catalog"])

app = make_app("catalog", [("", router)], title="Catalog")
