"""The threaded wsgiref server of the local stand-ins: dev server, Blob emulator, Upstash bridge.

wsgiref's server, made fit for many concurrent local clients: a daemon thread per request, a
listen queue of 128, no reverse DNS lookup when binding and no line per request on stderr.
`start_server` binds one for a WSGI app (port 0 picks a free port) and serves it on a daemon
thread; `BackgroundServer` is the base of the handles that stop it again.
"""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any, Self
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]


class SilentRequestHandler(WSGIRequestHandler):
    """Writes no access line; put it before another wsgiref-based handler to silence that one."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


class QuietHandler(SilentRequestHandler):
    """Silent, and passes the raw request target as `REQUEST_URI`, so an app can decode the path
    itself (as UTF-8, or segment by segment) instead of reading wsgiref's latin-1 `PATH_INFO`."""

    def get_environ(self) -> Environ:
        environ = super().get_environ()
        environ["REQUEST_URI"] = self.path
        return environ


class FastBindWSGIServer(WSGIServer):
    """wsgiref's server with a listen queue of 128 and no reverse DNS lookup when binding; put it
    before another wsgiref-based server class to give that one the same."""

    request_queue_size = 128

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (socket.getfqdn) that can stall.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]
        self.setup_environ()


class ThreadingWSGIServer(socketserver.ThreadingMixIn, FastBindWSGIServer):
    daemon_threads = True


def server_url(server: socketserver.TCPServer) -> str:
    """`http://host:port` of a bound server; a wildcard address is shown as 127.0.0.1."""
    host, port = server.server_address[:2]
    shown = "127.0.0.1" if host in ("", "0.0.0.0") else str(host)  # noqa: S104
    return f"http://{f'[{shown}]' if ':' in shown else shown}:{port}"


def make_server(host: str, port: int) -> ThreadingWSGIServer:
    """A bound server that does not serve yet; `port=0` picks a free port."""
    return ThreadingWSGIServer((host, port), QuietHandler)


def serve_on_thread(server: WSGIServer, app: WSGIApp, *, name: str) -> threading.Thread:
    """Serve `app` on a daemon thread named `name`."""
    server.set_app(app)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, name=name, daemon=True
    )
    thread.start()
    return thread


def start_server(
    app: WSGIApp, host: str, port: int, *, name: str
) -> tuple[ThreadingWSGIServer, threading.Thread]:
    """Bind a server for `app` on `host:port` (`port=0` picks one) and serve it on a daemon
    thread; see `server_url` for where it listens."""
    server = make_server(host, port)
    return server, serve_on_thread(server, app, name=name)


class BackgroundServer:
    """A server running on a daemon thread: `url`, `stop()`, and a context manager that stops it."""

    def __init__(self, server: WSGIServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        self.url = server_url(server)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def status_line(status: int) -> str:
    return f"{status} {HTTPStatus(status).phrase}"


def json_response(start_response: StartResponse, status: int, payload: Any) -> list[bytes]:
    """Send `payload` as a JSON body with its Content-Length."""
    data = json.dumps(payload).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    start_response(status_line(status), headers)
    return [data]
