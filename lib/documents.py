"""Documents (reviews, activity, analytics) in MongoDB through pymongo.

One client per process, created on first use and shared by all threads (pymongo clients
are thread-safe and connect lazily). With no `MONGODB_URI` the embedded pymongo-compatible
store of the dev tooling is used, so local development needs no account.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from lib.conf import config

_lock = threading.Lock()
_client: Any = None


def get_mongo_client() -> Any:
    global _client
    if _client is None:
        with _lock:
            if _client is None:
                _client = create_client()
    return _client


def create_client() -> Any:
    if not config.mongodb_uri:
        try:
            import mongomock
        except ImportError as exc:  # deployed without dev extras
            raise RuntimeError("MONGODB_URI must be set (no embedded document store)") from exc
        return mongomock.MongoClient(tz_aware=True)
    from pymongo import MongoClient

    return MongoClient(
        config.mongodb_uri,
        appname="zest-store",
        tz_aware=True,
        maxPoolSize=10,
        serverSelectionTimeoutMS=config.mongodb_timeout_ms,
        connectTimeoutMS=config.mongodb_timeout_ms,
    )


def get_documents_db() -> Any:
    """The application's database (`MONGODB_DB`)."""
    return get_mongo_client()[config.mongodb_db]


def mongo_ping() -> float:
    """Round-trip latency to the document store in milliseconds (raises when down)."""
    started = time.perf_counter()
    get_mongo_client().admin.command("ping")
    return (time.perf_counter() - started) * 1000
