"""Writing live chat: opening a conversation, messages from either side (idempotent by the
client's message id), reading, assigning, closing and reopening.

Every message is written under its conversation's row lock, so message ids (the polling
cursor) grow in commit order within a conversation and the unread counters stay exact. The
conversation's KV poll state is raised to the new last id as the message is written
(`lib.chat.poll`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from db.models import (
    ChatMessage,
    Conversation,
    ConversationSource,
    ConversationStatus,
    SenderKind,
    User,
)
from lib.access.permissions import has_permission
from lib.access.ratelimit import named_limiter
from lib.chat.parties import ChatParty, guest_token_hash, party_of
from lib.chat.poll import poll_state_bump
from lib.chat.text import message_clean, snippet
from lib.conf import Rate, chat_config
from lib.errors import ApiError, NotFound

logger = logging.getLogger("zest.chat")

CHAT_PERMISSION = "chat:answer"
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
REPLY_TITLE = ("New reply from Zest Store support", "জেস্ট স্টোর সাপোর্ট থেকে নতুন উত্তর")


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


# --- the customer side -----------------------------------------------------------------


@transaction.atomic
def conversation_open(
    *,
    user_id: str | None,
    guest_token: str | None,
    subject: str,
    first_message: str,
    order_id: Any = None,
    source: str = ConversationSource.CUSTOMER,
    language: str = "en",
    transcript: Sequence[tuple[str, str]] = (),
    open_key: str = "",
) -> Conversation:
    """Open a conversation for a user, or for the guest holding `guest_token` (only its hash
    is kept), with its first message. `transcript` ((sender kind, text), oldest first) is
    written before it: the chatbot's handover brings the conversation so far."""
    if not user_id and not guest_token:
        raise ValueError("a conversation belongs to a user or to a guest token")
    body = message_clean(first_message)
    conversation = Conversation.objects.create(
        user_id=user_id or None,
        guest_token_hash="" if user_id else guest_token_hash(guest_token or ""),
        order_id=order_id,
        subject=message_clean(subject)[:200] or snippet(body, 80),
        source=source,
        language="bn" if language == "bn" else "en",
        open_key=open_key,
    )
    sender = SenderKind.CUSTOMER if user_id else SenderKind.GUEST
    for kind, text in transcript:
        cleaned = message_clean(text)
        if cleaned:
            kind = sender if kind in (SenderKind.CUSTOMER, SenderKind.GUEST) else SenderKind.BOT
            message_add(conversation, sender_kind=kind, body=cleaned, sender_user_id=None)
    if source == ConversationSource.CHATBOT:
        system_note(conversation, "handover")
    if body:
        message_add(conversation, sender_kind=sender, body=body, sender_user_id=user_id)
    return conversation


def message_post(
    *,
    conversation_id: Any,
    party: ChatParty,
    body: str,
    client_message_id: str = "",
    attachments: Sequence[dict[str, Any]] = (),
) -> tuple[ChatMessage, bool]:
    """The customer writes: (message, created). A repeat of `client_message_id` returns the
    first message and writes nothing. 404 for another's conversation, 409 `chat_closed`."""
    client_message_id = client_message_key("c", client_message_id)
    text = message_clean(body)
    if not text and not attachments:
        raise ApiError("chat_message_empty", status=422, fields={"body": []})
    chat_limit("chat:message", chat_config.message_rate, f"{party.owner_key}:{conversation_id}")
    with transaction.atomic():
        conversation = conversation_lock(conversation_id, party=party)
        replayed = message_replayed(conversation, client_message_id)
        if replayed is not None:
            return replayed, False
        if conversation.status == ConversationStatus.CLOSED:
            raise ApiError("chat_closed", status=409)
        message = message_add(
            conversation,
            sender_kind=party.sender_kind,
            sender_user_id=party.user_id,
            body=text,
            attachments=attachments,
            client_message_id=client_message_id,
        )
    return message, True


@transaction.atomic
def conversation_read(*, conversation_id: Any, party: ChatParty | None) -> Conversation:
    """Mark every message read, by the customer (`party`) or by the staff (None)."""
    conversation = conversation_lock(conversation_id, party=party)
    if party is None:
        conversation.staff_last_read_id, conversation.staff_unread = (
            conversation.last_message_id,
            0,
        )
        fields = ["staff_last_read_id", "staff_unread", "updated_at"]
    else:
        conversation.customer_last_read_id = conversation.last_message_id
        conversation.customer_unread = 0
        fields = ["customer_last_read_id", "customer_unread", "updated_at"]
    conversation.save(update_fields=fields)
    return conversation


@transaction.atomic
def conversation_close(*, conversation_id: Any, party: ChatParty | None) -> Conversation:
    """Close (the customer's own, or any for staff); closing a closed one changes nothing."""
    conversation = conversation_lock(conversation_id, party=party)
    if conversation.status == ConversationStatus.CLOSED:
        return conversation
    conversation.status, conversation.closed_at = ConversationStatus.CLOSED, timezone.now()
    conversation.save(update_fields=["status", "closed_at", "updated_at"])
    system_note(conversation, "closed")
    return conversation


# --- the support team ------------------------------------------------------------------


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
    text = message_clean(body)
    if not text and not attachments:
        raise ApiError("chat_message_empty", status=422, fields={"body": []})
    with transaction.atomic():
        conversation = conversation_lock(conversation_id)
        replayed = message_replayed(conversation, client_message_id)
        if replayed is not None:
            return replayed, False
        if conversation.status == ConversationStatus.CLOSED:
            raise ApiError("chat_closed", status=409)
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


# --- what the endpoints call -----------------------------------------------------------


def chat_order_id(*, user_id: str | None, order_number: str | None, phone: str | None) -> Any:
    """The order a conversation is about: a signed-in customer's own, or for a guest the order
    whose number and phone both match. 404 (naming the field) for anything else."""
    from db.models import Order
    from lib.orders.selectors import order_track

    if not order_number:
        return None
    if user_id:
        found = Order.objects.filter(user_id=user_id, number=order_number).values_list(
            "pk", flat=True
        )
        order_id = found.first()
    else:
        try:
            order_id = order_track(number=order_number, phone=phone or "").pk
        except NotFound:
            order_id = None
    if order_id is None:
        raise NotFound(fields={"order_number": [order_number]})
    return order_id


def conversation_start(
    *,
    user_id: str | None,
    guest_token: str | None,
    subject: str,
    message: str,
    language: str,
    limit_identifier: str,
    order_number: str | None = None,
    order_phone: str | None = None,
    idempotency_key: str = "",
) -> tuple[Conversation, bool]:
    """A shopper opens a conversation (at most `CHAT_OPEN_LIMIT` per caller): (conversation,
    created). A retry with the same `idempotency_key` returns the first one."""
    if not message_clean(message):
        raise ApiError("chat_message_empty", status=422, fields={"message": []})
    owner = party_of(user_id=user_id, guest_token=guest_token).owner_key
    open_key = f"{owner}:{idempotency_key}" if idempotency_key else ""
    earlier = Conversation.objects.filter(open_key=open_key).first() if open_key else None
    if earlier is not None:
        return earlier, False
    chat_limit("chat:open", chat_config.open_rate, limit_identifier)
    order_id = chat_order_id(user_id=user_id, order_number=order_number, phone=order_phone)
    try:
        with transaction.atomic():
            conversation = conversation_open(
                user_id=user_id,
                guest_token=guest_token,
                subject=subject,
                first_message=message,
                order_id=order_id,
                language=language,
                open_key=open_key,
            )
    except IntegrityError:  # the same key won a race with this request
        earlier = Conversation.objects.filter(open_key=open_key).first() if open_key else None
        if earlier is None:
            raise
        return earlier, False
    return conversation, True


def attachment_post(
    *,
    conversation_id: Any,
    upload: Any,
    body: str = "",
    client_message_id: str = "",
    party: ChatParty | None = None,
    staff_id: str | None = None,
) -> tuple[ChatMessage, bool]:
    """A message carrying one uploaded file, from the customer (`party`) or a team member
    (`staff_id`). The file is checked from its bytes and stored before the row is written; it
    is deleted again when no new message points at it (refused, or a replay)."""
    from lib.chat.attachments import attachment_read, attachment_store, attachments_discard

    file = attachment_read(upload)
    if party is not None:  # 404 before anything is stored
        conversation_id = (
            Conversation.objects.filter(party.conversations(), pk=conversation_id)
            .values_list("pk", flat=True)
            .first()
        )
        if conversation_id is None:
            raise NotFound()
    record = attachment_store(conversation_id=str(conversation_id), file=file)
    try:
        if party is not None:
            message, created = message_post(
                conversation_id=conversation_id,
                party=party,
                body=body,
                client_message_id=client_message_id,
                attachments=[record],
            )
        else:
            assert staff_id is not None
            message, created = staff_reply(
                conversation_id=conversation_id,
                staff_id=staff_id,
                body=body,
                client_message_id=client_message_id,
                attachments=[record],
            )
    except BaseException:
        attachments_discard([record])
        raise
    if not created:
        attachments_discard([record])
    return message, created
