"""Redis cache of catalog reads (`product:{id}:details`, `category:{id}:products`).

Every write path that changes what a shopper sees (product, variation, image, stock, price,
rating, category) calls `catalog_cache_invalidate` after its transaction commits.
"""

from __future__ import annotations

from collections.abc import Iterable


def catalog_cache_invalidate(
    *, product_ids: Iterable[str] = (), category_ids: Iterable[str] = ()
) -> None:
    """Forget cached reads of these products and of listings of these categories."""
