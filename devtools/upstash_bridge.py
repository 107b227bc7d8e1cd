"""An Upstash-compatible Redis REST endpoint for local development and tests.

It speaks the part of the Upstash REST protocol that `upstash-redis` and `upstash-ratelimit` use,
as a plain WSGI app over a redis-py client (real Redis, or an embedded fakeredis store):

* `POST /` with a JSON array command, e.g. `["SET", "k", "v", "EX", 100]`;
* `POST /pipeline` and `POST /multi-exec` with an array of such arrays; `/multi-exec` runs them
  in one MULTI/EXEC transaction;
* `GET|POST /<cmd>/<arg>/...`: one command in the path (a POST body becomes the last argument).

Replies are `{"result": ...}` or `{"error": "..."}`, a list of those for a batch. With the header
`Upstash-Encoding: base64` every string in a result except the literal `OK` is base64 of its bytes
(integers and null untouched), which is what the client decodes. JSON numbers in a command are
sent to Redis as their decimal text.

Stock Redis 7 rejects the `#!lua flags=allow-key-locking` line that upstash-ratelimit puts first
in its scripts, so EVAL, EVAL_RO and SCRIPT LOAD drop a first line starting with `#!lua` (keeping
the line break, so line numbers in Lua errors still match). SCRIPT LOAD therefore answers the
SHA1 of the stripped script.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote
from wsgiref.simple_server import WSGIServer

import redis

from devtools.wsgi_server import (
    BackgroundServer,
    Environ,
    StartResponse,
    WSGIApp,
    json_response,
    start_server,
)

logger = logging.getLogger(__name__)

# Commands that change or depend on the state of one connection: meaningless over REST.
UNAVAILABLE = frozenset(
    {
        "AUTH", "DISCARD", "EXEC", "HELLO", "MONITOR", "MULTI", "PSUBSCRIBE", "PUNSUBSCRIBE",
        "QUIT", "RESET", "SELECT", "SSUBSCRIBE", "SUBSCRIBE", "SUNSUBSCRIBE", "UNSUBSCRIBE",
        "UNWATCH", "WATCH",
    }
)  # fmt: skip


class CommandError(Exception):
    """A request refused before it reaches Redis; its text is the error sent back."""


def strip_lua_shebang(script: str) -> str:
    """Drop a first line starting with `#!lua`, keeping its line break."""
    if not script.startswith("#!lua"):
        return script
    _, newline, rest = script.partition("\n")
    return newline + rest


def to_redis_arg(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):  # bool included: sent as true/false like any JSON scalar
        return json.dumps(value)
    raise CommandError("ERR command arguments must be strings or numbers")


def prepare_command(command: Any) -> list[str]:
    """Validate one JSON command and turn it into Redis arguments."""
    if not isinstance(command, list) or not command:
        raise CommandError("ERR a command must be a non-empty JSON array")
    args = [to_redis_arg(value) for value in command]
    name = args[0].upper()
    if name in UNAVAILABLE:
        raise CommandError(f"ERR Command is not available: '{args[0].lower()}'")
    if name in ("EVAL", "EVAL_RO") and len(args) > 1:
        args[1] = strip_lua_shebang(args[1])
    elif name == "SCRIPT" and len(args) > 2 and args[1].upper() == "LOAD":
        args[2] = strip_lua_shebang(args[2])
    return args


def error_text(exc: redis.RedisError) -> str:
    """The Redis error line: redis-py splits the code (`ERR`, `NOSCRIPT`...) off the message."""
    message = str(exc.args[0]) if exc.args else type(exc).__name__
    code = getattr(exc, "status_code", None)
    return f"{code} {message}" if code else message


def to_json(reply: Any, base64_encoding: bool) -> Any:
    """Turn a raw RESP2 reply into JSON the way Upstash does."""
    if reply is None or (isinstance(reply, int) and not isinstance(reply, bool)):
        return reply
    if isinstance(reply, list | tuple):
        return [to_json(item, base64_encoding) for item in reply]
    if isinstance(reply, bytes):
        data = reply
    elif isinstance(reply, redis.RedisError):  # an error nested in an array reply
        data = error_text(reply).encode()
    else:  # anything else is a string in RESP2 (e.g. a float)
        data = str(reply).encode()
    if not base64_encoding:
        return data.decode("utf-8", "replace")
    return "OK" if data == b"OK" else base64.b64encode(data).decode("ascii")


def batch_item(reply: Any, base64_encoding: bool) -> dict[str, Any]:
    if isinstance(reply, redis.RedisError):
        return {"error": error_text(reply)}
    return {"result": to_json(reply, base64_encoding)}


def path_parts(environ: Environ) -> list[str]:
    """Path segments, percent-decoded one by one (so an encoded `/` stays inside its segment)."""
    raw = environ.get("REQUEST_URI") or environ.get("RAW_URI")
    if raw:
        return [unquote(part) for part in raw.split("?", 1)[0].lstrip("/").split("/")]
    path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
    return path.lstrip("/").split("/")


def read_body(environ: Environ) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return environ["wsgi.input"].read(length) if length > 0 else b""


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError as exc:
        raise CommandError("ERR failed to parse command: the body is not valid JSON") from exc


def make_bridge_app(redis_client: redis.Redis, token: str) -> WSGIApp:
    """A WSGI app answering Upstash REST requests with `redis_client`.

    The app owns the client: it clears its redis-py response callbacks so replies stay raw RESP2
    (the client must use `protocol=2` and return bytes, i.e. no `decode_responses`).
    """
    if not token:
        raise ValueError("the bridge needs a non-empty token")
    redis_client.response_callbacks.clear()
    expected_auth = f"Bearer {token}".encode()

    def run_batch(commands: list[list[str]], transaction: bool) -> list[Any]:
        pipe = redis_client.pipeline(transaction=transaction)
        for args in commands:
            pipe.execute_command(*args)
        try:
            return pipe.execute(raise_on_error=False)
        except redis.ResponseError as exc:  # refused while queueing: nothing ran
            raise CommandError(
                f"EXECABORT Transaction discarded because of previous errors: {error_text(exc)}"
            ) from exc

    def handle(environ: Environ) -> tuple[int, Any]:
        auth = environ.get("HTTP_AUTHORIZATION", "").encode()
        if not hmac.compare_digest(auth, expected_auth):
            return 401, {"error": "Unauthorized"}
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "POST"):
            return 405, {"error": f"ERR method {method} is not allowed"}
        b64 = environ.get("HTTP_UPSTASH_ENCODING", "").lower() == "base64"
        body = read_body(environ)
        parts = path_parts(environ)

        if parts in (["pipeline"], ["multi-exec"]):
            batch = parse_json(body) if method == "POST" else None
            if not isinstance(batch, list):
                raise CommandError("ERR a batch must be POSTed as a JSON array of commands")
            commands = [prepare_command(command) for command in batch]
            replies = run_batch(commands, transaction=parts == ["multi-exec"]) if commands else []
            return 200, [batch_item(reply, b64) for reply in replies]

        if parts == [""]:
            if method != "POST":
                raise CommandError("ERR POST a JSON array command, or put the command in the path")
            command = parse_json(body)
        else:
            command = parts + (
                [body.decode("utf-8", "replace")] if method == "POST" and body else []
            )
        reply = redis_client.execute_command(*prepare_command(command))
        return 200, {"result": to_json(reply, b64)}

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        try:
            status, payload = handle(environ)
        except CommandError as exc:
            status, payload = 400, {"error": str(exc)}
        except redis.ResponseError as exc:
            status, payload = 400, {"error": error_text(exc)}
        except Exception as exc:  # the client gets JSON, never a traceback
            logger.exception("upstash bridge failure")
            status, payload = 500, {"error": f"ERR bridge failure: {type(exc).__name__}: {exc}"}
        return json_response(start_response, status, payload)

    return app


class CountingApp:
    """Wraps a WSGI app and counts the HTTP requests it receives: for the bridge, the KV round
    trips its clients make (a single command and a whole pipeline are one each)."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self.count = 0
        self._lock = threading.Lock()

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        with self._lock:
            self.count += 1
        return self.app(environ, start_response)


class BridgeServer(BackgroundServer):
    """A running bridge: `url` (no trailing slash), `token`, the Redis client, `request_count`
    (HTTP requests received so far) and `stop()`."""

    def __init__(
        self,
        server: WSGIServer,
        thread: threading.Thread,
        redis_client: redis.Redis,
        token: str,
        counter: CountingApp | None = None,
    ) -> None:
        super().__init__(server, thread)
        self.redis = redis_client
        self.token = token
        self._counter = counter

    @property
    def request_count(self) -> int:
        return self._counter.count if self._counter is not None else 0

    def stop(self) -> None:
        super().stop()
        self.redis.close()


def start_bridge(
    *, redis_url: str | None, token: str, host: str = "127.0.0.1", port: int = 0
) -> BridgeServer:
    """Serve the bridge on a daemon thread, over `redis_url` or else an embedded fakeredis store.

    `port=0` picks a free port; read it from the returned server's `url`.
    """
    if redis_url:
        client = redis.Redis.from_url(redis_url, protocol=2, socket_connect_timeout=5)
    else:
        import fakeredis  # development-only dependency; Lua scripts need `lupa`

        client = fakeredis.FakeRedis(server=fakeredis.FakeServer(version=(7, 4)), protocol=2)
    counter = CountingApp(make_bridge_app(client, token))
    server, thread = start_server(counter, host, port, name="upstash-bridge")
    return BridgeServer(server, thread, client, token, counter)
