"""Cron jobs: authorised with `CRON_SECRET`, single-flight through a KV lock."""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.http import HttpRequest

from lib.conf import config
from lib.errors import ApiError
from lib.kv import get_kv


def cron_authorized(request: HttpRequest) -> bool:
    """Vercel sends `Authorization: Bearer <CRON_SECRET>`; no secret configured, no entry."""
    if not config.cron_secret:
        return False
    supplied = request.headers.get("Authorization", "")
    return hmac.compare_digest(supplied.encode(), f"Bearer {config.cron_secret}".encode())


@contextmanager
def cron_lock(job: str, *, ttl_seconds: int) -> Iterator[bool]:
    """Yield True to the one run holding the lock; overlapping or duplicate runs get False."""
    key = f"cron:lock:{job}"
    token = uuid.uuid4().hex
    kv = get_kv()
    acquired = bool(kv.set(key, token, nx=True, ex=ttl_seconds))
    try:
        yield acquired
    finally:
        if acquired:
            # Release only our own lock (it may have expired and been taken by another run).
            kv.eval(
                "if redis.call('get', KEYS[1]) == ARGV[1] then "
                "return redis.call('del', KEYS[1]) else return 0 end",
                keys=[key],
                args=[token],
            )


def run_cron_job(
    request: HttpRequest, job: str, work: Callable[[], dict], *, ttl_seconds: int
) -> dict:
    if not cron_authorized(request):
        raise ApiError("unauthenticated", status=401)
    with cron_lock(job, ttl_seconds=ttl_seconds) as acquired:
        if not acquired:
            return {"job": job, "ran": False, "reason": "already running"}
        return {"job": job, "ran": True, **work()}
