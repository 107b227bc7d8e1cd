"""Live chat for shoppers, signed in or guests: /api/v1/chat/conversations/...

A guest's conversations are named by the token the first open returned (body `guest_token`
and header `X-Chat-Token`); send it as `X-Chat-Token` on every later call. A signed-in
shopper (Bearer token) needs none. Anyone else's conversation is a 404."""

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from lib.runtime import make_app

from django.http import HttpRequest, HttpResponse
from ninja import Field, File, Form, Header, Query, Router, Schema, Status, UploadedFile

from lib.access.context import client_ip, get_access
from lib.access.ratelimit import ip_bucket
from lib.chat import selectors, services
from lib.chat.parties import CHAT_TOKEN, ChatParty, chat_guest_token_new, party_of
from lib.chat.schemas import (
    ChatAttachmentIn,
    ChatMessageIn,
    ChatMessageOut,
    ChatMessagePageOut,
    ChatPollQuery,
    MessageKey,
)
from lib.i18n import request_language
from lib.pagination import PageParams
from lib.schemas import InputSchema

router = Router(tags=["chat"])

ChatToken = Annotated[
    str | None,
    Header(
        None,
        alias=CHAT_TOKEN,
        description="A guest's conversations: the `guest_token` the first open returned",
    ),
]
CONVERSATION = "/conversations/{uuid:conversation_id}"


# --- schemas ---------------------------------------------------------------------------


class ChatConversationOut(Schema):
    id: UUID
    subject: str
    status: str = Field(..., description="open or closed")
    source: str = Field(..., description="customer, or chatbot (a handover)")
    language: str
    order_number: str | None = None
    assigned: bool = Field(..., description="A team member has taken it")
    unread: int = Field(..., description="Messages to the customer not read yet")
    last_message_id: int
    last_message_at: datetime
    created_at: datetime
    closed_at: datetime | None

    @staticmethod
    def resolve_order_number(obj) -> str | None:
        return obj.order.number if obj.order_id else None

    @staticmethod
    def resolve_assigned(obj) -> bool:
        return obj.assigned_to_id is not None

    @staticmethod
    def resolve_unread(obj) -> int:
        return obj.customer_unread


class ChatConversationPageOut(Schema):
    items: list[ChatConversationOut]
    count: int
    page: int
    page_size: int
    pages: int


class ChatOpenIn(InputSchema):
    subject: str = Field("", max_length=200, description="Taken from the message when empty")
    message: str = Field(..., min_length=1, max_length=8000, description="The first message")
    order_number: str | None = Field(None, max_length=32, description="The order it is about")
    order_phone: str | None = Field(
        None, max_length=20, description="Guests: the phone the order was placed with"
    )
    language: Literal["en", "bn"] | None = Field(None, description="Accept-Language when absent")


class ChatOpenOut(Schema):
    conversation: ChatConversationOut
    messages: list[ChatMessageOut]
    guest_token: str | None = Field(
        None, description="Guests: send it as `X-Chat-Token` from now on (kept only hashed)"
    )


# --- who is calling ----------------------------------------------------------------------


def caller_party(request: HttpRequest, chat_token: str | None) -> ChatParty:
    claims = get_access(request).claims
    return party_of(user_id=claims.user_id if claims else None, guest_token=chat_token)


def message_key(payload_id: str | None, header_key: str | None) -> str:
    return payload_id or header_key or ""


# --- routes ----------------------------------------------------------------------------


@router.post("/conversations", response={201: ChatOpenOut, 200: ChatOpenOut})
def open_conversation(
    request,
    response: HttpResponse,
    payload: ChatOpenIn,
    chat_token: ChatToken = None,
    idempotency_key: MessageKey = None,
):
    """Start a conversation with the support team. A signed-in shopper's belongs to their
    account; a guest gets a token (reused when sent) naming their conversations. An order
    can be named: a signed-in shopper's own, or a guest's with the phone it was placed with.
    A retry with the same `Idempotency-Key` (and, for a guest, the token the first answer
    gave) answers 200 with the first conversation."""
    claims = get_access(request).claims
    user_id = claims.user_id if claims else None
    token = None
    if user_id is None:
        token = (chat_token or "").strip() or chat_guest_token_new(idempotency_key or "")
        party_of(user_id=None, guest_token=token)  # 400 for a malformed token
    identifier = f"user:{user_id}" if user_id else f"ip:{ip_bucket(client_ip(request))}"
    conversation, created = services.conversation_start(
        user_id=user_id,
        guest_token=token,
        subject=payload.subject,
        message=payload.message,
        language=payload.language or request_language(request),
        limit_identifier=identifier,
        order_number=payload.order_number,
        order_phone=payload.order_phone,
        idempotency_key=idempotency_key or "",
    )
    if token:
        response[CHAT_TOKEN] = token
    messages = selectors.messages_after(conversation, since=0, limit=selectors.POLL_MAX_MESSAGES)
    body = {"conversation": conversation, "messages": messages["items"], "guest_token": token}
    return Status(201 if created else 200, body)


@router.get("/conversations", response=ChatConversationPageOut)
def list_conversations(request, params: Query[PageParams], chat_token: ChatToken = None):
    """The caller's conversations, the most recently active first."""
    party = caller_party(request, chat_token)
    return selectors.conversations_own(party=party, params=params)


@router.get(CONVERSATION, response=ChatConversationOut)
def get_conversation(request, conversation_id: UUID, chat_token: ChatToken = None):
    """One of the caller's conversations (status, unread count)."""
    party = caller_party(request, chat_token)
    return selectors.conversation_own(conversation_id=conversation_id, party=party)


@router.get(f"{CONVERSATION}/messages", response=ChatMessagePageOut)
def poll_messages(
    request, conversation_id: UUID, query: Query[ChatPollQuery], chat_token: ChatToken = None
):
    """Messages after `since`, oldest first. Poll with the last `cursor`: when nothing is new
    the answer is empty and cheap (no database read)."""
    party = caller_party(request, chat_token)
    return selectors.messages_poll(
        conversation_id=conversation_id, party=party, since=query.since, limit=query.limit
    )


@router.post(f"{CONVERSATION}/messages", response={201: ChatMessageOut, 200: ChatMessageOut})
def post_message(
    request,
    conversation_id: UUID,
    payload: ChatMessageIn,
    chat_token: ChatToken = None,
    idempotency_key: MessageKey = None,
):
    """Write to the support team (201). A retry with the same `Idempotency-Key` (or
    `client_message_id`) answers 200 with the first message. 409 `chat_closed`."""
    message, created = services.message_post(
        conversation_id=conversation_id,
        party=caller_party(request, chat_token),
        body=payload.body,
        client_message_id=message_key(payload.client_message_id, idempotency_key),
    )
    return Status(201 if created else 200, message)


@router.post(f"{CONVERSATION}/attachments", response={201: ChatMessageOut, 200: ChatMessageOut})
def post_attachment(
    request,
    conversation_id: UUID,
    file: File[UploadedFile],
    data: Form[ChatAttachmentIn],
    chat_token: ChatToken = None,
    idempotency_key: MessageKey = None,
):
    """Send a file (multipart field `file`): a JPEG, PNG, WebP or AVIF image or a PDF, read
    from its bytes (the name and type sent are not trusted), at most
    `CHAT_ATTACHMENT_MAX_BYTES` (413 `chat_attachment_too_large`)."""
    message, created = services.attachment_post(
        conversation_id=conversation_id,
        upload=file,
        body=data.body,
        client_message_id=idempotency_key or "",
        party=caller_party(request, chat_token),
    )
    return Status(201 if created else 200, message)


@router.post(f"{CONVERSATION}/read", response=ChatConversationOut)
def mark_read(request, conversation_id: UUID, chat_token: ChatToken = None):
    """Everything in the conversation has been read by the customer."""
    party = caller_party(request, chat_token)
    return services.conversation_read(conversation_id=conversation_id, party=party)


@router.post(f"{CONVERSATION}/close", response=ChatConversationOut)
def close_conversation(request, conversation_id: UUID, chat_token: ChatToken = None):
    """Close the conversation (closing it again changes nothing)."""
    party = caller_party(request, chat_token)
    return services.conversation_close(conversation_id=conversation_id, party=party)


app = make_app("chat", [("/chat", router)], title="Zest Store live chat")
