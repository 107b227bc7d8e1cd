"""Abstract bases and field helpers shared by every model of the store."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

ZERO = Decimal("0.00")
MONEY_MAX_DIGITS = 12
MONEY_DECIMAL_PLACES = 2

E164_VALIDATOR = RegexValidator(
    regex=r"^\+[1-9]\d{7,14}$",
    message=_("Enter a phone number in international format, e.g. +8801712345678."),
)


class Language(models.TextChoices):
    ENGLISH = "en", _("English")
    BANGLA = "bn", _("Bangla")


class Currency(models.TextChoices):
    BDT = "BDT", _("Bangladeshi Taka")


class PaymentProvider(models.TextChoices):
    """How an order is paid; shared by `Order.payment_method` and `Payment.provider`."""

    COD = "cod", _("Cash on delivery")
    BKASH = "bkash", _("bKash")
    NAGAD = "nagad", _("Nagad")
    ROCKET = "rocket", _("Rocket")
    UPAY = "upay", _("Upay")
    SSLCOMMERZ = "sslcommerz", _("SSLCommerz")


def money_field(verbose_name: str | None = None, **kwargs: Any) -> models.DecimalField:
    """A BDT amount: `Decimal` with 2 places, never float."""
    return models.DecimalField(
        verbose_name,
        max_digits=MONEY_MAX_DIGITS,
        decimal_places=MONEY_DECIMAL_PLACES,
        **kwargs,
    )


def currency_field() -> models.CharField:
    return models.CharField(max_length=3, choices=Currency.choices, default=Currency.BDT)


def phone_field(**kwargs: Any) -> models.CharField:
    """An optional E.164 phone number (`+8801712345678`)."""
    kwargs.setdefault("blank", True)
    return models.CharField(max_length=20, validators=[E164_VALIDATOR], **kwargs)


class UUIDModel(models.Model):
    """UUID primary key: ids are safe to expose and can be minted before the insert."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)

    class Meta:
        abstract = True


class CreatedModel(UUIDModel):
    """For append-only rows: they are written once and never updated."""

    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        abstract = True


class TimeStampedModel(CreatedModel):
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
