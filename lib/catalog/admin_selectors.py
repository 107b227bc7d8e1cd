"""Catalog reads for the management UI: drafts included, scoped to what the caller manages."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any, Literal

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import HttpRequest

from db.models import Product, ProductImage, ProductVariation
from lib.catalog.category_services import category_subtree_ids, category_tree_links
from lib.catalog.services import managed_vendor_ids, product_manage_check
from lib.errors import NotFound
from lib.inventory import with_available

AdminOrdering = Literal["newest", "updated", "name", "price", "-price"]
ADMIN_ORDERINGS: dict[str, tuple[str, ...]] = {
    "newest": ("-created_at", "id"),
    "updated": ("-updated_at", "id"),
    "name": ("name_en", "id"),
    "price": ("price", "id"),
    "-price": ("-price", "id"),
}


@dataclass(frozen=True, slots=True)
class ProductAdminFilters:
    vendor: Any = None
    category: Any = None  # its subcategories included
    is_active: bool | None = None
    search: str | None = None
    ordering: AdminOrdering = "newest"


def products_for_admin(products: QuerySet[Product]) -> QuerySet[Product]:
    """What a management row shows, in a fixed number of queries whatever the page size:
    the row with category, vendor and availability, then variations, then primary images."""
    variations = with_available(ProductVariation.objects.all(), variation=True).order_by(
        "variation_type", "variation_value_en"
    )
    primary_images = ProductImage.objects.filter(is_primary=True)
    return (
        with_available(products)
        .select_related("category", "vendor")
        .prefetch_related(
            Prefetch("variations", queryset=variations),
            Prefetch("images", queryset=primary_images, to_attr="primary_images"),
        )
    )


def product_admin_list(request: HttpRequest, *, filters: ProductAdminFilters) -> QuerySet[Product]:
    products = Product.objects.all()
    vendors = managed_vendor_ids(request)
    if vendors is not None:
        products = products.filter(vendor_id__in=vendors)
    if filters.vendor is not None:
        product_manage_check(request, vendor_id=filters.vendor)
        products = products.filter(vendor_id=filters.vendor)
    if filters.category is not None:
        subtree = category_subtree_ids(filters.category, category_tree_links())
        products = products.filter(category_id__in=subtree)
    if filters.is_active is not None:
        products = products.filter(is_active=filters.is_active)
    if filters.search:
        term = unicodedata.normalize("NFC", filters.search).strip()
        variation_sku = ProductVariation.objects.filter(product=OuterRef("pk"), sku__iexact=term)
        products = products.filter(
            Q(name_en__icontains=term)
            | Q(name_bn__icontains=term)
            | Q(sku__icontains=term)
            | Exists(variation_sku)
        )
    return products_for_admin(products).order_by(*ADMIN_ORDERINGS[filters.ordering])


def product_admin_detail(request: HttpRequest, *, product_id: Any) -> Product:
    product = products_for_admin(Product.objects.filter(pk=product_id)).first()
    if product is None:
        raise NotFound(fields={"id": [str(product_id)]})
    product_manage_check(request, vendor_id=product.vendor_id)
    return product
