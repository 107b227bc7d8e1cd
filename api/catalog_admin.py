"""Catalog management: /api/v1/admin/categories and /api/v1/admin/products.

Categories are managed by staff (`catalog:manage`). Products by staff, and by a vendor's owner
and staff for that vendor's products only. Every call goes through an API key with the
`catalog:manage` scope. Descriptions are sanitised HTML; prices are BDT with two decimals.
"""

from datetime import datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from lib.runtime import make_app

from ninja import Field, Query, Router, Schema, Status
from pydantic import StringConstraints

from db.models import VariationType
from lib.access.permissions import Require
from lib.catalog import admin_selectors, category_services, services, variation_services
from lib.money import Money
from lib.pagination import PageParams, paginate
from lib.schemas import ErrorOut, InputSchema

categories = Router(tags=["admin: catalog"], auth=Require("catalog:manage", scope="catalog:manage"))
products = Router(tags=["admin: catalog"], auth=services.CATALOG_EDITOR)

Price = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
Adjustment = Annotated[Decimal, Field(max_digits=12, decimal_places=2)]
Slug = Annotated[str, StringConstraints(max_length=100, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]
Sku = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Short = Annotated[str, StringConstraints(max_length=255)]
RichText = Annotated[str, StringConstraints(max_length=50_000)]
MetaText = Annotated[str, StringConstraints(max_length=1000)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Value = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Stock = Annotated[int, Field(ge=0, le=1_000_000)]
SortOrder = Annotated[int, Field(ge=0, le=1_000_000)]


# --- categories ------------------------------------------------------------------------


class CategoryIn(InputSchema):
    name_en: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    name_bn: Annotated[str, StringConstraints(max_length=100)] = ""
    slug: Slug | None = Field(None, description="Made from the English name when left out")
    parent: UUID | None = None
    description_en: RichText = ""
    description_bn: RichText = ""
    seo_title_en: Short = ""
    seo_title_bn: Short = ""
    seo_description_en: MetaText = ""
    seo_description_bn: MetaText = ""
    sort_order: SortOrder = 0
    is_active: bool = True


class CategoryPatchIn(InputSchema):
    """Only the fields sent change. `parent` moves the category (null: to the top level);
    its slug stays."""

    name_en: Annotated[str, StringConstraints(max_length=100)] = None
    name_bn: Annotated[str, StringConstraints(max_length=100)] = None
    slug: Slug = None
    parent: UUID | None = None
    description_en: RichText = None
    description_bn: RichText = None
    seo_title_en: Short = None
    seo_title_bn: Short = None
    seo_description_en: MetaText = None
    seo_description_bn: MetaText = None
    sort_order: SortOrder = None
    is_active: bool = None


class ManagedCategoryOut(Schema):
    id: UUID
    slug: str
    parent_id: UUID | None
    name_en: str
    name_bn: str
    description_en: str
    description_bn: str
    seo_title_en: str
    seo_title_bn: str
    seo_description_en: str
    seo_description_bn: str
    sort_order: int
    is_active: bool
    product_count: int = 0
    depth: int = 0


class ManagedCategoryNodeOut(ManagedCategoryOut):
    children: list["ManagedCategoryNodeOut"]

    @staticmethod
    def resolve_children(obj) -> list:
        return obj.tree_children


class ManagedCategoryListOut(Schema):
    items: list[ManagedCategoryOut]


class ManagedCategoryTreeOut(Schema):
    items: list[ManagedCategoryNodeOut]


@categories.get("", response=ManagedCategoryListOut)
def list_categories(request):
    """Every category, active or not, depth first (`depth` 0 = top level)."""
    return {"items": category_services.category_admin_list()}


@categories.get("/tree", response=ManagedCategoryTreeOut)
def category_tree(request):
    """Every category, active or not, nested under its parent."""
    return {"items": category_services.category_admin_tree()}


@categories.post("", response={201: ManagedCategoryOut, 409: ErrorOut})
def create_category(request, payload: CategoryIn):
    """Create a category (the slug is made from the English name when left out)."""
    return Status(201, category_services.category_create(data=payload.dict()))


@categories.get("/{category_id}", response=ManagedCategoryOut)
def get_category(request, category_id: UUID):
    """One category, shown or not."""
    return category_services.category_admin_get(category_id=category_id)


@categories.patch("/{category_id}", response={200: ManagedCategoryOut, 409: ErrorOut})
def update_category(request, category_id: UUID, payload: CategoryPatchIn):
    """Change a category: only the fields sent change."""
    category = category_services.category_admin_get(category_id=category_id)
    category_services.category_update(category=category, changes=payload.dict(exclude_unset=True))
    return category_services.category_admin_get(category_id=category_id)


@categories.delete("/{category_id}", response={204: None, 409: ErrorOut})
def delete_category(request, category_id: UUID):
    """Refused (409) while the category has subcategories or products."""
    category = category_services.category_admin_get(category_id=category_id)
    category_services.category_delete(category=category)
    return Status(204, None)


# --- products --------------------------------------------------------------------------


VariationAxis = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,49}$"
    ),
    Field(description=f"Any axis: {', '.join(VariationType.values)}, or another (a slug)"),
]


class VariationIn(InputSchema):
    variation_type: VariationAxis
    value_en: Value
    value_bn: Annotated[str, StringConstraints(strip_whitespace=True, max_length=50)] = ""
    sku: Sku
    price_adjustment: Adjustment = Decimal("0.00")
    quantity: Stock = Field(0, description="Opening stock of a new variation only")
    low_stock_threshold: Stock = 3
    is_active: bool = True


class VariationPatchIn(InputSchema):
    """Only the fields sent change; stock changes through inventory adjustments."""

    variation_type: VariationAxis = None
    value_en: Value = None
    value_bn: Annotated[str, StringConstraints(strip_whitespace=True, max_length=50)] = None
    sku: Sku = None
    price_adjustment: Adjustment = None
    low_stock_threshold: Stock = None
    is_active: bool = None


class ProductIn(InputSchema):
    category: UUID
    vendor: UUID | None = Field(
        None, description="Required of vendor members with several vendors; staff: empty = ours"
    )
    name_en: Name
    name_bn: Short = ""
    slug: Slug | None = Field(None, description="Made from the English name when left out")
    sku: Sku
    description_en: RichText = Field("", description="HTML; sanitised on save")
    description_bn: RichText = Field("", description="HTML; sanitised on save")
    price: Price
    compare_price: Price | None = Field(None, description="The crossed-out price, >= price")
    cost_price: Price | None = None
    quantity: Stock = Field(0, description="Opening stock")
    low_stock_threshold: Stock = 5
    is_active: bool = Field(False, description="False = draft, not shown in the store")
    is_featured: bool = Field(False, description="Staff only")
    tags: list[Tag] = Field(default_factory=list, max_length=30)
    seo_title_en: Short = ""
    seo_title_bn: Short = ""
    seo_description_en: MetaText = ""
    seo_description_bn: MetaText = ""
    seo_keywords: Short = ""
    variations: list[VariationIn] = Field(default_factory=list, max_length=200)


class ProductPatchIn(InputSchema):
    """Only the fields sent change; stock changes through inventory adjustments."""

    category: UUID = None
    vendor: UUID | None = None
    name_en: Name = None
    name_bn: Short = None
    slug: Slug = None
    sku: Sku = None
    description_en: RichText = None
    description_bn: RichText = None
    price: Price = None
    compare_price: Price | None = None
    cost_price: Price | None = None
    low_stock_threshold: Stock = None
    is_active: bool = None
    is_featured: bool = None
    tags: list[Tag] = Field(None, max_length=30)
    seo_title_en: Short = None
    seo_title_bn: Short = None
    seo_description_en: MetaText = None
    seo_description_bn: MetaText = None
    seo_keywords: Short = None


class VariationsIn(InputSchema):
    variations: list[VariationIn] = Field(max_length=200)


class ManagedVariationOut(Schema):
    id: UUID
    variation_type: str
    value_en: str = Field(alias="variation_value_en")
    value_bn: str = Field(alias="variation_value_bn")
    sku: str
    price_adjustment: Money = Field(..., description="Added to the product's price")
    quantity: int
    allocated: int
    low_stock_threshold: int
    is_active: bool


class ManagedVariationRowOut(ManagedVariationOut):
    available: int


class ManagedProductOut(Schema):
    id: UUID
    slug: str
    sku: str
    vendor_id: UUID | None
    category_id: UUID
    category_name: str = Field(alias="category.name_en")
    name_en: str
    name_bn: str
    description_en: str
    description_bn: str
    price: Money
    compare_price: Money | None
    cost_price: Money | None
    quantity: int
    allocated: int
    available: int
    low_stock_threshold: int
    is_active: bool
    is_featured: bool
    tags: list[str]
    seo_title_en: str
    seo_title_bn: str
    seo_description_en: str
    seo_description_bn: str
    seo_keywords: str
    rating_count: int
    image_url: str | None
    variations: list[ManagedVariationRowOut]
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_image_url(obj) -> str | None:
        return obj.primary_images[0].image_url if obj.primary_images else None


class ManagedProductPageOut(Schema):
    items: list[ManagedProductOut]
    count: int
    page: int
    page_size: int
    pages: int


class ProductAdminQuery(PageParams):
    vendor: UUID | None = None
    category: UUID | None = Field(None, description="Includes its subcategories")
    is_active: bool | None = Field(None, description="false = drafts")
    q: str | None = Field(None, max_length=100, description="Names (English, Bangla) and SKUs")
    ordering: admin_selectors.AdminOrdering = "newest"


@products.get("", response=ManagedProductPageOut)
def list_products(request, query: Query[ProductAdminQuery]):
    """Products the caller manages, drafts included."""
    filters = admin_selectors.ProductAdminFilters(
        vendor=query.vendor,
        category=query.category,
        is_active=query.is_active,
        search=query.q,
        ordering=query.ordering,
    )
    return paginate(admin_selectors.product_admin_list(request, filters=filters), query)


@products.post("", response={201: ManagedProductOut, 409: ErrorOut})
def create_product(request, payload: ProductIn):
    """Create a product with its variations, all or nothing."""
    data = payload.dict(exclude={"variations"})
    variations = [variation.dict() for variation in payload.variations]
    product = services.product_create(request, data=data, variations=variations)
    return Status(201, admin_selectors.product_admin_detail(request, product_id=product.pk))


@products.get("/{product_id}", response=ManagedProductOut)
def get_product(request, product_id: UUID):
    """One product with its stock and variations, draft or not."""
    return admin_selectors.product_admin_detail(request, product_id=product_id)


@products.patch("/{product_id}", response={200: ManagedProductOut, 409: ErrorOut})
def update_product(request, product_id: UUID, payload: ProductPatchIn):
    """Change some fields; `is_active: false` makes it a draft, `true` publishes it."""
    product = services.product_admin_get(request, product_id=product_id)
    changes = payload.dict(exclude_unset=True)
    services.product_update(request, product=product, changes=changes)
    return admin_selectors.product_admin_detail(request, product_id=product_id)


@products.delete("/{product_id}", response={204: None, 409: ErrorOut})
def delete_product(request, product_id: UUID):
    """Delete a product and its image files. Refused (409) once ordered: make it a draft."""
    product = services.product_admin_get(request, product_id=product_id)
    services.product_delete(product=product)
    return Status(204, None)


@products.put("/{product_id}/variations", response={200: ManagedProductOut, 409: ErrorOut})
def replace_variations(request, product_id: UUID, payload: VariationsIn):
    """Make the variations exactly these, matched by SKU: new SKUs are added with their
    opening `quantity`, listed ones are updated (stock kept), unlisted ones removed."""
    product = services.product_admin_get(request, product_id=product_id)
    variations = [variation.dict() for variation in payload.variations]
    variation_services.variations_replace(request, product=product, variations=variations)
    return admin_selectors.product_admin_detail(request, product_id=product_id)


@products.post("/{product_id}/variations", response={201: ManagedVariationOut, 409: ErrorOut})
def add_variation(request, product_id: UUID, payload: VariationIn):
    """Add a variation (size, color, ...) to a product."""
    product = services.product_admin_get(request, product_id=product_id)
    return Status(
        201, variation_services.variation_add(request, product=product, data=payload.dict())
    )


@products.patch(
    "/{product_id}/variations/{variation_id}", response={200: ManagedVariationOut, 409: ErrorOut}
)
def update_variation(request, product_id: UUID, variation_id: UUID, payload: VariationPatchIn):
    """Change a variation: only the fields sent change."""
    product = services.product_admin_get(request, product_id=product_id)
    variation = variation_services.variation_admin_get(product=product, variation_id=variation_id)
    changes = payload.dict(exclude_unset=True)
    return variation_services.variation_update(
        product=product, variation=variation, changes=changes
    )


@products.delete("/{product_id}/variations/{variation_id}", response={204: None, 409: ErrorOut})
def delete_variation(request, product_id: UUID, variation_id: UUID):
    """Refused (409) once ordered: deactivate it instead."""
    product = services.product_admin_get(request, product_id=product_id)
    variation = variation_services.variation_admin_get(product=product, variation_id=variation_id)
    variation_services.variation_delete(product=product, variation=variation)
    return Status(204, None)


app = make_app(
    "catalog_admin",
    [("/admin/categories", categories), ("/admin/products", products)],
    title="Zest Store catalog management",
)
