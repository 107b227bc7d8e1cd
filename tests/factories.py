"""Small builders for catalog rows (explicit, no magic)."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from db.models import (
    Category,
    Order,
    OrderItem,
    Product,
    ProductImage,
    ProductVariation,
    StockReservation,
)

_sequence = itertools.count(1)


def category(*, parent: Category | None = None, **fields) -> Category:
    n = next(_sequence)
    defaults = {"name_en": f"Category {n}", "name_bn": f"বিভাগ {n}", "slug": f"category-{n}"}
    return Category.objects.create(parent=parent, **{**defaults, **fields})


def product(*, category: Category, images: int = 1, **fields) -> Product:
    n = next(_sequence)
    defaults = {
        "name_en": f"Product {n}",
        "name_bn": f"পণ্য {n}",
        "slug": f"product-{n}",
        "sku": f"SKU-{n}",
        "price": Decimal("100.00"),
        "quantity": 10,
    }
    item = Product.objects.create(category=category, **{**defaults, **fields})
    for index in range(images):
        ProductImage.objects.create(
            product=item,
            image_url=f"https://img.example/{item.slug}/{index}.png",
            is_primary=index == 0,
            sort_order=index,
        )
    return item


def variation(*, product: Product, value: str, quantity: int = 5, **fields) -> ProductVariation:
    n = next(_sequence)
    return ProductVariation.objects.create(
        product=product,
        variation_type=fields.pop("variation_type", "size"),
        variation_value_en=value,
        sku=f"VAR-{n}",
        quantity=quantity,
        **fields,
    )


def reservation(*, product: Product, quantity: int, minutes: int = 15, **fields):
    return StockReservation.objects.create(
        product=product,
        quantity=quantity,
        token=f"cart-{next(_sequence)}",
        expires_at=timezone.now() + timedelta(minutes=minutes),
        **fields,
    )


def order_item(*, order: Order, product: Product, quantity: int = 1) -> OrderItem:
    """An unsaved line of `quantity` of `product` at its price, for bulk_create."""
    return OrderItem(
        order=order,
        product=product,
        vendor_id=product.vendor_id,
        product_name=product.name_en,
        sku=product.sku,
        quantity=quantity,
        unit_price=product.price,
        total_price=product.price * quantity,
    )
