"""Sign-in links to external identity providers (Google, Apple, Facebook)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from .base import CreatedModel


class SocialProvider(models.TextChoices):
    GOOGLE = "google", _("Google")
    APPLE = "apple", _("Apple")
    FACEBOOK = "facebook", _("Facebook")


class SocialAccount(CreatedModel):
    """A provider's account (its stable subject id) linked to one of our users.

    Signing in looks the user up by `(provider, subject)` first, never by email: emails change
    and can be recycled, the provider's subject id does not.
    """

    user = models.ForeignKey("User", on_delete=models.CASCADE, related_name="social_accounts")
    provider = models.CharField(max_length=20, choices=SocialProvider.choices)
    subject = models.CharField(max_length=255, help_text=_("The provider's user id (`sub`)."))
    email = models.EmailField(
        max_length=255, blank=True, help_text=_("The email the provider reported when linked.")
    )

    class Meta:
        db_table = "social_accounts"
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "subject"], name="social_accounts_provider_subject_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.subject}"
