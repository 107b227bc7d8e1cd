"""Search-engine data of a product page: canonical URL and schema.org `Product` JSON-LD.

Built from what the product detail read already loaded (images, variations with their
`available` stock, vendor, category), so it costs no query.
"""

from __future__ import annotations

from typing import Any

from db.models import Product
from lib.catalog.sanitize import plain_text
from lib.conf import config
from lib.i18n import Language
from lib.money import quantize_bdt

SCHEMA_ORG = "https://schema.org"
IN_STOCK = f"{SCHEMA_ORG}/InStock"
OUT_OF_STOCK = f"{SCHEMA_ORG}/OutOfStock"
STORE_BRAND = "Zest Store"
# Search engines show at most a few hundred characters; keep the payload small.
MAX_DESCRIPTION = 5000


def product_canonical_url(product: Product) -> str:
    """The one URL search engines should index, whatever the query string or language."""
    return f"{config.storefront_url}/products/{product.slug}"


def text_in(obj: Any, field: str, language: Language) -> str:
    return getattr(obj, f"{field}_{language}", "") or getattr(obj, f"{field}_en", "")


def product_is_sellable(product: Product) -> bool:
    """Can a shopper buy it now? With variations, a shopper buys a variation, so one of them
    must have units; without, the product itself must. Reads `available` annotations."""
    variations = [v for v in product.variations.all() if v.is_active]
    if variations:
        return any(getattr(v, "available", v.quantity - v.allocated) > 0 for v in variations)
    return getattr(product, "available", product.quantity - product.allocated) > 0


def product_json_ld(product: Product, language: Language) -> dict[str, Any]:
    """schema.org `Product` with one `Offer` in BDT, in the caller's language."""
    url = product_canonical_url(product)
    images = sorted(
        product.images.all(), key=lambda image: (not image.is_primary, image.sort_order)
    )
    brand = product.vendor.name if product.vendor_id else STORE_BRAND
    data: dict[str, Any] = {
        "@context": SCHEMA_ORG,
        "@type": "Product",
        "name": text_in(product, "name", language),
        "description": plain_text(text_in(product, "description", language))[:MAX_DESCRIPTION],
        "sku": product.sku,
        "url": url,
        "image": [image.image_url for image in images],
        "category": text_in(product.category, "name", language),
        "brand": {"@type": "Brand", "name": brand},
        "offers": {
            "@type": "Offer",
            "url": url,
            "price": str(quantize_bdt(product.price)),
            "priceCurrency": "BDT",
            "availability": IN_STOCK if product_is_sellable(product) else OUT_OF_STOCK,
            "itemCondition": f"{SCHEMA_ORG}/NewCondition",
        },
    }
    if product.vendor_id:
        data["offers"]["seller"] = {"@type": "Organization", "name": product.vendor.name}
    if product.rating_count > 0:
        data["aggregateRating"] = {
            "@type": "AggregateRating",
            "ratingValue": product.rating_average,
            "ratingCount": product.rating_count,
            "bestRating": 5,
            "worstRating": 1,
        }
    return data
