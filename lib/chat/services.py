"""The shoppers' chat writes: opening a conversation (`conversation_open`, also the
chatbot's handover), messages and attachments (idempotent by the client's message id),
marking read and closing (those two are the support team's too, with no party)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from db.models import ChatMessage, Conversation, ConversationSource, ConversationStatus, SenderKind
from lib.chat.messages import (
    chat_limit,
    client_message_key,
    conversation_lock,
    message_add,
    message_replayed_or_open,
    message_text,
    system_note,
)
from lib.chat.parties import ChatParty, guest_token_hash, party_of
from lib.chat.staff import staff_reply
from lib.chat.text import message_clean, snippet
from lib.conf import chat_config
from lib.errors import ApiError, NotFound

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
    text = message_text(body, attachments)
    chat_limit("chat:message", chat_config.message_rate, f"{party.owner_key}:{conversation_id}")
    with transaction.atomic():
        conversation = conversation_lock(conversation_id, party=party)
        replayed = message_replayed_or_open(conversation, client_message_id)
        if replayed is not None:
            return replayed, False
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
