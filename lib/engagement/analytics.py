"""Product analytics: views, cart adds and purchases per product (`product_analytics`).

Recording is one KV command, `HINCRBY analytics:pending:{event} {product_id} n`, so it can
ride along in a request's pipeline. `analytics_flush` (run by a cron) moves the pending
counts into MongoDB in three steps:

1. claim: a Lua script renames each pending hash to a batch of its own
   (`analytics:batch:{id}:{event}`, the id a KV sequence number `n` and a random suffix) and
   registers the batch in `analytics:batches`. Counts recorded afterwards start a fresh
   pending hash, so two flushes never take the same count, and nothing recorded between a
   read and a clear is lost.
2. apply: one guarded `$inc` per product, so that a product takes each batch once: its
   document remembers the batch's id in slot `n % APPLIED_SLOTS` of `applied_batches`.
3. forget: delete the batch's hashes and unregister it.

A flush that dies between claim and forget leaves its batch registered; the first flush that
starts `STALE_AFTER_SECONDS` later re-claims it, and the guard skips the products it had
already reached. (A slot is reused after `APPLIED_SLOTS` batches, far more than run in that
window.)
"""

from __future__ import annotations

import secrets
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Literal

from django.utils import timezone
from pymongo import UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from lib.engagement.store import analytics_collection
from lib.kv import get_kv

AnalyticsEvent = Literal["view", "cart_add", "purchase"]
# event -> its counter in `product_analytics`
EVENT_FIELDS: dict[str, str] = {"view": "views", "cart_add": "cart_adds", "purchase": "purchases"}
BATCHES = "analytics:batches"
BATCH_SEQUENCE = "analytics:batch_seq"
APPLIED_SLOTS = 64
# Longer than a cron function may run (maxDuration 300 s): a batch this old was abandoned.
STALE_AFTER_SECONDS = 900
DUPLICATE_KEY = 11000

# KEYS: the batch registry, then (pending hash, batch hash) per event.
# ARGV: the new batch id, now, the claim time before which a registered batch is abandoned.
# Returns the ids of the batches this caller now owns: abandoned ones, then its own.
CLAIM_SCRIPT = """
local claimed = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
for _, id in ipairs(claimed) do
  redis.call('ZADD', KEYS[1], ARGV[2], id)
end
local moved = false
for i = 2, #KEYS, 2 do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('RENAME', KEYS[i], KEYS[i + 1])
    moved = true
  end
end
if moved then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
  table.insert(claimed, ARGV[1])
end
return claimed
"""


def pending_key(event: str) -> str:
    return f"analytics:pending:{event}"


def batch_key(batch_id: str, event: str) -> str:
    return f"analytics:batch:{batch_id}:{event}"


def analytics_record(
    *, product_id: str, event: AnalyticsEvent, count: int = 1, kv: Any = None
) -> None:
    """Count `count` events for the product. Pass a KV pipeline as `kv` to send the
    increment together with other commands (one round trip); by default it is sent alone."""
    if event not in EVENT_FIELDS:
        raise ValueError(f"unknown analytics event {event!r}")
    if count > 0:
        (kv or get_kv()).hincrby(pending_key(event), str(product_id), count)


@dataclass(slots=True)
class AnalyticsFlush:
    batches: int = 0
    products: int = 0
    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(EVENT_FIELDS.values(), 0))


def analytics_flush() -> AnalyticsFlush:
    """Move every pending count into `product_analytics`, exactly once."""
    kv = get_kv()
    batch_id = f"{kv.incr(BATCH_SEQUENCE)}-{secrets.token_hex(4)}"
    now = time.time()
    keys = [BATCHES]
    for event in EVENT_FIELDS:
        keys += [pending_key(event), batch_key(batch_id, event)]
    claimed = kv.eval(
        CLAIM_SCRIPT, keys=keys, args=[batch_id, str(now), str(now - STALE_AFTER_SECONDS)]
    )
    result = AnalyticsFlush()
    if not claimed:
        return result
    counts = batches_read(claimed)
    for claimed_id in claimed:
        batch = counts[claimed_id]
        batch_apply(batch_id=claimed_id, counts=batch)
        result.products += len(batch)
        for fields in batch.values():
            for name, n in fields.items():
                result.totals[name] += n
    forget = kv.pipeline()
    for claimed_id in claimed:
        forget.delete(*(batch_key(claimed_id, event) for event in EVENT_FIELDS))
    forget.zrem(BATCHES, *claimed)
    forget.exec()
    result.batches = len(claimed)
    return result


def batches_read(batch_ids: list[str]) -> dict[str, dict[str, dict[str, int]]]:
    """batch id -> product id -> counter -> count, read in one round trip."""
    pipeline = get_kv().pipeline()
    for batch_id in batch_ids:
        for event in EVENT_FIELDS:
            pipeline.hgetall(batch_key(batch_id, event))
    replies = iter(pipeline.exec())
    counts: dict[str, dict[str, dict[str, int]]] = {}
    for batch_id in batch_ids:
        products: dict[str, dict[str, int]] = defaultdict(dict)
        for counter in EVENT_FIELDS.values():
            for product_id, n in (next(replies) or {}).items():
                if int(n) > 0:
                    products[product_id][counter] = int(n)
        counts[batch_id] = dict(products)
    return counts


def batch_apply(*, batch_id: str, counts: dict[str, dict[str, int]]) -> None:
    """Add one batch's counts to the products' documents, once per product: two MongoDB
    round trips (the documents are created first, so the guarded update never upserts)."""
    if not counts:
        return
    analytics = analytics_collection()
    documents_ensure(analytics, list(counts))
    slot = f"applied_batches.{batch_slot(batch_id)}"
    now = timezone.now()
    analytics.bulk_write(
        [
            UpdateOne(
                {"product_id": product_id, slot: {"$ne": batch_id}},
                {"$inc": fields, "$set": {slot: batch_id, "last_updated": now}},
            )
            for product_id, fields in counts.items()
        ],
        ordered=False,
    )


def documents_ensure(analytics: Any, product_ids: list[str], attempts: int = 3) -> None:
    """Create the products' documents that do not exist yet. Adding zero is idempotent, so
    when a concurrent flush creates one first (a duplicate key) the whole step is repeated."""
    zero = dict.fromkeys(EVENT_FIELDS.values(), 0)
    ops = [UpdateOne({"product_id": pid}, {"$inc": zero}, upsert=True) for pid in product_ids]
    for attempt in range(attempts):
        try:
            analytics.bulk_write(ops, ordered=False)
            return
        except (DuplicateKeyError, BulkWriteError) as exc:
            errors = exc.details.get("writeErrors", [exc.details]) if exc.details else []
            if attempt == attempts - 1 or any(e.get("code") != DUPLICATE_KEY for e in errors):
                raise


def batch_slot(batch_id: str) -> int:
    """Batch ids read `<sequence>-<random>`: consecutive batches use different slots, and
    a restarted sequence can never pass for an earlier batch."""
    return int(batch_id.split("-", 1)[0]) % APPLIED_SLOTS


@dataclass(frozen=True, slots=True)
class ProductAnalytics:
    product_id: str
    views: int = 0
    cart_adds: int = 0
    purchases: int = 0
    last_updated: Any = None


def product_analytics_get(*, product_ids: list[str]) -> dict[str, ProductAnalytics]:
    """The flushed counters of these products (products never counted are absent)."""
    if not product_ids:
        return {}
    docs = analytics_collection().find({"product_id": {"$in": [str(pid) for pid in product_ids]}})
    return {
        doc["product_id"]: ProductAnalytics(
            product_id=doc["product_id"],
            views=doc.get("views", 0),
            cart_adds=doc.get("cart_adds", 0),
            purchases=doc.get("purchases", 0),
            last_updated=doc.get("last_updated"),
        )
        for doc in docs
    }
