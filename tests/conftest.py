"""Shared fixtures: real services underneath, cleaned between tests."""

from __future__ import annotations

import uuid

import pytest

from lib.documents import get_documents_db, get_mongo_client
from lib.kv import get_kv


@pytest.fixture
def kv():
    """The app's Upstash client over the test Redis database, empty for each test."""
    client = get_kv()
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture
def documents():
    """A fresh database on the app's MongoDB client for each test.

    The wire-protocol test server implements neither `dropDatabase` nor `listCollections`,
    so isolation comes from a new database name rather than from cleaning up.
    """
    return get_mongo_client()[f"{get_documents_db().name}_{uuid.uuid4().hex[:12]}"]


@pytest.fixture
def server_key(kv) -> dict[str, str]:
    """Headers of a secret API key holding every scope: a trusted server-side caller.
    Needs a `django_db` mark on the test (the key is a database row). Its record is already
    in the KV cache, as on a warm function, so query counts show the steady state."""
    from lib.access.api_key_cache import api_key_record_fill
    from lib.access.api_keys import SCOPES, api_key_create

    key, secret = api_key_create(name="test server", kind="secret", scopes=list(SCOPES))
    api_key_record_fill(key_id=key.key_id)
    return {"X-API-Key": key.key_id, "X-API-Secret": secret}
