"""Every function of vercel.json on one local port, routed the way Vercel routes them.

Requests are resolved by the routing table of vercel.json (see `devtools.vercel_routing`);
whatever it does not route gets the JSON 404 envelope. A function receives the original public
path and query string, plus the rewrite's named parameters in the query string, exactly as on
Vercel. Responses carry `X-Zest-Function: <name>` (dev only) to show which function answered.
"""

from __future__ import annotations

import importlib
import json
import logging
import mimetypes
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from wsgiref.util import FileWrapper

from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

from devtools.vercel_routing import (
    NOT_FOUND,
    PARAM,
    VERCEL_JSON,
    Match,
    Router,
    RouteSyntaxError,
    build_router,
    safe_file,
)
from devtools.wsgi_server import (
    Environ,
    FastBindWSGIServer,
    SilentRequestHandler,
    StartResponse,
    WSGIApp,
    server_url,
    status_line,
)

# The routing names are re-exported for code that imported them from here.
__all__ = [
    "PARAM",
    "VERCEL_JSON",
    "DevApp",
    "DevServer",
    "Match",
    "RouteSyntaxError",
    "build_router",
    "default_access_log",
    "load_apps",
    "serve",
]

logger = logging.getLogger("zest.devserver")
# Vercel's CDN answers 414 URL_TOO_LONG past 14 KB of URL (path and query string).
URL_MAX_BYTES = 14 * 1024


def url_too_long(environ: Environ) -> bool:
    """WSGI strings hold one character per byte (PEP 3333), so lengths are byte counts."""
    url_bytes = len(environ.get("PATH_INFO") or "") + len(environ.get("QUERY_STRING") or "")
    return url_bytes > URL_MAX_BYTES


def load_apps(router: Router) -> dict[str, WSGIApp]:
    """Import each function module once, as Vercel's runtime does at cold start."""
    import lib.runtime  # noqa: F401  (configures Django before any function module)

    apps = {}
    for name in sorted(set(router.functions.values())):
        module = importlib.import_module("api." + name.replace("/", "."))
        app = next(
            (
                getattr(module, attr)
                for attr in ("app", "application", "handler")
                if hasattr(module, attr)
            ),
            None,
        )
        if not callable(app):
            raise RuntimeError(f"api/{name}.py exposes no WSGI `app`")
        apps[name] = app
    return apps


def error_body(code: str, accept_language: str) -> bytes:
    from lib.errors import translate
    from lib.i18n import parse_accept_language

    message = translate(code, parse_accept_language(accept_language))
    body = {"error": {"code": code, "message": message, "fields": {}}}
    return json.dumps(body, ensure_ascii=False).encode()


class _ClosingIterable:
    """Calls `on_close` once the server has sent the body (the access log line)."""

    def __init__(self, body: Iterable[bytes], on_close: Callable[[], None]) -> None:
        self._body = body
        self._on_close = on_close

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body)

    def close(self) -> None:
        try:
            if hasattr(self._body, "close"):
                self._body.close()
        finally:
            self._on_close()


class DevApp:
    """The WSGI app in front of every function."""

    def __init__(
        self,
        router: Router,
        apps: dict[str, WSGIApp],
        media_root: Path,
        access_log: Callable[[str], None] | None,
    ) -> None:
        self.router = router
        self.apps = apps
        self.media_root = media_root
        self.access_log = access_log

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        path = environ.get("PATH_INFO") or "/"
        too_long = url_too_long(environ)
        match = NOT_FOUND if too_long else self.router.resolve(path)
        status = ["500"]

        def recording_start_response(status_line: str, headers: list, exc_info: Any = None) -> Any:
            status[0] = status_line.split(" ", 1)[0]
            present = {name.lower() for name, _ in headers}
            configured = self.router.headers_for(path).items()
            headers = [*headers, *((k, v) for k, v in configured if k.lower() not in present)]
            if match.function:
                headers.append(("X-Zest-Function", match.function))
            return start_response(status_line, headers, exc_info)

        def log() -> None:
            if self.access_log is not None:
                elapsed = (time.perf_counter() - started) * 1000
                target = f" -> {match.function}" if match.function else ""
                self.access_log(
                    f"{environ['REQUEST_METHOD']} {path} {status[0]} {elapsed:.0f}ms{target}"
                )

        try:
            if too_long:
                body = self.error(environ, recording_start_response, 414, "uri_too_long")
            else:
                body = self.respond(match, environ, recording_start_response)
        except Exception:
            logger.exception("the dev server failed on %s", path)
            body = self.error(
                environ, recording_start_response, 500, "internal_error", sys.exc_info()
            )
        return _ClosingIterable(body, log)

    def respond(
        self, match: Match, environ: Environ, start_response: StartResponse
    ) -> Iterable[bytes]:
        if match.kind == "redirect":
            location = match.location or "/"
            query = join_query(urlencode(match.query), environ.get("QUERY_STRING", ""))
            if query:
                location += ("&" if "?" in location else "?") + query
            start_response(
                status_line(match.status or 308), [("Location", location), ("Content-Length", "0")]
            )
            return [b""]
        if match.kind == "function":
            query = join_query(environ.get("QUERY_STRING", ""), urlencode(match.query))
            environ["QUERY_STRING"] = query
            return self.apps[match.function](environ, start_response)
        if match.kind == "static":
            return self.file(environ, start_response, Path(match.location))
        if match.kind == "media":
            file = safe_file(self.media_root, match.location or "")
            if file is not None:
                return self.file(environ, start_response, file)
        return self.error(environ, start_response, 404, "not_found")

    def file(self, environ: Environ, start_response: StartResponse, file: Path) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] not in ("GET", "HEAD"):
            return self.error(environ, start_response, 405, "method_not_allowed", allow="GET, HEAD")
        content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type.endswith(
            ("json", "javascript", "svg+xml")
        ):
            content_type += "; charset=utf-8"
        headers = [
            ("Content-Type", content_type),
            ("Content-Length", str(file.stat().st_size)),
            ("Cache-Control", "public, max-age=0, must-revalidate"),
            ("X-Content-Type-Options", "nosniff"),
        ]
        start_response("200 OK", headers)
        if environ["REQUEST_METHOD"] == "HEAD":
            return [b""]
        wrapper = environ.get("wsgi.file_wrapper", FileWrapper)
        return wrapper(file.open("rb"), 64 * 1024)

    def error(
        self,
        environ: Environ,
        start_response: StartResponse,
        status: int,
        code: str,
        exc_info: Any = None,
        allow: str | None = None,
    ) -> list[bytes]:
        body = error_body(code, environ.get("HTTP_ACCEPT_LANGUAGE", ""))
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        if allow:
            headers.append(("Allow", allow))
        start_response(status_line(status), headers, exc_info)
        return [body]


def join_query(*parts: str) -> str:
    return "&".join(part for part in parts if part)


class _QuietHandler(SilentRequestHandler, WSGIRequestHandler):
    """Django's runserver handler (HTTP/1.1 keep-alive, no underscore headers), silent: DevApp
    writes one access line per request."""


class _Server(FastBindWSGIServer, ThreadedWSGIServer):
    """Django's threaded runserver server (it closes the request's database connections), with
    the shared listen queue and bind."""


def default_access_log(line: str) -> None:
    print(f"  {line}", file=sys.stderr, flush=True)


class DevServer:
    """A bound dev server: `url`, `serve_forever()` (blocking), `shutdown()`; port 0 picks one."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8000,
        *,
        vercel_json: Path | str = VERCEL_JSON,
        media_root: Path | None = None,
        media_url: str | None = None,
        access_log: Callable[[str], None] | None = default_access_log,
    ) -> None:
        from lib.conf import config

        self.router = build_router(vercel_json, media_url=media_url or config.media_url)
        self.apps = load_apps(self.router)
        self.app = DevApp(self.router, self.apps, media_root or config.media_root, access_log)
        self._server = _Server((host, port), _QuietHandler, ipv6=":" in host)
        self._server.set_app(self.app)
        self._serving = threading.Event()
        self.url = server_url(self._server)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def serve_forever(self) -> None:
        self._serving.set()
        try:
            self._server.serve_forever(poll_interval=0.2)
        finally:
            self._server.server_close()

    def shutdown(self) -> None:
        """Stop serving (from another thread than `serve_forever`) and free the port."""
        if self._serving.is_set():
            self._server.shutdown()
        else:
            self._server.server_close()

    def __enter__(self) -> DevServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()


def serve(host: str = "127.0.0.1", port: int = 8000, **options: Any) -> DevServer:
    """Bind a dev server; run it with `.serve_forever()` (here or on a thread)."""
    return DevServer(host, port, **options)
