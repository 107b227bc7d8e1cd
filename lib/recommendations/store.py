"""Where computed recommendations live in the KV store, one generation at a time.

A run writes a new generation under its own keys, then flips one pointer:

- `reco:version`: the generation being served;
- `reco:{generation}:product`: hash, product id -> JSON `{"fbt": [[id, score], ...],
  "similar": [[id, score], ...], "blend": [[id, score, reason], ...]}`;
- `reco:{generation}:popular`: JSON `[[id, score], ...]`, the whole store;
- `reco:{generation}:popular:category`: hash, category id -> the same, for the category and
  its descendants.

A generation being written carries a one-day expiry (a run that dies leaves nothing behind
for long) and is never read: readers follow the pointer. Flipping it makes the new keys
permanent and gives the replaced generation a few minutes to live, for requests already
reading it. Readers remember the generation they last saw and send the pointer and the
reads of that generation in ONE pipeline; only after a flip do they need a second trip.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lib.kv import get_kv

VERSION_KEY = "reco:version"
ENGAGEMENT_KEY = "reco:engagement"  # product id -> "views,cart_adds,decayed score"
ENGAGEMENT_NEXT_KEY = "reco:engagement:next"
ENGAGEMENT_AT_KEY = "reco:engagement:at"
PENDING_TTL = 24 * 3600
RETIRED_TTL = 600
BATCH = 200  # hash fields per command: ~1 KB each, well under a request's size limit

Command = tuple[Any, ...]  # (pipeline method name, *arguments)


@dataclass(frozen=True, slots=True)
class GenerationKeys:
    generation: str

    @property
    def product(self) -> str:
        return f"reco:{self.generation}:product"

    @property
    def popular(self) -> str:
        return f"reco:{self.generation}:popular"

    @property
    def category(self) -> str:
        return f"reco:{self.generation}:popular:category"

    def all(self) -> tuple[str, str, str]:
        return (self.product, self.popular, self.category)


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def generation_new(now: datetime) -> str:
    """Sortable and unique: `20260105T031500-9f2c`."""
    return f"{now:%Y%m%dT%H%M%S}-{secrets.token_hex(2)}"


def batched(pairs: Sequence[tuple[str, Any]], size: int = BATCH) -> Iterable[dict[str, str]]:
    for start in range(0, len(pairs), size):
        yield {key: dumps(value) for key, value in pairs[start : start + size]}


def reco_generation_write(
    *,
    generation: str,
    products: dict[str, dict],
    popular: list,
    by_category: dict[str, list],
) -> None:
    """Store a generation without serving it (see `reco_generation_activate`)."""
    keys = GenerationKeys(generation)
    kv = get_kv()
    pipe = kv.pipeline()
    pipe.set(keys.popular, dumps(popular), ex=PENDING_TTL)
    for values in batched(list(by_category.items())):
        pipe.hset(keys.category, values=values)
    pipe.expire(keys.category, PENDING_TTL)
    pipe.exec()
    for values in batched(list(products.items())):
        pipe = kv.pipeline()
        pipe.hset(keys.product, values=values)
        pipe.expire(keys.product, PENDING_TTL)
        pipe.exec()


def reco_generation_activate(*, generation: str) -> str | None:
    """Serve `generation` from now on; returns the generation it replaced."""
    kv = get_kv()
    previous = kv.set(VERSION_KEY, generation, get=True)
    pipe = kv.pipeline()
    for key in GenerationKeys(generation).all():
        pipe.persist(key)
    if previous and previous != generation:
        for key in GenerationKeys(previous).all():
            pipe.expire(key, RETIRED_TTL)
    pipe.exec()
    return previous


# --- reads ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Read:
    generation: str | None  # None: no run has finished yet
    first: list[Any]  # replies to the commands that do not depend on the generation
    replies: list[Any]  # replies to the generation's commands


_seen: str | None = None  # the generation this process last found behind the pointer


def queue(pipe: Any, commands: Iterable[Command]) -> None:
    for name, *args in commands:
        getattr(pipe, name)(*args)


def reco_read(
    build: Callable[[GenerationKeys], list[Command]], *, first: Sequence[Command] = ()
) -> Read:
    """Run `first` and `build(keys of the served generation)` in one round trip (two when
    the generation changed since this process last read)."""
    global _seen
    kv = get_kv()
    guess = _seen
    pipe = kv.pipeline()
    queue(pipe, first)
    pipe.get(VERSION_KEY)
    if guess is not None:
        queue(pipe, build(GenerationKeys(guess)))
    replies = pipe.exec()
    leading, version, rest = replies[: len(first)], replies[len(first)], replies[len(first) + 1 :]
    if version is None:
        return Read(None, leading, [])
    if version != guess:
        _seen = version
        pipe = kv.pipeline()
        queue(pipe, build(GenerationKeys(version)))
        rest = pipe.exec()
    return Read(version, leading, rest)


def loads(raw: str | None, default: Any) -> Any:
    return json.loads(raw) if raw else default


# --- popularity state ----------------------------------------------------------------


def engagement_state_load() -> tuple[float | None, dict[str, tuple[int, int, float]]]:
    """When popularity was last computed, and per product the analytics totals seen then
    and the decayed engagement score."""
    pipe = get_kv().pipeline()
    pipe.get(ENGAGEMENT_AT_KEY)
    pipe.hgetall(ENGAGEMENT_KEY)
    at, fields = pipe.exec()
    state = {}
    for product_id, raw in (fields or {}).items():
        views, cart_adds, score = raw.split(",")
        state[product_id] = (int(views), int(cart_adds), float(score))
    return (float(at) if at else None), state


def engagement_state_save(*, at: float, state: dict[str, tuple[int, int, float]]) -> None:
    """Replace the state at once: written aside, then renamed over the old one."""
    kv = get_kv()
    kv.delete(ENGAGEMENT_NEXT_KEY)
    rows = [(pid, f"{v},{c},{score:.6g}") for pid, (v, c, score) in state.items()]
    for start in range(0, len(rows), BATCH * 5):
        kv.hset(ENGAGEMENT_NEXT_KEY, values=dict(rows[start : start + BATCH * 5]))
    pipe = kv.pipeline()
    if rows:
        pipe.rename(ENGAGEMENT_NEXT_KEY, ENGAGEMENT_KEY)
    else:
        pipe.delete(ENGAGEMENT_KEY)
    pipe.set(ENGAGEMENT_AT_KEY, repr(at))
    pipe.exec()
