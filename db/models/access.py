"""API clients: keys with scopes and origins; secrets kept as hashes and rotated with overlap."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .base import CreatedModel, TimeStampedModel


class ApiKeyKind(models.TextChoices):
    PUBLISHABLE = "publishable", _("Publishable (browser storefront)")
    SECRET = "secret", _("Secret (server-side caller)")


class ApiKey(TimeStampedModel):
    """A client application. `key_id` is public (sent as `X-API-Key`); secret keys also
    authenticate with one of their secrets, or sign requests with it."""

    name = models.CharField(max_length=100)
    key_id = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=20, choices=ApiKeyKind.choices)
    scopes = models.JSONField(default=list, blank=True)
    allowed_origins = models.JSONField(
        default=list, blank=True, help_text=_("Browser origins allowed to use a publishable key.")
    )
    vendor = models.ForeignKey(
        "Vendor",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="api_keys",
        help_text=_("Limits the key to this vendor's data."),
    )
    created_by = models.ForeignKey(
        "User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "api_keys"
        indexes = [models.Index(fields=["vendor", "-created_at"], name="api_keys_vendor_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.key_id})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class ApiKeySecret(CreatedModel):
    """One secret of a secret key. Rotation adds a new one and lets the old one expire after
    an overlap, so callers can switch without downtime."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="secrets")
    secret_hash = models.CharField(max_length=128, help_text=_("SHA-256 of the secret, hex."))
    prefix = models.CharField(max_length=16, help_text=_("First characters, to recognise it."))
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "api_key_secrets"
        constraints = [
            models.UniqueConstraint(fields=["secret_hash"], name="api_key_secrets_hash_unique"),
        ]
        indexes = [models.Index(fields=["api_key", "expires_at"], name="api_key_secrets_key_idx")]

    def __str__(self) -> str:
        return f"{self.prefix}…"

    def is_valid_at(self, moment=None) -> bool:
        return self.expires_at is None or self.expires_at > (moment or timezone.now())
