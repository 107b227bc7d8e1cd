"""Notifications: the in-app feed, each channel's delivery of it, the user's preferences and
their browsers' web push subscriptions.

A `Notification` is one piece of news for one user (kind `"<category>.<event>"`, texts in
English and Bangla); `NotificationDelivery` records how it went out on each channel (email,
push, SMS), including the ones a preference skipped. Emails with no feed entry (a guest's order
mail, a password reset) get a delivery row too, with no notification.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .base import CreatedModel, TimeStampedModel


class NotificationCategory(models.TextChoices):
    ORDER = "order", _("Orders")
    ACCOUNT = "account", _("Account and security")
    CHAT = "chat", _("Support chat")
    REWARDS = "rewards", _("Rewards")
    VENDOR = "vendor", _("Vendor")
    STOCK = "stock", _("Stock")
    MARKETING = "marketing", _("Offers and news")


class NotificationChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    PUSH = "push", _("Web push")
    IN_APP = "in_app", _("In-app")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SKIPPED_BY_PREFERENCE = "skipped_by_preference", _("Skipped by preference")


class Notification(CreatedModel):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=64, help_text=_('"<category>.<event>", e.g. order.shipped'))
    category = models.CharField(max_length=20, choices=NotificationCategory.choices)
    title_en = models.CharField(max_length=200)
    title_bn = models.CharField(max_length=200)
    body_en = models.TextField(blank=True)
    body_bn = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)
    # False when the user turned the in-app channel off for the category: kept as the record
    # the other channels render, hidden from the feed.
    in_feed = models.BooleanField(default=True)
    read_at = models.DateTimeField(null=True, blank=True)
    dedupe_key = models.CharField(max_length=255, unique=True)

    class Meta:
        db_table = "notifications"
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(
                fields=["user", "-created_at", "-id"],
                condition=Q(in_feed=True),
                name="notifications_feed_idx",
            ),
            models.Index(
                fields=["user"],
                condition=Q(in_feed=True, read_at__isnull=True),
                name="notifications_unread_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.title_en}"


class NotificationDelivery(TimeStampedModel):
    notification = models.ForeignKey(
        Notification,
        on_delete=models.CASCADE,
        related_name="deliveries",
        null=True,
        blank=True,
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        related_name="notification_deliveries",
        null=True,
        blank=True,
    )
    channel = models.CharField(max_length=10, choices=NotificationChannel.choices)
    kind = models.CharField(max_length=64)
    recipient = models.CharField(max_length=255, blank=True, help_text=_("Email or phone"))
    language = models.CharField(max_length=2, blank=True, help_text=_("Of the message sent"))
    status = models.CharField(
        max_length=24, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    provider_message_id = models.CharField(max_length=255, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    dedupe_key = models.CharField(max_length=255, unique=True)

    class Meta:
        db_table = "notification_deliveries"
        verbose_name_plural = _("notification deliveries")
        indexes = [
            models.Index(fields=["status", "-created_at"], name="notif_deliveries_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} by {self.channel} ({self.status})"


class NotificationPreference(TimeStampedModel):
    """One user's choice for one (channel, category); absent rows take the defaults."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notification_preferences",
    )
    channel = models.CharField(max_length=10, choices=NotificationChannel.choices)
    category = models.CharField(max_length=20, choices=NotificationCategory.choices)
    enabled = models.BooleanField()

    class Meta:
        db_table = "notification_preferences"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "channel", "category"], name="notification_prefs_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel}/{self.category}: {'on' if self.enabled else 'off'}"


class PushSubscription(CreatedModel):
    """A browser's Push API subscription (RFC 8030 endpoint + RFC 8291 keys)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions"
    )
    endpoint = models.CharField(max_length=1000, unique=True)
    p256dh = models.CharField(max_length=200, help_text=_("The browser's P-256 public key"))
    auth = models.CharField(max_length=100, help_text=_("The 16-byte auth secret"))
    user_agent = models.CharField(max_length=300, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "push_subscriptions"

    def __str__(self) -> str:
        return self.endpoint[:80]
