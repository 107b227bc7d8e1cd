"""The parts every chat write shares: the per-conversation row lock, appending a message
(counters, read cursors, the KV poll state), system notes, the idempotency key of a message,
and the chat limits.

Every message is written under its conversation's row lock, so message ids (the polling
cursor) grow in commit order within a conversation and the unread counters stay exact. The
conversation's KV poll state is raised to the new last id as the message is written
(`lib.chat.poll`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.db.models import F
from django.utils import timezone

from db.models import ChatMessage, Conversation, ConversationStatus, SenderKind
from lib.access.ratelimit import named_limiter
from lib.chat.parties import ChatParty
from lib.chat.poll import poll_state_bump
from lib.chat.text import message_clean
from lib.conf import Rate
from lib.errors import ApiError, NotFound

logger = logging.getLogger("zest.chat")

SYSTEM_TEXTS: dict[str, tuple[str, str]] = {
    "closed": ("The conversation was closed.", "কথোপকথনটি বন্ধ করা হয়েছে।"),
    "reopened": ("The conversation was reopened.", "কথোপকথনটি আবার খোলা হয়েছে।"),
    "assigned": (
        "A support team member has joined the conversation.",
        "সাপোর্ট দলের একজন সদস্য কথোপকথনে যোগ দিয়েছেন।",
    ),
    "handover": (
        "The chatbot passed this conversation to our support team.",
        "চ্যাটবট এই কথোপকথনটি আমাদের সাপোর্ট দলের কাছে পাঠিয়েছে।",
    ),
}


# --- limits ----------------------------------------------------------------------------


def chat_limit(name: str, rate: Rate, identifier: str) -> None:
    """Count one action against `identifier`; 429 `rate_limited` over the limit. The KV being
    unreachable lets the action through, like every other limit."""
    try:
        result = named_limiter(name, rate).limit(identifier)
    except Exception as exc:
        logger.warning("chat limit not checked: %s: %s", type(exc).__name__, exc)
        return
    if not result.allowed:
        raise ApiError("rate_limited", status=429)


# --- helpers ---------------------------------------------------------------------------


def owner_key_of(conversation: Conversation) -> str:
    if conversation.user_id:
        return f"u:{conversation.user_id}"
    return f"g:{conversation.guest_token_hash}"


def poll_bump(conversation: Conversation, message_id: int) -> None:
    """Raise the conversation's KV "last message id" now, inside the transaction: a poll that
    sees it before the commit reads the database, finds nothing yet and keeps its cursor, so
    it asks again; raising it only after the commit could be lost with the instance."""
    poll_state_bump(
        conversation_id=str(conversation.pk),
        last_message_id=message_id,
        owner=owner_key_of(conversation),
    )


def message_add(
    conversation: Conversation,
    *,
    sender_kind: str,
    body: str,
    sender_user_id: str | None = None,
    attachments: Sequence[dict[str, Any]] = (),
    client_message_id: str = "",
) -> ChatMessage:
    """Append a message to a locked conversation and keep its counters and cursors: the
    sender's side has read up to it, the other side has one more unread."""
    message = ChatMessage.objects.create(
        conversation=conversation,
        sender_kind=sender_kind,
        sender_user_id=sender_user_id,
        body=body,
        attachments=list(attachments),
        client_message_id=client_message_id,
    )
    changes: dict[str, Any] = {"last_message_id": message.pk, "last_message_at": message.created_at}
    if sender_kind in (SenderKind.CUSTOMER, SenderKind.GUEST):
        changes.update(customer_last_read_id=message.pk, customer_unread=0)
        changes["staff_unread"] = F("staff_unread") + 1
    elif sender_kind == SenderKind.STAFF:
        changes.update(staff_last_read_id=message.pk, staff_unread=0)
        changes["customer_unread"] = F("customer_unread") + 1
    else:  # the chatbot and system notes are news for the customer only
        changes["customer_unread"] = F("customer_unread") + 1
    changes["updated_at"] = timezone.now()
    Conversation.objects.filter(pk=conversation.pk).update(**changes)
    conversation.refresh_from_db()
    poll_bump(conversation, message.pk)
    return message


def client_message_key(side: str, key: str | None) -> str:
    """The stored idempotency key: the client's, within its side (`c` the customer, `s:<id>` a
    team member), so one side's key can never replay the other's message."""
    return f"{side}:{key}" if key else ""


def message_replayed(conversation: Conversation, client_message_id: str) -> ChatMessage | None:
    if not client_message_id:
        return None
    return ChatMessage.objects.filter(
        conversation=conversation, client_message_id=client_message_id
    ).first()


def message_text(body: str, attachments: Sequence[dict[str, Any]]) -> str:
    """The cleaned text of a message to write; 422 `chat_message_empty` when neither text
    nor attachments are left."""
    text = message_clean(body)
    if not text and not attachments:
        raise ApiError("chat_message_empty", status=422, fields={"body": []})
    return text


def message_replayed_or_open(
    conversation: Conversation, client_message_id: str
) -> ChatMessage | None:
    """The message a repeated `client_message_id` already wrote, else None once the locked
    `conversation` is known to take a new one (409 `chat_closed` when it is closed)."""
    replayed = message_replayed(conversation, client_message_id)
    if replayed is not None:
        return replayed
    if conversation.status == ConversationStatus.CLOSED:
        raise ApiError("chat_closed", status=409)
    return None


def system_note(conversation: Conversation, event: str) -> ChatMessage:
    english, bangla = SYSTEM_TEXTS[event]
    text = bangla if conversation.language == "bn" else english
    return message_add(conversation, sender_kind=SenderKind.SYSTEM, body=text)


def conversation_lock(conversation_id: Any, *, party: ChatParty | None = None) -> Conversation:
    """The conversation, locked until the transaction ends; 404 when it is not the party's
    (staff pass no party)."""
    conversations = Conversation.objects.select_for_update().filter(pk=conversation_id)
    if party is not None:
        conversations = conversations.filter(party.conversations())
    conversation = conversations.first()
    if conversation is None:
        raise NotFound()
    return conversation
