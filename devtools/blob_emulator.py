"""A Vercel Blob API emulator for local development and tests.

It answers the requests the official SDK (`vercel-blob` 0.5, `vercel.blob`) makes, as a plain
WSGI app. Point the SDK at it with `VERCEL_BLOB_API_URL=<server.url>` and give it the emulator's
token as `BLOB_READ_WRITE_TOKEN` (`vercel_blob_rw_<store>_<secret>`; the SDK reads the store id
from it). Every API request must carry `Authorization: Bearer <token>`.

API, under `/api/blob` (the path of the real `https://vercel.com/api/blob`):

* `PUT ?pathname=P` with the body: store a blob. Headers `x-add-random-suffix: 1` (turns
  `dir/name.ext` into `dir/name-<30 letters and digits>.ext`), `x-allow-overwrite: 1` (without it an
  existing pathname is refused with the real API's 400 `bad_request`), `x-content-type` (else
  guessed from the pathname), `x-cache-control-max-age` (seconds, default one month) and
  `x-vercel-blob-access` (must be `public`).
* `PUT ?pathname=P&fromUrl=S`: copy blob `S` (a pathname or a blob URL) to `P`; same headers, plus
  `x-if-match` (the source's ETag).
* `GET ?url=U`: metadata of one blob (`U` is a pathname or a blob URL), 404 `not_found` if absent.
* `GET [?prefix=&limit=&cursor=&mode=folded]`: list blobs in pathname order, `{"blobs": [...],
  "cursor": ..., "hasMore": ...}`; `mode=folded` lists one directory level and adds `"folders"`.
* `POST /delete` with `{"urls": [...]}` (pathnames or blob URLs), optional `x-if-match` for a single
  target. Absent blobs are ignored.

Errors are `{"error": {"code": ..., "message": ...}}` with the status the SDK maps to its error
classes: 401 (no bearer token) and 403 (wrong token) `forbidden` -> `BlobAccessError`, 404
`not_found` -> `BlobNotFoundError`, 412 `precondition_failed`, 400 `bad_request` -> `BlobError`.
Multipart uploads (`/mpu`) are not emulated.

Blob URLs point back at the emulator: `<public_base_url>/files/<pathname>` serves the bytes to a
plain `GET` (no token, like a public store) with the stored Content-Type, and `?download=1` adds
`Content-Disposition: attachment`. The SDK's own download helpers (`get_blob`, `stream_blob`)
only accept `https://<store>.<access>.blob.vercel-storage.com` URLs, so download through the URL
the API returned instead.

Blobs live in memory, or under `store_dir` when one is given (so they survive a restart).

Run it standalone with `python -m devtools.blob_emulator [--port 3033] [--dir .zest/blob]`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import mimetypes
import posixpath
import secrets
import string
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, quote, unquote, urlsplit
from wsgiref.simple_server import WSGIServer

from devtools.sim_runner import assignments, command_line, serve_until_interrupted
from devtools.wsgi_server import (
    BackgroundServer,
    Environ,
    StartResponse,
    json_response,
    make_server,
    serve_on_thread,
    server_url,
)

logger = logging.getLogger(__name__)

API_PATH = "/api/blob"
FILES_PATH = "/files/"
DELIVERY_DOMAIN_SUFFIX = ".blob.vercel-storage.com"
DEFAULT_TOKEN = "vercel_blob_rw_localstore_emulatorsecret0123456789"  # noqa: S105 - local only
DEFAULT_CACHE_MAX_AGE = 30 * 24 * 3600  # one month, the real default
MAX_PATHNAME_LENGTH = 950
MAX_LIST_LIMIT = 1000
RANDOM_SUFFIX_LENGTH = 30
RANDOM_SUFFIX_ALPHABET = string.ascii_letters + string.digits
ALREADY_EXISTS = (
    "This blob already exists, use `allowOverwrite: true` if you want to overwrite it. "
    "Or `addRandomSuffix: true` to generate a unique filename."
)
ACCESS_DENIED = "Access denied, please provide a valid token for this resource."
NOT_FOUND = "The requested blob does not exist"


class ApiError(Exception):
    """A refused request; rendered as the real API's `{"error": {"code", "message"}}`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class BlobRecord:
    """Metadata of one stored blob."""

    pathname: str
    content_type: str
    size: int
    etag: str
    uploaded_at: datetime
    cache_max_age: int

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["uploaded_at"] = self.uploaded_at.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BlobRecord:
        return cls(**{**data, "uploaded_at": datetime.fromisoformat(data["uploaded_at"])})


class BlobStore(Protocol):
    """Where the emulator keeps blobs; callers serialise access."""

    def get(self, pathname: str) -> BlobRecord | None: ...

    def read(self, pathname: str) -> bytes: ...

    def write(self, record: BlobRecord, body: bytes) -> None: ...

    def delete(self, pathname: str) -> None: ...

    def records(self) -> list[BlobRecord]: ...


class MemoryBlobStore:
    """Blobs in a dict; gone when the process ends."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[BlobRecord, bytes]] = {}

    def get(self, pathname: str) -> BlobRecord | None:
        item = self._items.get(pathname)
        return item[0] if item else None

    def read(self, pathname: str) -> bytes:
        return self._items[pathname][1]

    def write(self, record: BlobRecord, body: bytes) -> None:
        self._items[record.pathname] = (record, body)

    def delete(self, pathname: str) -> None:
        self._items.pop(pathname, None)

    def records(self) -> list[BlobRecord]:
        return [record for record, _ in self._items.values()]


class DirectoryBlobStore:
    """Blobs as files under `root`, named by the SHA-256 of their pathname.

    Hashed names keep any pathname inside `root` and let `a` and `a/b` coexist. Each blob is
    `<hash>.bin` plus its metadata in `<hash>.json`.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def _paths(self, pathname: str) -> tuple[Path, Path]:
        key = hashlib.sha256(pathname.encode()).hexdigest()
        return self.root / f"{key}.bin", self.root / f"{key}.json"

    def get(self, pathname: str) -> BlobRecord | None:
        _, meta = self._paths(pathname)
        if not meta.is_file():
            return None
        return BlobRecord.from_json(json.loads(meta.read_text(encoding="utf-8")))

    def read(self, pathname: str) -> bytes:
        return self._paths(pathname)[0].read_bytes()

    def write(self, record: BlobRecord, body: bytes) -> None:
        data, meta = self._paths(record.pathname)
        data.write_bytes(body)
        meta.write_text(json.dumps(record.to_json()), encoding="utf-8")

    def delete(self, pathname: str) -> None:
        for path in self._paths(pathname):
            path.unlink(missing_ok=True)

    def records(self) -> list[BlobRecord]:
        return [
            BlobRecord.from_json(json.loads(meta.read_text(encoding="utf-8")))
            for meta in self.root.glob("*.json")
        ]


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One API request as received (the Authorization header is left out)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]


def iso_timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def validate_pathname(pathname: str) -> str:
    """The SDK's pathname rules: non-empty, no `//`, no `.`/`..` segment, at most 950 chars."""
    pathname = pathname.removeprefix("/")
    if not pathname:
        raise ApiError(400, "bad_request", "pathname is required")
    if "//" in pathname or any(seg in (".", "..") for seg in pathname.split("/")):
        raise ApiError(400, "bad_request", f"invalid pathname: {pathname!r}")
    if any(ord(char) < 32 or ord(char) == 127 for char in pathname):
        raise ApiError(400, "bad_request", "pathname cannot contain control characters")
    if len(pathname) > MAX_PATHNAME_LENGTH:
        raise ApiError(400, "bad_request", "pathname is too long, maximum length is 950")
    return pathname


def with_random_suffix(pathname: str) -> str:
    """`dir/name.ext` -> `dir/name-<30 random letters and digits>.ext`, like the real API."""
    directory, filename = posixpath.split(pathname)
    root, ext = posixpath.splitext(filename)
    suffix = "".join(secrets.choice(RANDOM_SUFFIX_ALPHABET) for _ in range(RANDOM_SUFFIX_LENGTH))
    return posixpath.join(directory, f"{root}-{suffix}{ext}")


def content_disposition(pathname: str, *, attachment: bool) -> str:
    filename = posixpath.basename(pathname).replace('"', "")
    return f'{"attachment" if attachment else "inline"}; filename="{filename}"'


def header_flag(environ: Environ, name: str) -> bool:
    return environ.get(name, "").strip() == "1"


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode()


def decode_cursor(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor.encode()).decode()
    except ValueError as exc:
        raise ApiError(400, "bad_request", "invalid cursor") from exc


class BlobEmulatorApp:
    """The WSGI application. `requests` keeps the most recent API requests for inspection."""

    def __init__(self, store: BlobStore, *, token: str, public_base_url: str) -> None:
        self.store = store
        self.token = token
        self.public_base_url = public_base_url.rstrip("/")
        self.requests: deque[RecordedRequest] = deque(maxlen=1000)
        self._lock = threading.Lock()

    # -- WSGI ------------------------------------------------------------------------------

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        raw_path = environ.get("REQUEST_URI", environ.get("PATH_INFO", "/")).split("?", 1)[0]
        path = unquote(raw_path)
        query = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        try:
            if path.startswith(FILES_PATH) and method in ("GET", "HEAD"):
                return self._serve_file(path[len(FILES_PATH) :], query, method, start_response)
            if path.rstrip("/") == API_PATH or path.startswith(API_PATH + "/"):
                # Read the body before any refusal: closing a socket with unread request bytes
                # can reset the connection before the client sees the error response.
                body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
                self._record(environ, method, path, query)
                self._authorize(environ)
                status, payload = self._handle_api(environ, method, path, query, body)
            else:
                raise ApiError(404, "not_found", "Not found")
        except ApiError as exc:
            status, payload = exc.status, {"error": {"code": exc.code, "message": exc.message}}
        except Exception:
            logger.exception("blob emulator failed on %s %s", method, path)
            status = 500
            payload = {"error": {"code": "unknown_error", "message": "emulator error"}}
        return json_response(start_response, status, payload)

    def _record(self, environ: Environ, method: str, path: str, query: dict[str, str]) -> None:
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_") and key != "HTTP_AUTHORIZATION"
        }
        self.requests.append(RecordedRequest(method, path, query, headers))

    def _authorize(self, environ: Environ) -> None:
        scheme, _, presented = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            raise ApiError(401, "forbidden", ACCESS_DENIED)
        if not hmac.compare_digest(presented.strip().encode(), self.token.encode()):
            raise ApiError(403, "forbidden", ACCESS_DENIED)

    def _handle_api(
        self, environ: Environ, method: str, path: str, query: dict[str, str], body: bytes
    ) -> tuple[int, Any]:
        action = path[len(API_PATH) :].strip("/")
        with self._lock:
            if action == "" and method == "PUT":
                if "fromUrl" in query:
                    return 200, self._copy(environ, query)
                return 200, self._put(environ, query, body)
            if action == "" and method == "GET":
                if "url" in query:
                    return 200, self._head(query["url"])
                return 200, self._list(query)
            if action == "delete" and method == "POST":
                return 200, self._delete(environ, body)
            if action == "mpu":
                raise ApiError(501, "not_implemented", "multipart uploads are not emulated")
        raise ApiError(405, "bad_request", f"{method} {path} is not part of the Blob API")

    # -- API operations --------------------------------------------------------------------

    def _put(self, environ: Environ, query: dict[str, str], body: bytes) -> dict[str, Any]:
        pathname = self._target_pathname(environ, query)
        content_type = environ.get("HTTP_X_CONTENT_TYPE") or self._guess_type(pathname)
        return self._store(environ, pathname, body, content_type, DEFAULT_CACHE_MAX_AGE)

    def _copy(self, environ: Environ, query: dict[str, str]) -> dict[str, Any]:
        source = self._existing(query["fromUrl"])
        if_match = environ.get("HTTP_X_IF_MATCH")
        if if_match is not None and if_match != source.etag:
            raise ApiError(412, "precondition_failed", "The source ETag does not match")
        pathname = self._target_pathname(environ, query)
        content_type = environ.get("HTTP_X_CONTENT_TYPE") or source.content_type
        body = self.store.read(source.pathname)
        return self._store(environ, pathname, body, content_type, source.cache_max_age)

    def _head(self, url_or_pathname: str) -> dict[str, Any]:
        record = self._existing(url_or_pathname)
        return {
            **self._urls(record.pathname),
            "pathname": record.pathname,
            "size": record.size,
            "etag": record.etag,
            "uploadedAt": iso_timestamp(record.uploaded_at),
            "contentType": record.content_type,
            "contentDisposition": content_disposition(record.pathname, attachment=True),
            "cacheControl": f"public, max-age={record.cache_max_age}",
        }

    def _list(self, query: dict[str, str]) -> dict[str, Any]:
        prefix = query.get("prefix", "")
        folded = query.get("mode") == "folded"
        try:
            limit = int(query.get("limit") or MAX_LIST_LIMIT)
        except ValueError as exc:
            raise ApiError(400, "bad_request", "limit must be an integer") from exc
        if not 1 <= limit <= MAX_LIST_LIMIT:
            raise ApiError(400, "bad_request", f"limit must be between 1 and {MAX_LIST_LIMIT}")
        after = decode_cursor(query["cursor"]) if query.get("cursor") else None

        # One entry per key, in key order: a blob (its pathname) or, when folded, a folder.
        entries: dict[str, BlobRecord | None] = {}
        for record in self.store.records():
            if not record.pathname.startswith(prefix):
                continue
            rest = record.pathname[len(prefix) :]
            if folded and "/" in rest:
                entries.setdefault(prefix + rest.split("/", 1)[0] + "/", None)
            else:
                entries[record.pathname] = record
        keys = sorted(key for key in entries if after is None or key > after)
        page, has_more = keys[:limit], len(keys) > limit

        blobs = []
        for key in page:
            record = entries[key]
            if record is not None:
                blobs.append(
                    {
                        **self._urls(record.pathname),
                        "pathname": record.pathname,
                        "size": record.size,
                        "uploadedAt": iso_timestamp(record.uploaded_at),
                        "etag": record.etag,
                    }
                )
        result: dict[str, Any] = {
            "blobs": blobs,
            "cursor": encode_cursor(page[-1]) if has_more else None,
            "hasMore": has_more,
        }
        if folded:
            result["folders"] = [key for key in page if entries[key] is None]
        return result

    def _delete(self, environ: Environ, body: bytes) -> dict[str, Any]:
        try:
            urls = json.loads(body or b"{}")["urls"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ApiError(400, "bad_request", 'body must be {"urls": [...]}') from exc
        if not isinstance(urls, list) or not all(isinstance(url, str) for url in urls):
            raise ApiError(400, "bad_request", "urls must be a list of strings")
        pathnames = [self._pathname_of(url) for url in urls]
        if_match = environ.get("HTTP_X_IF_MATCH")
        if if_match is not None:
            if len(pathnames) != 1:
                raise ApiError(400, "bad_request", "x-if-match needs exactly one target")
            record = self.store.get(pathnames[0])
            if record is not None and record.etag != if_match:
                raise ApiError(412, "precondition_failed", "The ETag does not match")
        for pathname in pathnames:
            self.store.delete(pathname)
        return {}

    # -- helpers ---------------------------------------------------------------------------

    def _target_pathname(self, environ: Environ, query: dict[str, str]) -> str:
        access = environ.get("HTTP_X_VERCEL_BLOB_ACCESS", "public")
        if access != "public":
            raise ApiError(400, "bad_request", f"this store is public; got access {access!r}")
        pathname = validate_pathname(query.get("pathname", ""))
        if header_flag(environ, "HTTP_X_ADD_RANDOM_SUFFIX"):
            pathname = with_random_suffix(pathname)
        if self.store.get(pathname) is not None and not header_flag(
            environ, "HTTP_X_ALLOW_OVERWRITE"
        ):
            raise ApiError(400, "bad_request", ALREADY_EXISTS)
        return pathname

    def _store(
        self, environ: Environ, pathname: str, body: bytes, content_type: str, default_age: int
    ) -> dict[str, Any]:
        raw_age = environ.get("HTTP_X_CACHE_CONTROL_MAX_AGE")
        try:
            cache_max_age = int(raw_age) if raw_age else default_age
        except ValueError as exc:
            raise ApiError(400, "bad_request", "bad x-cache-control-max-age") from exc
        record = BlobRecord(
            pathname=pathname,
            content_type=content_type,
            size=len(body),
            etag=f'"{hashlib.sha256(body).hexdigest()[:32]}"',
            uploaded_at=datetime.now(UTC),
            cache_max_age=cache_max_age,
        )
        self.store.write(record, body)
        return {
            **self._urls(pathname),
            "pathname": pathname,
            "contentType": content_type,
            "contentDisposition": content_disposition(pathname, attachment=True),
            "etag": record.etag,
        }

    def _urls(self, pathname: str) -> dict[str, str]:
        url = f"{self.public_base_url}{FILES_PATH}{quote(pathname, safe='/')}"
        return {"url": url, "downloadUrl": f"{url}?download=1"}

    def _pathname_of(self, url_or_pathname: str) -> str:
        """A pathname, an emulator blob URL or a `*.blob.vercel-storage.com` URL -> pathname."""
        if "://" not in url_or_pathname:
            return validate_pathname(url_or_pathname)
        parts = urlsplit(url_or_pathname)
        path = unquote(parts.path)
        if not (parts.hostname or "").endswith(DELIVERY_DOMAIN_SUFFIX):
            if not path.startswith(FILES_PATH):
                raise ApiError(400, "bad_request", f"not a blob URL: {url_or_pathname!r}")
            path = path[len(FILES_PATH) :]
        return validate_pathname(path)

    def _existing(self, url_or_pathname: str) -> BlobRecord:
        record = self.store.get(self._pathname_of(url_or_pathname))
        if record is None:
            raise ApiError(404, "not_found", NOT_FOUND)
        return record

    @staticmethod
    def _guess_type(pathname: str) -> str:
        return mimetypes.guess_type(pathname)[0] or "application/octet-stream"

    # -- blob delivery ---------------------------------------------------------------------

    def _serve_file(
        self, pathname: str, query: dict[str, str], method: str, start_response: StartResponse
    ) -> Iterable[bytes]:
        with self._lock:
            record = self.store.get(pathname)
            body = self.store.read(pathname) if record is not None else b""
        if record is None:
            data = b"The requested blob does not exist"
            start_response(
                "404 Not Found",
                [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(data)))],
            )
            return [data if method == "GET" else b""]
        headers = [
            ("Content-Type", record.content_type),
            ("Content-Length", str(record.size)),
            ("ETag", record.etag),
            ("Last-Modified", format_datetime(record.uploaded_at, usegmt=True)),
            ("Cache-Control", f"public, max-age={record.cache_max_age}"),
            (
                "Content-Disposition",
                content_disposition(pathname, attachment=query.get("download") == "1"),
            ),
        ]
        start_response("200 OK", headers)
        return [body if method == "GET" else b""]


def make_blob_app(store_dir: Path | None, *, token: str, public_base_url: str) -> BlobEmulatorApp:
    """The emulator as a WSGI app, over files in `store_dir` or else in memory.

    `public_base_url` is the emulator's own origin (e.g. `http://127.0.0.1:3033`): blob URLs are
    `<public_base_url>/files/<pathname>`.
    """
    store: BlobStore = DirectoryBlobStore(store_dir) if store_dir is not None else MemoryBlobStore()
    return BlobEmulatorApp(store, token=token, public_base_url=public_base_url)


class BlobServer(BackgroundServer):
    """A running emulator.

    `url` is the API base for `VERCEL_BLOB_API_URL`, `public_base_url` the origin blob URLs
    start with, `token` the accepted `BLOB_READ_WRITE_TOKEN`, `app` the WSGI app (its `store`
    and `requests` can be inspected).
    """

    def __init__(self, server: WSGIServer, thread: threading.Thread, app: BlobEmulatorApp) -> None:
        super().__init__(server, thread)
        self.app = app
        self.token = app.token
        self.public_base_url = app.public_base_url
        self.url = f"{app.public_base_url}{API_PATH}"

    @property
    def env(self) -> dict[str, str]:
        """The environment variables that point the SDK at this emulator."""
        return {"BLOB_READ_WRITE_TOKEN": self.token, "VERCEL_BLOB_API_URL": self.url}


def start_blob_emulator(
    *,
    store_dir: Path | None = None,
    token: str = DEFAULT_TOKEN,
    host: str = "127.0.0.1",
    port: int = 0,
) -> BlobServer:
    """Serve the emulator on a daemon thread; `port=0` picks a free port (see `.url`)."""
    server = make_server(host, port)
    app = make_blob_app(store_dir, token=token, public_base_url=server_url(server))
    return BlobServer(server, serve_on_thread(server, app, name="blob-emulator"), app)


def main(argv: list[str] | None = None) -> None:
    parser = command_line(__doc__, port=3033)
    parser.add_argument("--dir", type=Path, default=None, help="keep blobs here (else in memory)")
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    args = parser.parse_args(argv)
    server = start_blob_emulator(
        store_dir=args.dir, token=args.token, host=args.host, port=args.port
    )
    serve_until_interrupted(server, *assignments(server.env))


if __name__ == "__main__":
    main()
