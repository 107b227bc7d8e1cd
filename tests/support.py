"""Calling a function's WSGI `app` the way Vercel's runtime does, without a network hop."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import types
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from wsgiref.util import setup_testing_defaults

from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from django.test import Client

from lib.conf import REPO_ROOT

ADMIN_SITE_URLS = "zest_test_admin_site_urls"


@dataclass
class WsgiResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    app,
    method: str,
    url: str,
    *,
    body: bytes | str | None = None,
    json_body: Any = None,
    headers: dict[str, str] | None = None,
    isolated: bool = False,
) -> WsgiResponse:
    """Call `app` once. `isolated=True` runs it exactly as in production (Django closes or
    returns the thread's connection after the response); by default the caller's connection
    and transaction are kept, like Django's test client does."""
    parts = urlsplit(url)
    if json_body is not None:
        body = json.dumps(json_body)
    raw = body.encode() if isinstance(body, str) else (body or b"")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": parts.path,
        "QUERY_STRING": parts.query,
        "wsgi.input": io.BytesIO(raw),
        "CONTENT_LENGTH": str(len(raw)),
        "CONTENT_TYPE": "application/json" if raw else "",
    }
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = value
    setup_testing_defaults(environ)
    captured: dict[str, Any] = {}

    def start_response(status: str, response_headers: list, exc_info=None) -> None:
        captured["status"] = int(status.split()[0])
        captured["headers"] = {name.lower(): value for name, value in response_headers}

    if isolated:
        return collect(app(environ, start_response), captured)
    with connection_kept_open():
        return collect(app(environ, start_response), captured)


def statuses_in_parallel(
    app, method: str, url: str, senders: list[dict[str, str]], *, json_body: Any = None
) -> list[int]:
    """Sorted statuses of one isolated call per entry of `senders` (its headers), all sent at
    once from their own threads, each closing its thread's connection."""

    def send(headers: dict[str, str]) -> int:
        try:
            return call(
                app, method, url, json_body=json_body, headers=headers, isolated=True
            ).status
        finally:
            connection.close()

    with ThreadPoolExecutor(len(senders)) as pool:
        return sorted(pool.map(send, senders))


def multipart(
    data: bytes, *, filename: str = "photo.png", content_type: str = "image/png", **fields
) -> tuple[bytes, str]:
    """A multipart/form-data body with `fields` and one `file` part: (body, content type)."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def settings_form(**changes: Any) -> dict[str, Any]:
    """The admin's change form of the store settings row, as posted, with `changes`: True
    ticks a checkbox, False clears it, a file is posted as is, anything else as text."""
    from db.models import StoreSettings

    row, _ = StoreSettings.objects.get_or_create(pk=1)
    data: dict[str, Any] = {}
    for field in StoreSettings._meta.fields:
        if not field.editable or field.name == "updated_at":
            continue
        value = field.value_from_object(row)
        if isinstance(value, bool):
            if value:
                data[field.name] = "on"
            continue
        data[field.name] = "" if value is None else str(value)
    for name, value in changes.items():
        if value is False:
            data.pop(name, None)
        elif value is True:
            data[name] = "on"
        else:
            data[name] = value if hasattr(value, "read") else str(value)
    return data


def admin_site_client(settings) -> Client:
    """A test client signed in as an admin (owner@zest.test), with `settings` (pytest-django's
    fixture) routing to the admin site through the admin's middleware."""
    from django.conf import settings as configured
    from django.contrib import admin
    from django.urls import path

    from db.models import User, UserRole

    urls = sys.modules.get(ADMIN_SITE_URLS)
    if urls is None:
        urls = types.ModuleType(ADMIN_SITE_URLS)
        urls.urlpatterns = [path("admin/", admin.site.urls)]
        sys.modules[ADMIN_SITE_URLS] = urls
    settings.ROOT_URLCONF = ADMIN_SITE_URLS
    settings.MIDDLEWARE = configured.ADMIN_MIDDLEWARE
    user = User.objects.create_user(
        email="owner@zest.test", password=None, role=UserRole.ADMIN, is_staff=True
    )
    client = Client()
    client.force_login(user)
    return client


@contextmanager
def connection_kept_open() -> Iterator[None]:
    """Like Django's test client: the request does not close the test's connection (and so
    its transaction). Not for concurrent callers: signals are process-wide."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def collect(chunks: Iterable[bytes], captured: dict[str, Any]) -> WsgiResponse:
    try:
        content = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()  # fires request_finished, as a WSGI server would
    return WsgiResponse(captured["status"], captured["headers"], content)


def run_python(
    script: str, *, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess:
    """Run `script` in a fresh interpreter at the repository root: a cold start with its own
    configuration, as a new function instance would have."""
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def database_url_of_this_test_run() -> str:
    """A URL of the database this test run uses, for a fresh process to share it."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
