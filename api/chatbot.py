"""The store's chatbot: POST /api/v1/chatbot/messages.

Answers in English or Bangla about products and prices, the caller's own orders, delivery,
payment and store policies, from our own data (and a hosted model's phrasing when one is
configured). Asking for a person, or two answers in a row it could not give, hands the
session over to live chat (`handover`)."""

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from lib.runtime import make_app

from ninja import Field, Header, Router, Schema

from lib.access.context import client_ip, get_access
from lib.access.ratelimit import ip_bucket
from lib.catalog.schemas import ProductCardOut
from lib.chat.parties import CHAT_TOKEN
from lib.chatbot.services import chatbot_reply
from lib.i18n import request_language
from lib.money import Money
from lib.schemas import InputSchema

router = Router(tags=["chatbot"])

ChatToken = Annotated[
    str | None,
    Header(
        None,
        alias=CHAT_TOKEN,
        description="A guest's live-chat token, reused when the chatbot hands over",
    ),
]


class ChatbotIn(InputSchema):
    message: str = Field(..., min_length=1, max_length=2000)
    session_id: str | None = Field(
        None,
        min_length=16,
        max_length=64,
        description="The `session_id` of the previous answer; a new session when absent",
    )
    language: Literal["en", "bn"] | None = Field(
        None, description="Else the message's script, else Accept-Language"
    )
    order_number: str | None = Field(None, max_length=32, description="Asking about an order")
    phone: str | None = Field(
        None, max_length=20, description="Guests: the phone the order was placed with"
    )


class ChatbotOrderOut(Schema):
    number: str
    status: str
    status_label: str
    payment_method: str
    payment_status: str
    total: Money
    placed_at: datetime | None


class ChatbotHandoverOut(Schema):
    conversation_id: UUID = Field(..., description="The live-chat conversation to poll")
    guest_token: str | None = Field(
        None, description="Guests: send as `X-Chat-Token` to read the conversation"
    )
    message: str


class ChatbotOut(Schema):
    session_id: str = Field(..., description="Send it with the next message")
    language: str
    intent: str = Field(
        ...,
        description="order_status, product, delivery, payment, returns, policy, greeting, "
        "human or unknown",
    )
    confidence: str = Field(..., description="high, medium or low")
    answer: str = Field(..., description="Plain text")
    source: str = Field(..., description="rules (offline engine) or llm (hosted model)")
    products: list[ProductCardOut]
    order: ChatbotOrderOut | None
    handover: ChatbotHandoverOut | None


@router.post("/messages", response=ChatbotOut)
def ask(request, payload: ChatbotIn, chat_token: ChatToken = None):
    """Ask the chatbot. Order status is given for the signed-in shopper's own orders, or for
    a guest when the order number and the phone it was placed with both match; any other
    order gets an answer that reveals nothing about it."""
    claims = get_access(request).claims
    user_id = claims.user_id if claims else None
    identifier = f"user:{user_id}" if user_id else f"ip:{ip_bucket(client_ip(request))}"
    reply = chatbot_reply(
        message=payload.message,
        session_id=payload.session_id,
        user_id=user_id,
        guest_token=chat_token,
        language=payload.language,
        accept_language=request_language(request),
        limit_identifier=identifier,
        order_number=payload.order_number,
        phone=payload.phone,
    )
    request.language = reply.language  # product names and prices in the answer's language
    return reply


app = make_app("chatbot", [("/chatbot", router)], title="Zest Store chatbot")
