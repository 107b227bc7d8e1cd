"""What admins set about the store itself: its settings (one row), home-page banners, featured
collections and policy pages. The storefront reads them through `lib.site.selectors` (cached)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .base import TimeStampedModel, money_field, phone_field
from .catalog import Category, Product

HEX_COLOUR_VALIDATOR = RegexValidator(
    regex=r"^#[0-9A-Fa-f]{6}$", message=_("Enter a colour as #RRGGBB, e.g. #E4572E.")
)
STORE_SETTINGS_ID = 1  # the one row


def colour_field(default: str) -> models.CharField:
    return models.CharField(max_length=7, default=default, validators=[HEX_COLOUR_VALIDATOR])


def schedule_check(starts_at, ends_at) -> None:
    if starts_at and ends_at and ends_at <= starts_at:
        raise ValidationError({"ends_at": _("The end must come after the start.")})


class StoreSettings(models.Model):
    """The store's identity, contact, theme, checkout charges and maintenance switch.

    One row (id 1). A checkout amount left empty falls back to its environment default
    (`COD_FEE`, `COD_MAX_TOTAL`); see `lib.site.selectors.checkout_settings`.
    """

    id = models.PositiveSmallIntegerField(
        primary_key=True, default=STORE_SETTINGS_ID, editable=False
    )
    name_en = models.CharField(max_length=120, default="Zest Store")
    name_bn = models.CharField(max_length=120, default="জেস্ট স্টোর")
    tagline_en = models.CharField(max_length=200, blank=True)
    tagline_bn = models.CharField(max_length=200, blank=True)
    logo_url = models.URLField(max_length=500, blank=True)
    # contact
    phone = phone_field()
    email = models.EmailField(blank=True)
    address_en = models.TextField(blank=True)
    address_bn = models.TextField(blank=True)
    # social links
    facebook_url = models.URLField(max_length=300, blank=True)
    instagram_url = models.URLField(max_length=300, blank=True)
    youtube_url = models.URLField(max_length=300, blank=True)
    tiktok_url = models.URLField(max_length=300, blank=True)
    whatsapp_phone = phone_field()
    # theme
    primary_colour = colour_field("#E4572E")
    secondary_colour = colour_field("#29335C")
    accent_colour = colour_field("#F3A712")
    # checkout: empty means the environment default
    free_shipping_threshold = money_field(
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text=_(
            "Orders at or above this ship free in every zone; empty: each zone's own threshold."
        ),
    )
    cod_enabled = models.BooleanField(default=True)
    cod_fee = money_field(null=True, blank=True, validators=[MinValueValidator(0)])
    cod_max_total = money_field(null=True, blank=True, validators=[MinValueValidator(0)])
    # maintenance
    maintenance_mode = models.BooleanField(default=False)
    maintenance_message_en = models.CharField(max_length=300, blank=True)
    maintenance_message_bn = models.CharField(max_length=300, blank=True)
    maintenance_retry_after = models.PositiveIntegerField(
        default=3600, help_text=_("Seconds a client should wait before trying again.")
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "store_settings"
        verbose_name = _("store settings")
        verbose_name_plural = _("store settings")
        constraints = [
            models.CheckConstraint(
                condition=Q(id=STORE_SETTINGS_ID), name="store_settings_singleton"
            ),
        ]

    def __str__(self) -> str:
        return self.name_en


class ScheduledModel(TimeStampedModel):
    """Shown between `starts_at` and `ends_at` (either open), when active; `position` orders."""

    is_active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def clean(self) -> None:
        super().clean()
        schedule_check(self.starts_at, self.ends_at)


class HomeBanner(ScheduledModel):
    title_en = models.CharField(max_length=150)
    title_bn = models.CharField(max_length=150, blank=True)
    subtitle_en = models.CharField(max_length=300, blank=True)
    subtitle_bn = models.CharField(max_length=300, blank=True)
    image_url = models.URLField(max_length=500, blank=True)
    link_url = models.CharField(
        max_length=500, blank=True, help_text=_("A storefront path (/sale) or a full https URL.")
    )

    class Meta:
        db_table = "home_banners"
        ordering = ("position", "created_at")
        constraints = [
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True)
                | Q(ends_at__isnull=True)
                | Q(ends_at__gt=models.F("starts_at")),
                name="home_banners_schedule_order",
            ),
        ]

    def __str__(self) -> str:
        return self.title_en


class FeaturedCollection(ScheduledModel):
    """A home-page row: hand-picked products, or a category's products."""

    slug = models.SlugField(max_length=100, unique=True, allow_unicode=False)
    title_en = models.CharField(max_length=150)
    title_bn = models.CharField(max_length=150, blank=True)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    products = models.ManyToManyField(
        Product, blank=True, related_name="+", db_table="featured_collection_products"
    )

    class Meta:
        db_table = "featured_collections"
        ordering = ("position", "created_at")
        constraints = [
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True)
                | Q(ends_at__isnull=True)
                | Q(ends_at__gt=models.F("starts_at")),
                name="featured_collections_schedule",
            ),
        ]

    def __str__(self) -> str:
        return self.title_en


class SitePage(models.Model):
    """A policy or information page (shipping, returns, privacy, terms); bodies are sanitised
    HTML (`lib.catalog.sanitize.rich_text_clean`)."""

    slug = models.SlugField(max_length=100, unique=True)
    title_en = models.CharField(max_length=150)
    title_bn = models.CharField(max_length=150, blank=True)
    body_en = models.TextField(blank=True)
    body_bn = models.TextField(blank=True)
    is_published = models.BooleanField(default=False)
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "site_pages"
        ordering = ("position", "slug")

    def __str__(self) -> str:
        return self.title_en
