"""Pytest plugin (`-p devtools.pytest_services`): point the app at test services.

Loaded before Django settings are read, so configuration, not code, decides which services
the code under test talks to: PostgreSQL/Redis/MongoDB from the environment `.ci/run`
exports (embedded stand-ins when unset), and the real Vercel Blob SDK against the local
Blob API emulator, started here for the whole session.
"""

from __future__ import annotations

import atexit
import os
import tempfile

os.environ.setdefault("ZEST_DATA_DIR", tempfile.mkdtemp(prefix="zest-test-"))
os.environ.setdefault("MONGODB_DB", "zest_test")
os.environ.setdefault("CRON_SECRET", "test-cron-secret")

if not os.environ.get("BLOB_READ_WRITE_TOKEN"):
    from devtools.blob_emulator import start_blob_emulator

    _token = "vercel_blob_rw_teststore_0123456789abcdef"  # noqa: S105 - local emulator only
    _blob = start_blob_emulator(token=_token)
    atexit.register(_blob.stop)
    os.environ["BLOB_READ_WRITE_TOKEN"] = _token
    os.environ["VERCEL_BLOB_API_URL"] = _blob.url
