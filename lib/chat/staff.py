"""The support team's writes: assigning and claiming, replies (the customer is notified),
reopening. Closing and marking read are shared with the customer (`lib.chat.services`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction

from db.models import ChatMessage, Conversation, ConversationStatus, SenderKind, User
from lib.access.permissions import has_permission
from lib.chat.messages import (
    client_message_key,
    conversation_lock,
    message_add,
    message_replayed_or_open,
    message_text,
    system_note,
)
from lib.chat.text import snippet
from lib.errors import ApiError

CHAT_PERMISSION = "chat:answer"
REPLY_TITLE = ("New reply from Zest Store support", "জেস্ট স্টোর সাপোর্ট থেকে নতুন উত্তর")


@transaction.atomic
def conversation_reopen(*, conversation_id: Any) -> Conversation:
    conversation = conversation_lock(conversation_id)
    if conversation.status == ConversationStatus.OPEN:
        return conversation
    conversation.status, conversation.closed_at = ConversationStatus.OPEN, None
    conversation.save(update_fields=["status", "closed_at", "updated_at"])
    system_note(conversation, "reopened")
    return conversation


def assignee_check(assignee_id: Any) -> str:
    role = User.objects.filter(pk=assignee_id, is_active=True).values_list("role", flat=True)
    found = role.first()
    if found is None or not has_permission(found, CHAT_PERMISSION):
        raise ApiError("chat_assignee_invalid", status=422, fields={"assignee_id": []})
    return str(assignee_id)


@transaction.atomic
def conversation_assign(
    *, conversation_id: Any, assignee_id: Any | None, actor_id: str, claim: bool = False
) -> Conversation:
    """Give the conversation to `assignee_id` (None: back to the queue). A claim (the actor
    takes it) is refused with 409 when someone else holds it; an assignment moves it."""
    conversation = conversation_lock(conversation_id)
    if claim:
        assignee_id = actor_id
        held = conversation.assigned_to_id
        if held is not None and str(held) != str(actor_id):
            raise ApiError("chat_assigned_elsewhere", status=409)
    elif assignee_id is not None:
        assignee_id = assignee_check(assignee_id)
    if str(conversation.assigned_to_id or "") == str(assignee_id or ""):
        return conversation
    conversation.assigned_to_id = assignee_id
    conversation.save(update_fields=["assigned_to", "updated_at"])
    if assignee_id is not None:
        system_note(conversation, "assigned")
    return conversation


def reply_notify(conversation: Conversation, message: ChatMessage) -> None:
    """Tell a signed-in customer about a staff reply (in-app feed, email or push per their
    preferences), in the same transaction. Guests read replies by polling."""
    if not conversation.user_id:
        return
    try:
        from lib.notifications.services import notify
    except ImportError:  # the notification centre is not part of this build
        return
    text = snippet(message.body or (message.attachments[0]["name"] if message.attachments else ""))
    notify(
        user_id=str(conversation.user_id),
        kind="chat.reply",
        title=REPLY_TITLE,
        body=(text, text),
        dedupe_key=f"chat.reply:{message.pk}",
        url=f"/chat/{conversation.pk}",
        data={"conversation_id": str(conversation.pk), "message_id": message.pk},
    )


def staff_reply(
    *,
    conversation_id: Any,
    staff_id: str,
    body: str,
    client_message_id: str = "",
    attachments: Sequence[dict[str, Any]] = (),
) -> tuple[ChatMessage, bool]:
    """A team member answers: (message, created). An unassigned conversation is claimed by the
    first to answer; the customer is notified. Replying reopens nothing: 409 when closed."""
    client_message_id = client_message_key(f"s:{staff_id}", client_message_id)
    text = message_text(body, attachments)
    with transaction.atomic():
        conversation = conversation_lock(conversation_id)
        replayed = message_replayed_or_open(conversation, client_message_id)
        if replayed is not None:
            return replayed, False
        if conversation.assigned_to_id is None:
            conversation.assigned_to_id = staff_id
            conversation.save(update_fields=["assigned_to", "updated_at"])
        message = message_add(
            conversation,
            sender_kind=SenderKind.STAFF,
            sender_user_id=staff_id,
            body=text,
            attachments=attachments,
            client_message_id=client_message_id,
        )
        reply_notify(conversation, message)
    return message, True


def conversations_delete(conversations: Any) -> int:
    """Delete conversations (a queryset) with their messages; the attached files go after the
    commit. How many conversations were deleted."""
    from lib.catalog.services import blobs_delete

    pathnames = [
        record["pathname"]
        for attachments in ChatMessage.objects.filter(conversation__in=conversations)
        .exclude(attachments=[])
        .values_list("attachments", flat=True)
        for record in attachments
        if isinstance(record, dict) and record.get("pathname")
    ]
    with transaction.atomic():
        deleted = conversations.count()
        conversations.delete()
        if pathnames:
            transaction.on_commit(lambda: blobs_delete(pathnames), robust=True)
    return deleted
