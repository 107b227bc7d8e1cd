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
