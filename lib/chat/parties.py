"""Who is on the customer side of a conversation: a signed-in user, or a guest known by the
token issued when the conversation was opened (only its SHA-256 is stored, so a leaked
database does not hand out conversations)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q

from lib.cart.store import guest_token_new, guest_token_valid
from lib.errors import ApiError

CHAT_TOKEN = "X-Chat-Token"  # noqa: S105 - a header name


def guest_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ChatParty:
    """The customer side: exactly one of `user_id` and `guest_hash` is set."""

    user_id: str | None = None
    guest_hash: str | None = None

    @property
    def owner_key(self) -> str:
        """Names the owner in the KV poll state: `u:<user id>` or `g:<token hash>`."""
        return f"u:{self.user_id}" if self.user_id else f"g:{self.guest_hash}"

    @property
    def sender_kind(self) -> str:
        return "customer" if self.user_id else "guest"

    def conversations(self) -> Q:
        """The conversations this party may read (a filter)."""
        if self.user_id:
            return Q(user_id=self.user_id)
        return Q(user__isnull=True, guest_token_hash=self.guest_hash)


def party_of(*, user_id: str | None, guest_token: str | None) -> ChatParty:
    """The signed-in user, else the guest token's holder; 400 `chat_token_invalid` for a token
    of the wrong shape, 401 when there is neither."""
    if user_id:
        return ChatParty(user_id=str(user_id))
    token = (guest_token or "").strip()
    if not token:
        raise ApiError("unauthenticated", status=401, fields={CHAT_TOKEN: []})
    if not guest_token_valid(token):
        raise ApiError("chat_token_invalid", status=400, fields={CHAT_TOKEN: []})
    return ChatParty(guest_hash=guest_token_hash(token))


def chat_guest_token_new(idempotency_key: str = "") -> str:
    """A new guest token: the same opaque shape as a guest cart's. A first open sent with an
    `Idempotency-Key` gets a token derived from it (HMAC with the server's secret), so its
    retry answers the same token: the key is as secret as the token it stands for."""
    if not idempotency_key:
        return guest_token_new()
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"chat-guest:{idempotency_key}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:32]
