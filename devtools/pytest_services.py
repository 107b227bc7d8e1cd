"""Pytest plugin (`-p devtools.pytest_services`): point the app at test services.

Loaded before Django settings are read, so configuration, not code, decides which services
the code under test talks to: PostgreSQL/Redis/MongoDB from the environment `.ci/run`
exports (embedded stand-ins when unset), and the real Vercel Blob SDK against the local
Blob API emulator, started here for the whole session.

Under pytest-xdist (`-n 2`) each worker gets services of its own, so tests that empty a store
never empty another worker's: the Redis database `REDIS_URL` names plus the worker's number
(gw0 -> +0, gw1 -> +1, ...), a MongoDB database and a data directory suffixed with the worker
id, and a Blob emulator of its own. pytest-django already gives each worker its own
PostgreSQL test database (`test_<name>_gw0`, ...).
"""

from __future__ import annotations

import atexit
import os
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REDIS_DATABASES = 16  # Redis' default `databases`
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1", ... in xdist workers


def worker_index(worker: str) -> int:
    return int(worker.removeprefix("gw")) if worker.startswith("gw") else 0


def redis_url_for_worker(url: str, index: int) -> str:
    """`redis://host:6379/1` for worker 2 -> `redis://host:6379/3`."""
    parts = urlsplit(url)
    database = int(parts.path.strip("/") or 0) + index
    if database >= REDIS_DATABASES:
        raise RuntimeError(
            f"REDIS_URL {url} leaves no Redis database for xdist worker {index} "
            f"(databases 0-{REDIS_DATABASES - 1}): use a lower database or fewer workers"
        )
    return urlunsplit(parts._replace(path=f"/{database}"))


def isolate_worker(worker: str) -> None:
    """Give this xdist worker its own Redis database, MongoDB database and data directory."""
    if not worker:
        return
    if os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"] = redis_url_for_worker(
            os.environ["REDIS_URL"], worker_index(worker)
        )
    os.environ["MONGODB_DB"] = f"{os.environ.get('MONGODB_DB') or 'zest_test'}_{worker}"
    if os.environ.get("ZEST_DATA_DIR"):
        data_dir = Path(os.environ["ZEST_DATA_DIR"]) / worker
        data_dir.mkdir(parents=True, exist_ok=True)
        os.environ["ZEST_DATA_DIR"] = str(data_dir)


isolate_worker(WORKER)
os.environ.setdefault("ZEST_DATA_DIR", tempfile.mkdtemp(prefix=f"zest-test-{WORKER or 'main'}-"))
os.environ.setdefault("MONGODB_DB", "zest_test")
os.environ.setdefault("CRON_SECRET", "test-cron-secret")

# The emulator this plugin started in the xdist controller is inherited through the
# environment: a worker starts its own instead (a developer's own Blob settings are kept).
EMULATOR_MARK = "ZEST_TEST_BLOB_EMULATOR_URL"
_emulator = os.environ.get(EMULATOR_MARK)
_inherited = bool(WORKER and _emulator) and os.environ.get("VERCEL_BLOB_API_URL") == _emulator
if not os.environ.get("BLOB_READ_WRITE_TOKEN") or _inherited:
    from devtools.blob_emulator import start_blob_emulator

    _token = "vercel_blob_rw_teststore_0123456789abcdef"  # noqa: S105 - local emulator only
    _blob = start_blob_emulator(token=_token)
    atexit.register(_blob.stop)
    os.environ["BLOB_READ_WRITE_TOKEN"] = _token
    os.environ["VERCEL_BLOB_API_URL"] = _blob.url
    os.environ[EMULATOR_MARK] = _blob.url
