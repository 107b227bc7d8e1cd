"""Response schemas of catalog reads, shared by the REST functions."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from ninja import Field, Schema

from lib.catalog.selectors import product_primary_image
from lib.catalog.seo import product_canonical_url, product_json_ld
from lib.i18n import request_language
from lib.money import Money


def localized(obj, field: str, context) -> str:
    """`name` in the caller's language, falling back to English when Bangla is empty."""
    language = request_language(context["request"])
    return getattr(obj, f"{field}_{language}", "") or getattr(obj, f"{field}_en")


class CategoryOut(Schema):
    id: UUID
    slug: str
    name: str
    name_en: str
    name_bn: str
    parent_id: UUID | None

    @staticmethod
    def resolve_name(obj, context) -> str:
        return localized(obj, "name", context)


class CategoryNodeOut(CategoryOut):
    children: list[CategoryNodeOut]

    @staticmethod
    def resolve_children(obj) -> list:
        return obj.tree_children


class CategoryTreeOut(Schema):
    items: list[CategoryNodeOut]


class LocalizedPageOut(Schema):
    """The description and SEO texts of a page (category or product), in the caller's
    language; the SEO title falls back to the name."""

    description: str
    seo_title: str
    seo_description: str

    @staticmethod
    def resolve_description(obj, context) -> str:
        return localized(obj, "description", context)

    @staticmethod
    def resolve_seo_title(obj, context) -> str:
        return localized(obj, "seo_title", context) or localized(obj, "name", context)

    @staticmethod
    def resolve_seo_description(obj, context) -> str:
        return localized(obj, "seo_description", context)


class CategoryDetailOut(CategoryOut, LocalizedPageOut):
    """A category page: its names, description and SEO texts."""


class ImageOut(Schema):
    url: str
    alt_text: str
    is_primary: bool

    @staticmethod
    def resolve_url(obj) -> str:
        return obj.image_url

    @staticmethod
    def resolve_alt_text(obj, context) -> str:
        return localized(obj, "alt_text", context)


class ProductCardOut(Schema):
    id: UUID
    slug: str
    sku: str
    name: str
    name_en: str
    name_bn: str
    price: Money
    compare_price: Money | None = Field(description="The crossed-out price, when on sale")
    in_stock: bool
    rating_average: float | None = Field(
        description="Mean review rating (1-5, two decimals); null before the first review"
    )
    rating_count: int
    category: CategoryOut
    image: ImageOut | None

    @staticmethod
    def resolve_name(obj, context) -> str:
        return localized(obj, "name", context)

    @staticmethod
    def resolve_in_stock(obj) -> bool:
        return obj.available > 0

    @staticmethod
    def resolve_image(obj) -> object | None:
        return product_primary_image(obj)


class VariationOut(Schema):
    id: UUID
    sku: str
    variation_type: str
    value: str
    value_en: str
    value_bn: str
    price: Money
    available: int

    @staticmethod
    def resolve_value(obj, context) -> str:
        return localized(obj, "variation_value", context)

    @staticmethod
    def resolve_value_en(obj) -> str:
        return obj.variation_value_en

    @staticmethod
    def resolve_value_bn(obj) -> str:
        return obj.variation_value_bn

    @staticmethod
    def resolve_price(obj) -> Decimal:
        return obj.product.price + obj.price_adjustment

    @staticmethod
    def resolve_available(obj) -> int:
        return max(obj.available, 0)


class ProductDetailOut(ProductCardOut, LocalizedPageOut):
    available: int
    tags: list[str]
    images: list[ImageOut]
    variations: list[VariationOut]
    breadcrumb: list[CategoryOut]
    canonical_url: str
    json_ld: dict

    @staticmethod
    def resolve_canonical_url(obj) -> str:
        return product_canonical_url(obj)

    @staticmethod
    def resolve_json_ld(obj, context) -> dict:
        return product_json_ld(obj, request_language(context["request"]))

    @staticmethod
    def resolve_available(obj) -> int:
        return max(obj.available, 0)


class ProductPageOut(Schema):
    items: list[ProductCardOut]
    count: int = Field(description="Products matching the filters, on every page")
    page: int | None = Field(description="This page's number; null on a page asked by cursor")
    page_size: int
    pages: int
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the page after this one; null on the last page"
    )
