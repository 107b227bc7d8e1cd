"""Durable outbox: side effects written in the same transaction as the change causing them.

Rows are dispatched right after the response and swept by a cron function; a message is
`pending` until delivered (`sent`) or given up on (`failed`). A failed attempt stays pending
with a later `available_at`.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .base import CreatedModel


class OutboxStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class OutboxMessage(CreatedModel):
    topic = models.CharField(max_length=100, help_text=_("e.g. email.order_confirmation"))
    payload = models.JSONField(default=dict, blank=True)
    dedupe_key = models.CharField(  # NULL when absent; unique when given
        max_length=255,
        unique=True,
        null=True,
        blank=True,
        help_text=_("Optional; a second message with the same key is rejected."),
    )
    status = models.CharField(
        max_length=20, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    available_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        db_table = "outbox_messages"
        constraints = [
            models.CheckConstraint(
                condition=~Q(status=OutboxStatus.SENT) | Q(sent_at__isnull=False),
                name="outbox_messages_sent_has_sent_at",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "available_at"], name="outbox_status_available_idx"),
            models.Index(fields=["topic", "-created_at"], name="outbox_topic_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.topic} ({self.status})"
