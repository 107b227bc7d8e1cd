"""Bilingual catalog: nested categories, products, their images and variations.

`quantity` is stock on hand and `allocated` is stock promised to placed orders; what can
still be sold is `quantity - allocated - unexpired reservations` (see `inventory.py`).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from .base import ZERO, TimeStampedModel, money_field


class Category(TimeStampedModel):
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        db_index=False,  # covered by categories_parent_sort_idx
    )
    name_en = models.CharField(_("name (English)"), max_length=100)
    name_bn = models.CharField(_("name (Bangla)"), max_length=100, blank=True)
    slug = models.SlugField(max_length=100, unique=True)
    description_en = models.TextField(blank=True)
    description_bn = models.TextField(blank=True)
    image_url = models.CharField(
        max_length=500, blank=True, help_text=_("Public URL of the image.")
    )
    is_active = models.BooleanField(default=True)
    sort_order = models.PositiveIntegerField(default=0)
    seo_title_en = models.CharField(max_length=255, blank=True)
    seo_title_bn = models.CharField(max_length=255, blank=True)
    seo_description_en = models.TextField(blank=True)
    seo_description_bn = models.TextField(blank=True)

    class Meta:
        db_table = "categories"
        verbose_name_plural = _("categories")
        ordering = ["sort_order", "name_en"]
        constraints = [
            models.CheckConstraint(
                condition=Q(parent__isnull=True) | ~Q(parent=F("id")),
                name="categories_parent_not_self",
                violation_error_message=_("A category cannot be its own parent."),
            ),
        ]
        indexes = [
            models.Index(fields=["parent", "sort_order"], name="categories_parent_sort_idx"),
        ]

    def __str__(self) -> str:
        return self.name_en

    def clean(self) -> None:
        """Reject cycles deeper than the self-reference the database check catches."""
        super().clean()
        seen = {self.pk}
        ancestor_id = self.parent_id
        while ancestor_id is not None:
            if ancestor_id in seen:
                raise ValidationError({"parent": _("A category cannot be nested inside itself.")})
            seen.add(ancestor_id)
            ancestor_id = (
                Category.objects.filter(pk=ancestor_id).values_list("parent_id", flat=True).first()
            )


class Product(TimeStampedModel):
    vendor = models.ForeignKey(
        "Vendor",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="products",
        db_index=False,  # covered by products_vendor_created_idx
        help_text=_("Empty for the store's own products."),
    )
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    name_en = models.CharField(_("name (English)"), max_length=255)
    name_bn = models.CharField(_("name (Bangla)"), max_length=255, blank=True)
    slug = models.SlugField(max_length=255, unique=True)
    description_en = models.TextField(blank=True, help_text=_("Sanitised HTML."))
    description_bn = models.TextField(blank=True, help_text=_("Sanitised HTML."))
    price = money_field(validators=[MinValueValidator(ZERO)])
    compare_price = money_field(
        null=True, blank=True, help_text=_("The crossed-out 'was' price; at least the price.")
    )
    cost_price = money_field(null=True, blank=True, validators=[MinValueValidator(ZERO)])
    sku = models.CharField(_("SKU"), max_length=100, unique=True)
    quantity = models.PositiveIntegerField(_("on hand"), default=0)
    allocated = models.PositiveIntegerField(
        default=0, help_text=_("Units promised to placed orders, not yet shipped.")
    )
    low_stock_threshold = models.PositiveIntegerField(default=5)
    is_active = models.BooleanField(default=True, help_text=_("Unticked = draft, not listed."))
    is_featured = models.BooleanField(default=False)
    # Counters kept by the review and analytics services, so listings need no extra queries.
    rating_count = models.PositiveIntegerField(default=0)
    rating_sum = models.PositiveIntegerField(default=0)
    popularity = models.FloatField(default=0, help_text=_("Recomputed by the recommendations job."))
    tags = models.JSONField(default=list, blank=True)
    seo_title_en = models.CharField(max_length=255, blank=True)
    seo_title_bn = models.CharField(max_length=255, blank=True)
    seo_description_en = models.TextField(blank=True)
    seo_description_bn = models.TextField(blank=True)
    seo_keywords = models.CharField(max_length=255, blank=True)

    class Meta:
        db_table = "products"
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=0), name="products_quantity_gte_0"),
            models.CheckConstraint(
                condition=Q(allocated__gte=0) & Q(allocated__lte=F("quantity")),
                name="products_allocated_lte_quantity",
            ),
            models.CheckConstraint(condition=Q(price__gte=0), name="products_price_gte_0"),
            models.CheckConstraint(
                condition=Q(compare_price__isnull=True) | Q(compare_price__gte=F("price")),
                name="products_compare_price_gte_price",
            ),
            models.CheckConstraint(
                condition=Q(cost_price__isnull=True) | Q(cost_price__gte=0),
                name="products_cost_price_gte_0",
            ),
        ]
        indexes = [
            # Storefront listing: active products of a category, newest first.
            models.Index(
                fields=["category", "-created_at"],
                condition=Q(is_active=True),
                name="products_active_cat_idx",
            ),
            models.Index(fields=["vendor", "-created_at"], name="products_vendor_created_idx"),
            models.Index(fields=["is_active", "price"], name="products_active_price_idx"),
            models.Index(fields=["-popularity"], name="products_popularity_idx"),
            models.Index(
                fields=["-created_at"],
                condition=Q(is_active=True, is_featured=True),
                name="products_featured_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.name_en

    @property
    def rating_average(self) -> float | None:
        return round(self.rating_sum / self.rating_count, 2) if self.rating_count else None


class ProductImage(TimeStampedModel):
    """An image stored in Vercel Blob: its public URL and its pathname in the store."""

    product = models.ForeignKey(
        Product,
        on_delete=models.CASCADE,
        related_name="images",
        db_index=False,  # covered by product_images_sort_idx
    )
    image_url = models.CharField(
        max_length=500, help_text=_("Public URL (Vercel Blob, or /media/ locally).")
    )
    blob_pathname = models.CharField(max_length=500, blank=True)
    alt_text_en = models.CharField(max_length=255, blank=True)
    alt_text_bn = models.CharField(max_length=255, blank=True)
    is_primary = models.BooleanField(default=False)
    sort_order = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "product_images"
        ordering = ["sort_order", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["product"],
                condition=Q(is_primary=True),
                name="product_images_one_primary",
                violation_error_message=_("This product already has a primary image."),
            ),
        ]
        indexes = [
            models.Index(fields=["product", "sort_order"], name="product_images_sort_idx"),
        ]

    def __str__(self) -> str:
        return self.alt_text_en or self.image_url


class VariationType(models.TextChoices):
    SIZE = "size", _("Size")
    COLOR = "color", _("Color")
    MATERIAL = "material", _("Material")
    STYLE = "style", _("Style")
    WEIGHT = "weight", _("Weight")


class ProductVariation(TimeStampedModel):
    """A sellable variant with its own stock; its price is the product's plus the adjustment."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variations")
    # Any axis a shop sells by; `VariationType` names the common ones.
    variation_type = models.SlugField(
        max_length=50, help_text=_("size, color, material, style, weight, or any other axis")
    )
    variation_value_en = models.CharField(_("value (English)"), max_length=50)
    variation_value_bn = models.CharField(_("value (Bangla)"), max_length=50, blank=True)
    sku = models.CharField(_("SKU"), max_length=100, unique=True)
    price_adjustment = money_field(default=ZERO)
    quantity = models.PositiveIntegerField(_("on hand"), default=0)
    allocated = models.PositiveIntegerField(default=0)
    low_stock_threshold = models.PositiveIntegerField(default=3)
    is_active = models.BooleanField(default=True)

    class Meta:
        db_table = "product_variations"
        constraints = [
            models.UniqueConstraint(
                fields=["product", "variation_type", "variation_value_en"],
                name="product_variations_unique_value",
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=0), name="product_variations_quantity_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(allocated__gte=0) & Q(allocated__lte=F("quantity")),
                name="product_variations_allocated_lte_quantity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.axis_label}: {self.variation_value_en}"

    @property
    def axis_label(self) -> str:
        """`Size` for the common axes (translated), the slug made readable for others."""
        if self.variation_type in VariationType.values:
            return str(VariationType(self.variation_type).label)
        return self.variation_type.replace("_", " ").replace("-", " ").capitalize()
