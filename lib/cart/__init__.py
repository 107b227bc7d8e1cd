"""Shopping carts in Redis (signed-in customers' and guests'); see `lib.cart.store`."""

from lib.cart.store import CartLine, cart_clear, cart_key, cart_lines, cart_merge

__all__ = ["CartLine", "cart_clear", "cart_key", "cart_lines", "cart_merge"]
