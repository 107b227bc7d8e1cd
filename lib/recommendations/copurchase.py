"""Frequently bought together: products that share orders more than their sales explain.

Counted in SQL in two grouped queries (orders per product, orders per pair of products),
over orders not cancelled, placed within the window, with at most `max_basket` products.

A pair's score is the cosine (Ochiai) coefficient of the two products' sets of orders,
n_ab / sqrt(n_a * n_b), shrunk towards zero while the evidence is thin: x n_ab / (n_ab + 1).
Dividing by the square root of each product's orders keeps best-sellers, which share an
order with everything, from topping every list; pairs seen in fewer than `min_support`
orders are not counted at all.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, F, QuerySet

from db.models import Order, OrderItem, OrderStatus
from lib.recommendations.content import Scored, rank_key

SHRINKAGE = 1.0


@dataclass(frozen=True, slots=True)
class CoPurchases:
    lists: dict[str, Scored]
    pairs: int  # pairs with enough support
    products_ordered: int


def basket_orders(*, since: datetime, max_basket: int) -> QuerySet:
    """Ids of the orders that count: not cancelled, recent, not bulk buys."""
    return (
        Order.objects.filter(placed_at__gte=since)
        .exclude(status=OrderStatus.CANCELLED)
        .annotate(products=Count("items__product", distinct=True))
        .filter(products__lte=max_basket)
        .values("id")
    )


def pair_score(together: int, orders_a: int, orders_b: int) -> float:
    cosine = together / math.sqrt(orders_a * orders_b)
    return cosine * together / (together + SHRINKAGE)


def copurchase_compute(
    *,
    since: datetime,
    min_support: int,
    max_basket: int,
    limit: int,
    sellable: set[str],
) -> CoPurchases:
    """The `limit` best bought-together partners of every product, best first; only
    sellable partners are listed."""
    orders = basket_orders(since=since, max_basket=max_basket)
    per_product = {
        str(product_id): count
        for product_id, count in OrderItem.objects.filter(order__in=orders)
        .values("product_id")
        .annotate(orders=Count("order_id", distinct=True))
        .values_list("product_id", "orders")
        .order_by()
    }
    pairs = (
        OrderItem.objects.filter(order__in=orders)
        .annotate(other=F("order__items__product_id"))
        .filter(other__gt=F("product_id"))
        .values("product_id", "other")
        .annotate(together=Count("order_id", distinct=True))
        .filter(together__gte=min_support)
        .values_list("product_id", "other", "together")
        .order_by()
    )
    partners: dict[str, list[tuple[str, float]]] = {}
    count = 0
    # Fetched whole, not through a server-side cursor: Postgres plans a cursor for its first
    # rows (nested loops), which for this grouped self-join is many times slower.
    for a, b, together in pairs:
        a, b = str(a), str(b)
        count += 1
        score = pair_score(together, per_product[a], per_product[b])
        if b in sellable:
            partners.setdefault(a, []).append((b, score))
        if a in sellable:
            partners.setdefault(b, []).append((a, score))
    lists = {
        product_id: [
            (other, round(score, 4)) for other, score in heapq.nlargest(limit, scored, key=rank_key)
        ]
        for product_id, scored in partners.items()
    }
    return CoPurchases(lists=lists, pairs=count, products_ordered=len(per_product))
