"""A chatbot session in the KV: the recent transcript (for a handover), how many answers in a
row it was unsure of, and the live-chat conversation it was handed to. Keyed by the owner
(a user, or "guest") and the SHA-256 of the session id, so one user's session id read by
anyone else is a fresh, empty session. Forgotten `SESSION_TTL` seconds after its last use;
the KV being unreachable starts a fresh session rather than failing the answer."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
from dataclasses import asdict, dataclass, field

from lib.errors import ApiError
from lib.kv import get_kv

logger = logging.getLogger("zest.chatbot")

SESSION_TTL = 3600
MAX_TURNS = 20
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")


@dataclass
class ChatbotSession:
    turns: list[list[str]] = field(default_factory=list)  # [sender kind, text], oldest first
    misses: int = 0  # answers in a row the engine was unsure of
    conversation_id: str | None = None


def session_id_check(session_id: str | None) -> str:
    """The caller's session id, or a new one; 422 for one of the wrong shape."""
    if not session_id:
        return secrets.token_urlsafe(24)
    if not SESSION_ID.fullmatch(session_id):
        raise ApiError("chatbot_conversation_unknown", status=422, fields={"session_id": []})
    return session_id


def session_key(owner: str, session_id: str) -> str:
    return f"chatbot:session:{owner}:{hashlib.sha256(session_id.encode()).hexdigest()}"


def session_load(key: str) -> ChatbotSession:
    try:
        raw = get_kv().get(key)
    except Exception as exc:
        logger.warning("chatbot session not read: %s: %s", type(exc).__name__, exc)
        return ChatbotSession()
    if not raw:
        return ChatbotSession()
    try:
        data = json.loads(raw)
        return ChatbotSession(
            turns=[[str(kind), str(text)] for kind, text in data.get("turns", [])][-MAX_TURNS:],
            misses=int(data.get("misses", 0)),
            conversation_id=data.get("conversation_id") or None,
        )
    except (ValueError, TypeError, AttributeError):
        return ChatbotSession()


def session_save(key: str, session: ChatbotSession) -> None:
    session.turns = session.turns[-MAX_TURNS:]
    try:
        get_kv().set(key, json.dumps(asdict(session), ensure_ascii=False), ex=SESSION_TTL)
    except Exception as exc:
        logger.warning("chatbot session not saved: %s: %s", type(exc).__name__, exc)
