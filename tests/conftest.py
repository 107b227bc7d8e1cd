"""Shared fixtures: real services underneath, cleaned between tests."""

from __future__ import annotations

import pytest

from lib.documents import get_documents_db
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
    """The app's MongoDB database, empty for each test."""
    db = get_documents_db()
    for name in db.list_collection_names():
        db.drop_collection(name)
    yield db
    for name in db.list_collection_names():
        db.drop_collection(name)
