"""The key-value store every function uses: Redis over the Upstash REST API.

`get_kv()` returns one `upstash_redis.Redis` per process (safe to share between threads). With no
`UPSTASH_REDIS_REST_URL` (local development, tests) the process starts one embedded Upstash-
compatible bridge, over `REDIS_URL` when set, else over an in-memory store.
"""

from __future__ import annotations

import secrets
import threading
import time
from typing import Any

import httpx
from upstash_redis import Redis

from lib.conf import config

_lock = threading.Lock()
_client: Redis | None = None
_bridge: Any = None  # keeps the local bridge referenced for the life of the process


def _local_endpoint() -> tuple[str, str]:
    global _bridge
    token = secrets.token_urlsafe(24)
    try:
        from devtools.upstash_bridge import start_bridge

        _bridge = start_bridge(redis_url=config.redis_url or None, token=token)
    except ImportError as exc:
        raise RuntimeError(
            "No Redis configured: set UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN "
            f"(the local bridge is unavailable: {exc})"
        ) from exc
    return _bridge.url, token


def get_kv() -> Redis:
    """The process-wide Upstash Redis client, created on first use."""
    global _client
    if _client is None:
        with _lock:
            if _client is None:
                url, token = config.upstash_url, config.upstash_token
                if not url:
                    url, token = _local_endpoint()
                elif not token:
                    raise RuntimeError(
                        "UPSTASH_REDIS_REST_URL is set but UPSTASH_REDIS_REST_TOKEN is not"
                    )
                client = Redis(
                    url,
                    token,
                    rest_encoding="base64",
                    rest_retries=1,
                    rest_retry_interval=0.05,
                )
                # upstash-redis builds its httpx client with no timeout and has no option
                # for one: a hung endpoint would hang every request. Bound it.
                client._http._client.timeout = httpx.Timeout(config.kv_timeout)
                _client = client
    return _client


def local_bridge() -> Any:
    """The embedded Upstash bridge this process started (a `devtools.upstash_bridge.BridgeServer`,
    whose `request_count` counts KV round trips), or None when talking to Upstash itself."""
    get_kv()
    return _bridge


def kv_ping() -> float:
    """Round-trip latency of a PING in milliseconds; raises if the store does not answer PONG."""
    started = time.perf_counter()
    reply = get_kv().ping()
    elapsed_ms = (time.perf_counter() - started) * 1000
    if reply != "PONG":
        raise RuntimeError(f"unexpected PING reply from the key-value store: {reply!r}")
    return elapsed_ms
