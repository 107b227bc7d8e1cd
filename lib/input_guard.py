"""Input no handler should ever see: the NUL character, and bodies over the platform's limit.

PostgreSQL text cannot hold U+0000, so a NUL that reached a lookup or a write would fail deep
in the database driver; Vercel refuses request bodies over 4.5 MB. Both are refused once, for
every function, before any handler runs:

- `request_guard` (run by `lib.middleware.RequestGuardMiddleware`): the declared body size
  (413 `payload_too_large`), then a NUL in the path, a header or the query string
  (400 `nul_character`, the field named);
- `json_body_parse` (the JSON parser of every function's API, see `lib.runtime`, and of
  GraphQL): a NUL in any key or string of a JSON body (400 `nul_character`, the field's
  dotted path), and a body nested too deeply to parse (a `ValueError`, so the usual 400
  `malformed_json`); `field_with_nul` does the same for form fields (multipart uploads).

The body read can never exceed the limit either: Django refuses to read a body whose
Content-Length is over `DATA_UPLOAD_MAX_MEMORY_SIZE` (the same 4.5 MB) and reads no more
bytes than the Content-Length declares.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.datastructures import MultiValueDict

from lib.errors import ApiError

NUL = "\x00"
NUL_MESSAGE = "Must not contain the NUL character (U+0000)."
# The HTTP request headers a caller sends, as WSGI names them in `request.META`.
UNPREFIXED_HEADERS = ("CONTENT_TYPE", "CONTENT_LENGTH")


def max_body_bytes() -> int:
    """Vercel's request body limit (4.5 MB), which Django enforces on reads too."""
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)


def nul_refused(field: str) -> ApiError:
    return ApiError("nul_character", status=400, fields={field: [NUL_MESSAGE]})


def declared_length(meta: Mapping[str, Any]) -> int:
    try:
        return int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def header_name(meta_key: str) -> str:
    """`HTTP_X_CART_TOKEN` -> `X-Cart-Token`."""
    return meta_key.removeprefix("HTTP_").replace("_", "-").title()


def header_with_nul(meta: Mapping[str, Any]) -> str | None:
    for key, value in meta.items():
        if (key.startswith("HTTP_") or key in UNPREFIXED_HEADERS) and NUL in str(value):
            return header_name(key)
    return None


def field_with_nul(data: MultiValueDict) -> str | None:
    """The first field of a query string or form holding a NUL (files are not text)."""
    for name, values in data.lists():
        if NUL in name or any(isinstance(value, str) and NUL in value for value in values):
            return name.replace(NUL, "") or "query"
    return None


def request_guard(request: HttpRequest) -> None:
    """Raise ApiError for a body over the limit or a NUL in the path, a header or the query."""
    if declared_length(request.META) > max_body_bytes():
        raise ApiError("payload_too_large", status=413)
    if NUL in request.path_info:
        raise nul_refused("path")
    field = header_with_nul(request.META) or field_with_nul(request.GET)
    if field is not None:
        raise nul_refused(field)


def json_strings(data: Any) -> Iterator[tuple[str, str]]:
    """(dotted path, text) of every key and string value of parsed JSON, depth-first without
    recursion (parsed JSON may be nested as deep as the parser allows)."""
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            yield path, value
        elif isinstance(value, dict):
            for key, item in value.items():
                child = f"{path}.{key}" if path else str(key)
                yield child, key
                stack.append((child, item))
        elif isinstance(value, list):
            stack.extend(
                (f"{path}.{index}" if path else str(index), item)
                for index, item in enumerate(value)
            )


def json_field_with_nul(data: Any) -> str | None:
    for path, text in json_strings(data):
        if NUL in text:
            return path.replace(NUL, "") or "body"
    return None


def json_body_parse(body: bytes | str) -> Any:
    """Parse a JSON body: ValueError when it is not JSON (or not in a Unicode encoding, or
    nested too deeply), 400 `nul_character` naming the field when a key or string holds a
    NUL. JSON can only write a NUL as the escape `\\u0000`, so bodies without one are not
    walked."""
    text = body.decode(json.detect_encoding(body)) if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
    except RecursionError as exc:
        raise ValueError("the JSON body is nested too deeply") from exc
    field = json_field_with_nul(data) if "\\u0000" in text else None
    if field is not None:
        raise nul_refused(field)
    return data
