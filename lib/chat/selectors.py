"""Reading live chat: a customer's own conversations and messages (a poll with nothing new
costs no SQL), the support queue and its counts. Each read is a fixed number of queries."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import BooleanField, Count, ExpressionWrapper, Q, QuerySet, Sum

from db.models import ChatMessage, Conversation, ConversationStatus
from lib.chat.messages import owner_key_of
from lib.chat.parties import ChatParty
from lib.chat.poll import poll_state_bump, poll_state_get
from lib.errors import NotFound
from lib.pagination import PageParams, paginate

POLL_MAX_MESSAGES = 100


def conversation_own(*, conversation_id: Any, party: ChatParty) -> Conversation:
    """The party's conversation; 404 for anyone else's (or none)."""
    conversations = Conversation.objects.select_related("order")
    conversation = conversations.filter(party.conversations(), pk=conversation_id).first()
    if conversation is None:
        raise NotFound()
    return conversation


def conversations_own(*, party: ChatParty, params: PageParams) -> dict[str, Any]:
    """The party's conversations, the most recently active first: two queries."""
    conversations = (
        Conversation.objects.select_related("order")
        .filter(party.conversations())
        .order_by("-last_message_at", "-id")
    )
    return paginate(conversations, params)


def messages_after(conversation: Conversation, *, since: int, limit: int) -> dict[str, Any]:
    """Messages past the cursor `since`, oldest first (one query): `items`, the new `cursor`
    and `has_more` (more than `limit` waited)."""
    rows = list(
        ChatMessage.objects.filter(conversation=conversation, id__gt=since).order_by("id")[
            : limit + 1
        ]
    )
    items = rows[:limit]
    return {
        "items": items,
        "cursor": items[-1].pk if items else since,
        "has_more": len(rows) > limit,
    }


def messages_poll(
    *, conversation_id: Any, party: ChatParty, since: int = 0, limit: int = POLL_MAX_MESSAGES
) -> dict[str, Any]:
    """New messages for the customer. The KV poll state answers first: another owner is a 404
    and no message past `since` is an empty answer, both without SQL. Otherwise two queries
    (the conversation, its messages), and the KV state is refilled."""
    state = poll_state_get(str(conversation_id))
    if state is not None:
        if state.owner != party.owner_key:
            raise NotFound()
        if state.last_message_id <= since:
            return {"items": [], "cursor": since, "has_more": False}
    conversation = conversation_own(conversation_id=conversation_id, party=party)
    page = messages_after(conversation, since=since, limit=limit)
    if state is None:
        poll_state_bump(
            conversation_id=str(conversation.pk),
            last_message_id=conversation.last_message_id,
            owner=owner_key_of(conversation),
        )
    return page


# --- the support team ------------------------------------------------------------------


def queue_conversations(*, status: str | None = None, assigned: str | None = None) -> QuerySet:
    """Unassigned first, then the longest waiting (oldest last message) first. `assigned`:
    "none", "any", or a team member's id."""
    conversations = Conversation.objects.select_related("user", "assigned_to", "order")
    if status:
        conversations = conversations.filter(status=status)
    if assigned == "none":
        conversations = conversations.filter(assigned_to__isnull=True)
    elif assigned and assigned != "any":
        try:
            conversations = conversations.filter(assigned_to_id=uuid.UUID(assigned))
        except ValueError:  # no one has such an id
            conversations = conversations.none()
    is_assigned = ExpressionWrapper(Q(assigned_to__isnull=False), output_field=BooleanField())
    return conversations.alias(is_assigned=is_assigned).order_by(
        "is_assigned", "last_message_at", "id"
    )


def chat_queue_summary() -> dict[str, int]:
    """Open conversations: `unassigned`, `assigned`, and `awaiting_staff` (the customer wrote
    last and no team member has read it). One query."""
    open_ = Q(status=ConversationStatus.OPEN)
    counts = Conversation.objects.aggregate(
        unassigned=Count("id", filter=open_ & Q(assigned_to__isnull=True)),
        assigned=Count("id", filter=open_ & Q(assigned_to__isnull=False)),
        awaiting_staff=Count("id", filter=open_ & Q(staff_unread__gt=0)),
    )
    return {name: int(value or 0) for name, value in counts.items()}


def staff_unread_counts(*, staff_id: str) -> dict[str, int]:
    """The queue summary and the caller's own: conversations assigned to them, those waiting
    for them, and their unread messages. One query."""
    open_ = Q(status=ConversationStatus.OPEN)
    mine = open_ & Q(assigned_to_id=staff_id)
    counts = Conversation.objects.aggregate(
        unassigned=Count("id", filter=open_ & Q(assigned_to__isnull=True)),
        assigned=Count("id", filter=open_ & Q(assigned_to__isnull=False)),
        awaiting_staff=Count("id", filter=open_ & Q(staff_unread__gt=0)),
        mine=Count("id", filter=mine),
        mine_awaiting=Count("id", filter=mine & Q(staff_unread__gt=0)),
        mine_unread_messages=Sum("staff_unread", filter=mine),
    )
    return {name: int(value or 0) for name, value in counts.items()}


def staff_queue(*, params: PageParams, status: str | None, assigned: str | None) -> dict:
    return paginate(queue_conversations(status=status, assigned=assigned), params)


def conversation_staff(*, conversation_id: Any) -> Conversation:
    conversation = (
        Conversation.objects.select_related("user", "assigned_to", "order")
        .filter(pk=conversation_id)
        .first()
    )
    if conversation is None:
        raise NotFound()
    return conversation
