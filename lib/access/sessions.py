"""Sign-in sessions kept in the KV store, with rotating refresh tokens.

Layout:
- `session:{sid}`: hash of user_id, refresh_hash (SHA-256 of the current refresh secret),
  created_at, expires (Unix seconds), ip, user_agent. It lives `REFRESH_TTL` seconds from
  sign-in (EXPIRE); its existence is what makes an access token naming `sid` valid.
- `session:{sid}:previous`: the hash of the refresh secret rotated out last, kept for a few
  seconds so a client racing itself is told to use its newest tokens instead of being signed
  out.
- `user:{user_id}:sessions`: sorted set of the user's session ids scored by their expiry, to
  end them all (password reset, role change). Expired members are pruned at each sign-in.

A refresh token is `"{sid}.{secret}"`; only the secret's hash is stored. Every refresh
rotates it in one Lua script, so of two concurrent refreshes with the same token exactly one
succeeds. Presenting any other secret for a live session (a replayed, rotated-out token)
ends the session: whoever holds the token family, thief or owner, has to sign in again.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import time
import uuid
from dataclasses import dataclass

from db.models import User
from lib.access.tokens import access_token_issue
from lib.conf import config
from lib.errors import ApiError
from lib.kv import get_kv

logger = logging.getLogger("zest.sessions")

# How long the refresh token just rotated out answers "in progress" rather than "reused".
ROTATION_GRACE_MS = 10_000
SESSION_ID = re.compile(r"^[0-9a-f]{32}$")
MAX_USER_AGENT = 256

ROTATE_SCRIPT = """
local current = redis.call('HGET', KEYS[1], 'refresh_hash')
if not current then
  return {'missing'}
end
if current == ARGV[1] then
  redis.call('HSET', KEYS[1], 'refresh_hash', ARGV[2], 'rotated_at', ARGV[4])
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3])
  return {'rotated', redis.call('HGET', KEYS[1], 'user_id')}
end
if redis.call('GET', KEYS[2]) == ARGV[1] then
  return {'in_progress'}
end
local user_id = redis.call('HGET', KEYS[1], 'user_id')
redis.call('DEL', KEYS[1], KEYS[2])
return {'reused', user_id}
"""


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int  # seconds the access token is valid
    token_type: str = "Bearer"  # noqa: S105 - the scheme's name
    user_id: str = ""  # whose session


def session_key(session_id: str) -> str:
    return f"session:{session_id}"


def previous_refresh_key(session_id: str) -> str:
    return f"session:{session_id}:previous"


def user_sessions_key(user_id: str) -> str:
    return f"user:{user_id}:sessions"


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_refresh_secret() -> tuple[str, str]:
    """A fresh refresh secret and its hash."""
    secret = secrets.token_urlsafe(32)
    return secret, secret_hash(secret)


def refresh_token_parse(refresh_token: str) -> tuple[str, str]:
    """`(session id, secret)` of a well-formed refresh token; 401 otherwise."""
    session_id, _, secret = refresh_token.strip().partition(".")
    if not SESSION_ID.fullmatch(session_id) or len(secret) < 32:
        raise ApiError("refresh_token_invalid", status=401)
    return session_id, secret


def session_start(*, user: User, ip: str, user_agent: str) -> TokenPair:
    """Open a session for `user` (already authenticated) and issue its first token pair."""
    session_id = uuid.uuid4().hex
    secret, refresh_hash = new_refresh_secret()
    now = int(time.time())
    expires = now + config.refresh_ttl
    user_key = user_sessions_key(str(user.pk))
    access_token, expires_in = access_token_issue(user=user, session_id=session_id)
    tx = get_kv().multi()
    tx.hset(
        session_key(session_id),
        values={
            "user_id": str(user.pk),
            "refresh_hash": refresh_hash,
            "created_at": now,
            "expires": expires,
            "ip": ip[:64],
            "user_agent": user_agent[:MAX_USER_AGENT],
        },
    )
    tx.expire(session_key(session_id), config.refresh_ttl)
    tx.zadd(user_key, {session_id: expires})
    tx.zremrangebyscore(user_key, "-inf", now)
    # Sessions never outlive REFRESH_TTL, so neither does the index of the newest one.
    tx.expire(user_key, config.refresh_ttl)
    tx.exec()
    return TokenPair(access_token, f"{session_id}.{secret}", expires_in, user_id=str(user.pk))


def session_refresh(*, refresh_token: str) -> TokenPair:
    """Rotate a refresh token: a new pair for the current one; 401 for an unknown or
    replayed one (the replay also ends the session); 409 when the token was rotated a
    moment ago by a concurrent request of the same client."""
    session_id, secret = refresh_token_parse(refresh_token)
    new_secret, new_hash = new_refresh_secret()
    reply = get_kv().eval(
        ROTATE_SCRIPT,
        keys=[session_key(session_id), previous_refresh_key(session_id)],
        args=[secret_hash(secret), new_hash, str(ROTATION_GRACE_MS), str(int(time.time()))],
    )
    outcome = reply[0]
    if outcome == "in_progress":
        raise ApiError("refresh_in_progress", status=409)
    if outcome == "reused":
        logger.warning("refresh token reused; session %s ended", session_id)
        get_kv().zrem(user_sessions_key(reply[1]), session_id)
        raise ApiError("refresh_token_reused", status=401)
    if outcome != "rotated":
        raise ApiError("refresh_token_invalid", status=401)
    user = User.objects.filter(pk=reply[1], is_active=True).first()
    if user is None:  # deleted or disabled since sign-in
        session_end(session_id=session_id)
        raise ApiError("refresh_token_invalid", status=401)
    access_token, expires_in = access_token_issue(user=user, session_id=session_id)
    return TokenPair(access_token, f"{session_id}.{new_secret}", expires_in, user_id=str(user.pk))


def session_end(*, session_id: str) -> bool:
    """Sign a session out; its access and refresh tokens stop working at once."""
    kv = get_kv()
    pipe = kv.pipeline()
    pipe.hget(session_key(session_id), "user_id")
    pipe.delete(session_key(session_id), previous_refresh_key(session_id))
    user_id, deleted = pipe.exec()
    if user_id:
        kv.zrem(user_sessions_key(user_id), session_id)
    return bool(deleted)


def sessions_end_all(*, user_id: str, keep_session_id: str | None = None) -> int:
    """End every session of a user (but `keep_session_id`); returns how many were alive."""
    kv = get_kv()
    user_key = user_sessions_key(str(user_id))
    session_ids = [sid for sid in kv.zrange(user_key, 0, -1) if sid != keep_session_id]
    if not session_ids:
        return 0
    tx = kv.multi()
    tx.delete(*[session_key(sid) for sid in session_ids])
    tx.delete(*[previous_refresh_key(sid) for sid in session_ids])
    tx.zrem(user_key, *session_ids)
    ended, _, _ = tx.exec()
    return int(ended)
