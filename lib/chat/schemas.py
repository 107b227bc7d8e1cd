"""Shapes the customer and the support-team chat functions share."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from ninja import Field, Header, Schema
from pydantic import StringConstraints

from lib.chat.selectors import POLL_MAX_MESSAGES
from lib.schemas import IDEMPOTENCY_KEY, InputSchema

MessageKey = Annotated[
    Annotated[str, StringConstraints(strip_whitespace=True, min_length=8, max_length=128)] | None,
    Header(
        None,
        alias=IDEMPOTENCY_KEY,
        description="8-128 characters, new for each message or conversation (a UUID): a "
        "retry with the same key returns the first answer and writes nothing twice",
    ),
]


class ChatAttachmentOut(Schema):
    url: str
    content_type: str
    size: int = Field(..., description="Bytes")
    name: str


class ChatMessageOut(Schema):
    id: int = Field(..., description="Also the polling cursor: ascending within a conversation")
    sender: str = Field(..., alias="sender_kind", description="customer, guest, staff, bot, system")
    body: str = Field(..., description="Plain text: render it as text, never as HTML")
    attachments: list[ChatAttachmentOut]
    created_at: datetime


class ChatMessageIn(InputSchema):
    body: str = Field(..., min_length=1, max_length=8000, description="Plain text")
    client_message_id: str | None = Field(
        None,
        min_length=8,
        max_length=128,
        description="Instead of `Idempotency-Key`: a retry with the same id posts nothing twice",
    )


class ChatAttachmentIn(Schema):
    body: str = Field("", max_length=8000, description="Optional text with the file")


class ChatMessagePageOut(Schema):
    items: list[ChatMessageOut]
    cursor: int = Field(..., description="Send as `since` on the next poll")
    has_more: bool = Field(..., description="More messages wait: poll again right away")


class ChatPollQuery(Schema):
    since: int = Field(0, ge=0, description="The previous answer's `cursor` (0: from the start)")
    limit: int = Field(50, ge=1, le=POLL_MAX_MESSAGES)
