"""Live chat between shoppers (signed in or guests) and the support team, and the chatbot's
handovers into it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .base import Language, TimeStampedModel


class ConversationStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class ConversationSource(models.TextChoices):
    CUSTOMER = "customer", _("Opened by the customer")
    CHATBOT = "chatbot", _("Handed over by the chatbot")


class SenderKind(models.TextChoices):
    CUSTOMER = "customer", _("Signed-in customer")
    GUEST = "guest", _("Guest")
    STAFF = "staff", _("Support team")
    BOT = "bot", _("Chatbot")
    SYSTEM = "system", _("System")


CUSTOMER_SIDE = (SenderKind.CUSTOMER, SenderKind.GUEST)


class Conversation(TimeStampedModel):
    """A support conversation. It belongs to a user, or to a guest who holds the token issued
    when it was opened (only its SHA-256 is stored). Unread counters and read cursors (the
    last message id each side has seen) are kept on the row, updated with every message."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="chat_conversations",
    )
    guest_token_hash = models.CharField(max_length=64, blank=True, editable=False)
    order = models.ForeignKey(
        "Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations"
    )
    subject = models.CharField(max_length=200)
    status = models.CharField(
        max_length=10, choices=ConversationStatus.choices, default=ConversationStatus.OPEN
    )
    source = models.CharField(
        max_length=10, choices=ConversationSource.choices, default=ConversationSource.CUSTOMER
    )
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.ENGLISH)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_conversations",
    )
    last_message_at = models.DateTimeField(default=timezone.now)
    last_message_id = models.BigIntegerField(default=0)
    customer_last_read_id = models.BigIntegerField(default=0)
    staff_last_read_id = models.BigIntegerField(default=0)
    customer_unread = models.PositiveIntegerField(default=0)
    staff_unread = models.PositiveIntegerField(default=0)
    closed_at = models.DateTimeField(null=True, blank=True)
    # "<owner>:<Idempotency-Key>" of the open that created it: a retried open finds it.
    open_key = models.CharField(max_length=220, blank=True, editable=False)

    class Meta:
        db_table = "chat_conversations"
        ordering = ("-last_message_at",)
        indexes = [
            models.Index(
                fields=["status", "assigned_to", "last_message_at"],
                name="chat_conversations_queue_idx",
            ),
            models.Index(fields=["user", "-last_message_at"], name="chat_conversations_user_idx"),
            models.Index(fields=["guest_token_hash"], name="chat_conversations_guest_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False) | ~Q(guest_token_hash=""),
                name="chat_conversations_owner",
            ),
            models.UniqueConstraint(
                fields=["open_key"],
                condition=~Q(open_key=""),
                name="chat_conversations_open_key",
            ),
        ]

    def __str__(self) -> str:
        return self.subject


class ChatMessage(models.Model):
    """One message; its id is the conversation's cursor (ascending in commit order, because
    every message is written under its conversation's row lock)."""

    id = models.BigAutoField(primary_key=True)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    sender_kind = models.CharField(max_length=10, choices=SenderKind.choices)
    sender_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="chat_messages",
    )
    body = models.TextField(blank=True, help_text=_("Plain text (markup removed)."))
    attachments = models.JSONField(
        default=list, blank=True, help_text=_("[{url, content_type, size, name}]")
    )
    client_message_id = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        db_table = "chat_messages"
        ordering = ("id",)
        indexes = [
            models.Index(fields=["conversation", "id"], name="chat_messages_cursor_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "client_message_id"],
                condition=~Q(client_message_id=""),
                name="chat_messages_client_id_uniq",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sender_kind}: {self.body[:40]}"
