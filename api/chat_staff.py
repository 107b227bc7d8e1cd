"""Live chat for the support team (permission `chat:answer`: support, staff and admins):
/api/v1/admin/chat/... (the queue, claiming and assigning, replies, closing, unread counts)."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from lib.runtime import make_app

from ninja import Field, File, Form, Query, Router, Schema, Status, UploadedFile

from lib.access.permissions import Require
from lib.chat import selectors, services, staff
from lib.chat.schemas import (
    ChatAttachmentIn,
    ChatMessageIn,
    ChatMessageOut,
    ChatMessagePageOut,
    ChatPollQuery,
    MessageKey,
)
from lib.pagination import PageParams
from lib.schemas import InputSchema

router = Router(tags=["admin: chat"], auth=Require(staff.CHAT_PERMISSION))
CONVERSATION = "/conversations/{uuid:conversation_id}"


class ChatPersonOut(Schema):
    id: UUID
    full_name: str
    email: str | None


class ChatStaffConversationOut(Schema):
    id: UUID
    subject: str
    status: str
    source: str
    language: str
    customer: ChatPersonOut | None = Field(..., alias="user", description="None for a guest")
    guest: bool
    order_number: str | None = None
    assigned_to: ChatPersonOut | None
    staff_unread: int = Field(..., description="Customer messages no team member has read")
    customer_unread: int
    last_message_id: int
    last_message_at: datetime
    created_at: datetime
    closed_at: datetime | None

    @staticmethod
    def resolve_guest(obj) -> bool:
        return obj.user_id is None

    @staticmethod
    def resolve_order_number(obj) -> str | None:
        return obj.order.number if obj.order_id else None


class ChatStaffConversationPageOut(Schema):
    items: list[ChatStaffConversationOut]
    count: int
    page: int
    page_size: int
    pages: int


class ChatQueueQuery(PageParams):
    status: Literal["open", "closed", "all"] = Field("open", description="`all`: every status")
    assigned: str | None = Field(
        None, description="`none` (the queue), `me`, `any`, or a team member's id"
    )


class ChatCountsOut(Schema):
    unassigned: int = Field(..., description="Open and nobody has taken them")
    assigned: int
    awaiting_staff: int = Field(..., description="Open with customer messages nobody has read")
    mine: int = Field(..., description="Open and assigned to the caller")
    mine_awaiting: int
    mine_unread_messages: int


class ChatAssignIn(InputSchema):
    assignee_id: UUID | None = Field(..., description="A team member; null puts it back in queue")


@router.get("/conversations", response=ChatStaffConversationPageOut)
def queue(request, query: Query[ChatQueueQuery]):
    """The queue: unassigned conversations first, then the longest waiting."""
    assigned = str(request.auth.user_id) if query.assigned == "me" else query.assigned
    status = None if query.status == "all" else query.status
    return selectors.staff_queue(params=query, status=status, assigned=assigned)


@router.get("/counts", response=ChatCountsOut)
def counts(request):
    """Queue and unread counts, the caller's own included (for a badge)."""
    return selectors.staff_unread_counts(staff_id=request.auth.user_id)


@router.get(CONVERSATION, response=ChatStaffConversationOut)
def conversation(request, conversation_id: UUID):
    """One conversation with its customer and assignee."""
    return selectors.conversation_staff(conversation_id=conversation_id)


@router.get(f"{CONVERSATION}/messages", response=ChatMessagePageOut)
def messages(request, conversation_id: UUID, query: Query[ChatPollQuery]):
    """Messages after `since`, oldest first."""
    found = selectors.conversation_staff(conversation_id=conversation_id)
    return selectors.messages_after(found, since=query.since, limit=query.limit)


@router.post(f"{CONVERSATION}/claim", response=ChatStaffConversationOut)
def claim(request, conversation_id: UUID):
    """Take the conversation; 409 `chat_assigned_elsewhere` when a colleague holds it."""
    staff.conversation_assign(
        conversation_id=conversation_id, assignee_id=None, actor_id=request.auth.user_id, claim=True
    )
    return selectors.conversation_staff(conversation_id=conversation_id)


@router.post(f"{CONVERSATION}/assign", response=ChatStaffConversationOut)
def assign(request, conversation_id: UUID, payload: ChatAssignIn):
    """Give the conversation to a team member (422 `chat_assignee_invalid` for anyone
    without `chat:answer`), or back to the queue."""
    staff.conversation_assign(
        conversation_id=conversation_id,
        assignee_id=payload.assignee_id,
        actor_id=request.auth.user_id,
    )
    return selectors.conversation_staff(conversation_id=conversation_id)


@router.post(f"{CONVERSATION}/messages", response={201: ChatMessageOut, 200: ChatMessageOut})
def reply(
    request, conversation_id: UUID, payload: ChatMessageIn, idempotency_key: MessageKey = None
):
    """Answer the customer (201; a retry with the same key answers 200 with the first reply).
    An unassigned conversation is taken by whoever answers; a signed-in customer is
    notified. 409 `chat_closed`: reopen it first."""
    message, created = staff.staff_reply(
        conversation_id=conversation_id,
        staff_id=request.auth.user_id,
        body=payload.body,
        client_message_id=payload.client_message_id or idempotency_key or "",
    )
    return Status(201 if created else 200, message)


@router.post(f"{CONVERSATION}/attachments", response={201: ChatMessageOut, 200: ChatMessageOut})
def reply_with_file(
    request,
    conversation_id: UUID,
    file: File[UploadedFile],
    data: Form[ChatAttachmentIn],
    idempotency_key: MessageKey = None,
):
    """Answer with a file (multipart field `file`): an image or a PDF, read from its bytes."""
    message, created = services.attachment_post(
        conversation_id=conversation_id,
        upload=file,
        body=data.body,
        client_message_id=idempotency_key or "",
        staff_id=request.auth.user_id,
    )
    return Status(201 if created else 200, message)


@router.post(f"{CONVERSATION}/read", response=ChatStaffConversationOut)
def read(request, conversation_id: UUID):
    """The team has read everything in the conversation."""
    services.conversation_read(conversation_id=conversation_id, party=None)
    return selectors.conversation_staff(conversation_id=conversation_id)


@router.post(f"{CONVERSATION}/close", response=ChatStaffConversationOut)
def close(request, conversation_id: UUID):
    """Close the conversation (again: no change)."""
    services.conversation_close(conversation_id=conversation_id, party=None)
    return selectors.conversation_staff(conversation_id=conversation_id)


@router.post(f"{CONVERSATION}/reopen", response=ChatStaffConversationOut)
def reopen(request, conversation_id: UUID):
    """Reopen a closed conversation."""
    staff.conversation_reopen(conversation_id=conversation_id)
    return selectors.conversation_staff(conversation_id=conversation_id)


app = make_app("chat_staff", [("/admin/chat", router)], title="Zest Store live chat: support team")
