"""Health of each backing service: up or down, with round-trip latency."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass

from django.core.files.storage import default_storage
from django.db import connection

from lib.documents import mongo_ping
from lib.kv import kv_ping

CHECK_TIMEOUT_SECONDS = 3.0


def database_ping() -> float:
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return (time.perf_counter() - started) * 1000
    finally:
        connection.close()  # this runs on a pool thread: hand the connection back


def storage_ping() -> float:
    started = time.perf_counter()
    default_storage.listdir("")
    return (time.perf_counter() - started) * 1000


CHECKS: dict[str, Callable[[], float]] = {
    "database": database_ping,
    "kv": kv_ping,
    "documents": mongo_ping,
    "storage": storage_ping,
}
_executor = ThreadPoolExecutor(max_workers=len(CHECKS), thread_name_prefix="health")


@dataclass(frozen=True, slots=True)
class ServiceHealth:
    up: bool
    latency_ms: float | None
    error: str | None = None


def check_services(timeout: float = CHECK_TIMEOUT_SECONDS) -> dict[str, ServiceHealth]:
    """Run every check concurrently; one that fails or outlasts `timeout` is down."""
    futures = {name: _executor.submit(check) for name, check in CHECKS.items()}
    wait(futures.values(), timeout=timeout)
    report: dict[str, ServiceHealth] = {}
    for name, future in futures.items():
        if not future.done():
            report[name] = ServiceHealth(up=False, latency_ms=None, error="timeout")
        elif future.exception() is not None:
            exc = future.exception()
            report[name] = ServiceHealth(up=False, latency_ms=None, error=type(exc).__name__)
        else:
            report[name] = ServiceHealth(up=True, latency_ms=round(future.result(), 2))
    return report
