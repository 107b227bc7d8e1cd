"""The KV side of polling: per conversation, the id of its last message and who owns it
(`chat:poll:{conversation id}` -> hash `last`, `owner`).

A poll reads this one hash first: when it names another owner the answer is 404, when
`last` is not past the caller's cursor the answer is "nothing new"; neither touches SQL. Only
a poll that may find messages reads the database (and refills the hash). Writers raise `last`
as they write a message, before their commit, and never lower it (a Lua max): a poll that
comes between reads the database, finds nothing yet and keeps its cursor, so no message is
ever skipped. When the KV cannot be reached, polls read the database (fail open).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from lib.conf import chat_config
from lib.kv import get_kv

logger = logging.getLogger("zest.chat")

# KEYS: the poll hash. ARGV: message id, owner, ttl. Raises `last` to the id (never lowers it).
BUMP_SCRIPT = """
local current = tonumber(redis.call('HGET', KEYS[1], 'last') or '0')
if tonumber(ARGV[1]) > current then
  redis.call('HSET', KEYS[1], 'last', ARGV[1])
end
redis.call('HSET', KEYS[1], 'owner', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""


@dataclass(frozen=True, slots=True)
class PollState:
    last_message_id: int
    owner: str


def poll_key(conversation_id: str) -> str:
    return f"chat:poll:{conversation_id}"


def poll_state_get(conversation_id: str) -> PollState | None:
    """The cached state, or None when absent, malformed or the KV is unreachable."""
    try:
        last, owner = get_kv().hmget(poll_key(conversation_id), "last", "owner")
    except Exception as exc:  # the store or its transport failed: read the database instead
        logger.warning("chat poll state not read: %s: %s", type(exc).__name__, exc)
        return None
    if last is None or not owner:
        return None
    try:
        return PollState(int(last), str(owner))
    except ValueError:
        return None


def poll_state_bump(*, conversation_id: str, last_message_id: int, owner: str) -> None:
    """Record that the conversation holds messages up to `last_message_id`. On failure the
    entry is dropped, so polls fall back to the database rather than trusting a stale id."""
    key = poll_key(conversation_id)
    try:
        get_kv().eval(
            BUMP_SCRIPT,
            keys=[key],
            args=[str(last_message_id), owner, str(chat_config.poll_cache_ttl)],
        )
    except Exception as exc:
        logger.warning("chat poll state not written: %s: %s", type(exc).__name__, exc)
        try:
            get_kv().delete(key)
        except Exception:
            logger.warning("chat poll state %s may be stale until it expires", key)
