"""Answering a chatbot message: read it (`intents`), gather the facts the caller may see
(`knowledge`), answer offline (`answers`), let the hosted model phrase it when configured
(`llm`), and hand over to live chat when asked for a person or unsure twice in a row."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from db.models import Conversation, ConversationSource, Order, Product, SenderKind
from lib.chat.messages import chat_limit
from lib.chat.parties import chat_guest_token_new, party_of
from lib.chat.services import conversation_open
from lib.chat.text import message_clean
from lib.chatbot import answers, knowledge
from lib.chatbot.intents import Reading, message_read
from lib.chatbot.llm import llm_answer
from lib.chatbot.sessions import session_id_check, session_key, session_load, session_save
from lib.conf import chat_config
from lib.errors import ApiError
from lib.i18n import Language

MISSES_BEFORE_HANDOVER = 2
POLICY_TOPICS = ("returns", "policy")


@dataclass
class Reply:
    session_id: str
    language: Language
    intent: str
    confidence: str  # high | medium | low
    answer: str
    source: str = "rules"  # rules | llm
    products: list[Product] = field(default_factory=list)
    order: dict[str, Any] | None = None
    handover: dict[str, Any] | None = None


@dataclass
class Draft:
    """What the engine worked out before phrasing."""

    intent: str
    confidence: str
    answer: str
    facts: dict[str, Any]
    products: list[Product] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)


def order_draft(reading: Reading, *, user_id: str | None, language: Language) -> Draft:
    """Only the caller's orders: a signed-in user's own (their latest when none is named), or
    for a guest the order whose number and placing phone both match. Every other case gets
    an answer that says nothing about whether the order exists."""
    if user_id:
        orders = knowledge.orders_of_user(user_id=user_id, numbers=reading.order_numbers)
    else:
        found = knowledge.order_of_guest(numbers=reading.order_numbers, phones=reading.phones)
        orders = [found] if found is not None else []
    if orders:
        cards = [knowledge.order_card(order, language) for order in orders]
        facts = {"orders": [{**card, "total": card["total"].display} for card in cards]}
        text = answers.order_answer(cards, language)
        return Draft("order_status", "high", text, facts, orders=orders)
    if user_id and not reading.order_numbers:
        key = "order_no_orders"
    elif user_id:
        key = "order_none"
    elif reading.order_numbers and reading.phones:
        key = "order_refused"
    else:
        key = "order_ask"
    return Draft("order_status", "high", answers.text(key, language), {"orders": []})


def draft_for(reading: Reading, *, user_id: str | None) -> Draft:
    language, intent = reading.language, reading.intent
    if intent == "order_status":
        return order_draft(reading, user_id=user_id, language=language)
    if intent == "delivery":
        zones = knowledge.delivery_facts(language)
        payment = knowledge.payment_facts(language)
        text = answers.delivery_answer(zones, language)
        return Draft(intent, "high", text, {"delivery_zones": zones, "payment": payment})
    if intent == "payment":
        payment = knowledge.payment_facts(language)
        text = answers.payment_answer(payment, language)
        return Draft(intent, "high", text, {"payment": payment})
    if intent in POLICY_TOPICS:
        fact = knowledge.policy_fact(intent, language)
        return Draft(intent, "high", answers.policy_answer(fact, language), {"policy": fact})
    if intent == "greeting" and not reading.words:
        return Draft(intent, "high", answers.text("greeting", language), {})
    if intent in ("product", "unknown", "greeting"):
        products = knowledge.products_find(reading.words, language=language)
        facts = {"products": [knowledge.product_fact(p, language) for p in products]}
        if products:
            confidence = "high" if intent == "product" else "medium"
            text = answers.products_answer(facts["products"], language)
            return Draft("product", confidence, text, facts, products)
        if intent == "product":
            return Draft(intent, "medium", answers.products_answer([], language), facts)
    return Draft("unknown", "low", answers.text("unknown", language), {})


def handover_open(
    *,
    session_conversation: str | None,
    user_id: str | None,
    guest_token: str | None,
    message: str,
    language: Language,
    transcript: list[list[str]],
) -> dict[str, Any]:
    """The live-chat conversation this session was handed to: the one it already was, while
    that is open, else a new one with the transcript."""
    still_open = Conversation.objects.filter(pk=session_conversation, status="open")
    if session_conversation and still_open.exists():
        return {"conversation_id": session_conversation, "guest_token": None}
    token = None
    if not user_id:
        token = (guest_token or "").strip() or chat_guest_token_new()
        party_of(user_id=None, guest_token=token)  # 400 for a malformed token
    conversation = conversation_open(
        user_id=user_id,
        guest_token=token,
        subject="Chatbot" if language == "en" else "চ্যাটবট",
        first_message=message,
        source=ConversationSource.CHATBOT,
        language=language,
        transcript=[(kind, text) for kind, text in transcript],
    )
    return {"conversation_id": str(conversation.pk), "guest_token": token}


def chatbot_reply(
    *,
    message: str,
    session_id: str | None,
    user_id: str | None,
    guest_token: str | None,
    language: Language | None,
    accept_language: Language,
    limit_identifier: str,
    order_number: str | None = None,
    phone: str | None = None,
) -> Reply:
    """Answer one message of a chatbot session (at most `CHATBOT_LIMIT` per caller)."""
    text = message_clean(message)
    if not text:
        raise ApiError("chat_message_empty", status=422, fields={"message": []})
    chat_limit("chatbot", chat_config.chatbot_rate, limit_identifier)
    session_id = session_id_check(session_id)
    key = session_key(f"u:{user_id}" if user_id else "guest", session_id)
    session = session_load(key)
    extra = " ".join(part for part in (order_number, phone) if part)
    reading = message_read(f"{text} {extra}", language=language, fallback=accept_language)
    wants_person = reading.intent == "human"
    draft = Draft("human", "high", "", {}) if wants_person else draft_for(reading, user_id=user_id)
    session.misses = session.misses + 1 if draft.confidence == "low" else 0
    sender = SenderKind.CUSTOMER if user_id else SenderKind.GUEST
    handover = None
    if wants_person or session.misses >= MISSES_BEFORE_HANDOVER:
        handover = handover_open(
            session_conversation=session.conversation_id,
            user_id=user_id,
            guest_token=guest_token,
            message=text,
            language=reading.language,
            transcript=session.turns,
        )
        handover["message"] = answers.text("handover", reading.language)
        session.conversation_id, session.misses = handover["conversation_id"], 0
        draft.answer = handover["message"]
    reply = Reply(
        session_id=session_id,
        language=reading.language,
        intent=draft.intent,
        confidence=draft.confidence,
        answer=draft.answer,
        products=draft.products,
        order=knowledge.order_card(draft.orders[0], reading.language) if draft.orders else None,
        handover=handover,
    )
    if handover is None and draft.facts:
        facts = {"intent": draft.intent, "offline_answer": draft.answer, **draft.facts}
        phrased = llm_answer(message=text, facts=facts, language=reading.language)
        if phrased:
            reply.answer, reply.source = phrased, "llm"
    session.turns += [[sender, text], [SenderKind.BOT, reply.answer]]
    session_save(key, session)
    return reply
