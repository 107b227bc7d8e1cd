"""Carts in Redis: one hash per cart, field = `product_id` or `product_id:variation_id`,
value = quantity.

A signed-in customer's cart is `cart:{user_id}`; a guest's is `cart:guest:{token}`, the token
an opaque random string issued on the first add. A cart is forgotten `CART_TTL_SECONDS` after
its last change (every write restarts the clock). Writes that depend on what is already in
the cart are Lua scripts, so two requests on the same cart cannot overshoot a limit.
"""

from __future__ import annotations

import logging
import re
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from lib.conf import config
from lib.kv import get_kv

TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{20,64}")

# KEYS: the cart. ARGV: field, units to add, the most the line may hold, ttl.
# Returns {1, new quantity} or, when the line would go over the cap, {0, current quantity}.
ADD_SCRIPT = """
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local wanted = current + tonumber(ARGV[2])
if wanted > tonumber(ARGV[3]) then
  return {0, current}
end
redis.call('HSET', KEYS[1], ARGV[1], wanted)
redis.call('EXPIRE', KEYS[1], ARGV[4])
return {1, wanted}
"""

# KEYS: the cart. ARGV: field, quantity, ttl. Sets an existing line; 0 when there is none.
SET_SCRIPT = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""

# KEYS: the guest cart, the user's cart. ARGV: the per-line limit, ttl.
# Adds every guest line into the user's cart (capped), then deletes the guest cart.
MERGE_SCRIPT = """
local guest = redis.call('HGETALL', KEYS[1])
for i = 1, #guest, 2 do
  local current = tonumber(redis.call('HGET', KEYS[2], guest[i]) or '0')
  local merged = math.min(current + tonumber(guest[i + 1]), tonumber(ARGV[1]))
  if merged > current then
    redis.call('HSET', KEYS[2], guest[i], merged)
  end
end
redis.call('DEL', KEYS[1])
if #guest > 0 then
  redis.call('EXPIRE', KEYS[2], ARGV[2])
end
return #guest / 2
"""

logger = logging.getLogger("zest.cart")


@dataclass(frozen=True, slots=True)
class CartLine:
    product_id: str
    variation_id: str | None
    quantity: int

    @property
    def field(self) -> str:
        return line_field(self.product_id, self.variation_id)


def cart_key(*, user_id: str | None, guest_token: str | None) -> str:
    if user_id:
        return f"cart:{user_id}"
    if guest_token:
        return f"cart:guest:{guest_token}"
    raise ValueError("a cart belongs to a user or to a guest token")


def guest_token_new() -> str:
    return secrets.token_urlsafe(24)


def guest_token_valid(token: str) -> bool:
    return bool(TOKEN_PATTERN.fullmatch(token))


def line_field(product_id: str, variation_id: str | None) -> str:
    return f"{product_id}:{variation_id}" if variation_id else str(product_id)


def line_parse(field: str) -> tuple[str, str | None] | None:
    """(product id, variation id or None) of a line's field; None when it is malformed."""
    product_id, _, variation_id = field.partition(":")
    try:
        product_id = str(uuid.UUID(product_id))
        variation_id = str(uuid.UUID(variation_id)) if variation_id else None
    except ValueError:
        return None
    return product_id, variation_id


def cart_lines(*, key: str) -> list[CartLine]:
    """The cart's lines (one HGETALL), in a stable order; malformed fields are skipped."""
    lines = []
    for field, raw in (get_kv().hgetall(key) or {}).items():
        parsed = line_parse(field)
        try:
            quantity = int(raw)
        except (TypeError, ValueError):
            continue
        if parsed is None or quantity < 1:
            continue
        lines.append(CartLine(product_id=parsed[0], variation_id=parsed[1], quantity=quantity))
    return sorted(lines, key=lambda line: line.field)


def cart_clear(*, key: str) -> None:
    get_kv().delete(key)


def cart_line_add(*, key: str, field: str, quantity: int, cap: int) -> tuple[bool, int]:
    """Add `quantity` units to the line unless it would hold more than `cap`:
    (added, the line's quantity after, or before when refused)."""
    added, after = get_kv().eval(
        ADD_SCRIPT, keys=[key], args=[field, str(quantity), str(cap), str(config.cart_ttl_seconds)]
    )
    return bool(int(added)), int(after)


def cart_line_set(*, key: str, field: str, quantity: int) -> bool:
    """Set an existing line's quantity; False when the cart has no such line."""
    done = get_kv().eval(
        SET_SCRIPT, keys=[key], args=[field, str(quantity), str(config.cart_ttl_seconds)]
    )
    return bool(int(done))


def cart_line_remove(*, key: str, field: str) -> bool:
    """Remove a line (False when there was none); the cart's clock restarts."""
    pipeline = get_kv().pipeline()
    pipeline.hdel(key, field)
    pipeline.expire(key, config.cart_ttl_seconds)
    removed, _ = pipeline.exec()
    return bool(int(removed))


def cart_merge(*, guest_token: str, user_id: str) -> None:
    """Move a guest's cart into the user's (quantities added, capped by the per-line limit),
    atomically; the guest cart is deleted. Stock is checked when the cart is viewed.
    Best effort: it runs right after a sign-in, which must not fail because of it."""
    if not guest_token_valid(guest_token):
        return
    with log_failure("cart merge"):
        get_kv().eval(
            MERGE_SCRIPT,
            keys=[
                cart_key(user_id=None, guest_token=guest_token),
                cart_key(user_id=user_id, guest_token=None),
            ],
            args=[str(config.cart_max_qty_per_line), str(config.cart_ttl_seconds)],
        )


@contextmanager
def log_failure(action: str) -> Iterator[None]:
    try:
        yield
    except Exception:  # the KV store is down or answered an error: the guest cart stays
        logger.warning("%s failed", action, exc_info=True)
