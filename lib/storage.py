"""Django file storage on Vercel Blob (public store), through the official `vercel-blob` SDK.

Every saved file gets the API's random suffix (`products/shirt.png` is stored as
`products/shirt-<30 letters and digits>.png`); the pathname the API returns is the name Django
keeps, so names never collide and nothing is ever overwritten.

Credentials: the `token` option, else `config.blob_token` (`BLOB_READ_WRITE_TOKEN`,
`vercel_blob_rw_<store>_<secret>`), else the SDK's own lookup at call time (the same variable,
or Vercel OIDC with `BLOB_STORE_ID`). The API base: the `api_url` option, else
`config.blob_api_url` (`VERCEL_BLOB_API_URL`), else the SDK's default `https://vercel.com/api/blob`.

Each operation runs in its own SDK session (`vercel.api.session`), so it sees the current
settings: the SDK's process-wide default session fixes its API base on first use.

Public URLs are `<base><pathname>`. The base (`https://<store>.public.blob.vercel-storage.com/`
on Vercel) is the `base_url` option, else learnt from the first URL the API returns to this
instance (a save, or else one listing request).

Downloads (`open`) fetch that public URL with urllib: the SDK's own download helpers only accept
`*.blob.vercel-storage.com` URLs.
"""

from __future__ import annotations

import functools
import mimetypes
import posixpath
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

import httpx2
from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import ContentFile, File
from django.core.files.storage import Storage
from django.core.files.utils import validate_file_name
from django.utils import timezone
from django.utils.deconstruct import deconstructible
from vercel.api import session as sdk_session
from vercel.blob import sync as blob
from vercel.blob.sync import (
    BlobCredentials,
    BlobCredentialsError,
    BlobError,
    BlobNotFoundError,
    SyncBlobServiceOptions,
)

from lib.conf import config

T = TypeVar("T")

RW_TOKEN_PREFIX = "vercel_blob_rw_"  # noqa: S105 - a format prefix, not a secret
# The API inserts "-" and 30 letters and digits before the extension.
RANDOM_SUFFIX_LENGTH = 31
HTTP_TIMEOUT_SECONDS = 30.0
DEFAULT_CONTENT_TYPE = "application/octet-stream"


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    # Built once: loading the CA bundle costs ~25 ms, too much to repeat per operation.
    return httpx2.create_ssl_context()


def _http_client() -> httpx2.Client:
    return httpx2.Client(verify=_ssl_context(), timeout=HTTP_TIMEOUT_SECONDS)


def store_id_from_token(token: str) -> str:
    """The store id inside a read-write token `vercel_blob_rw_<store>_<secret>`."""
    store_id, _, secret = token.removeprefix(RW_TOKEN_PREFIX).partition("_")
    if not token.startswith(RW_TOKEN_PREFIX) or not store_id or not secret.strip("_"):
        raise BlobCredentialsError(
            "the Blob read-write token must look like vercel_blob_rw_<store>_<secret>"
        )
    return store_id


def content_type_for(name: str) -> str:
    return mimetypes.guess_type(name)[0] or DEFAULT_CONTENT_TYPE


def base_url_of(url: str, pathname: str) -> str:
    """`https://host/prefix/a/b.png` with pathname `a/b.png` -> `https://host/prefix/`."""
    parts = urlsplit(url)
    prefix = parts.path.rsplit("/", pathname.count("/") + 1)[0]
    return urlunsplit((parts.scheme, parts.netloc, prefix + "/", "", ""))


@deconstructible(path="lib.storage.VercelBlobStorage")
class VercelBlobStorage(Storage):
    """Files in a public Vercel Blob store."""

    def __init__(
        self,
        *,
        token: str | None = None,
        api_url: str | None = None,
        base_url: str | None = None,
        cache_control_max_age: int | None = None,
    ) -> None:
        self.token = token or config.blob_token or None
        self.api_url = (api_url or config.blob_api_url or "").rstrip("/") or None
        self.base_url = base_url.rstrip("/") + "/" if base_url else None
        self.cache_control_max_age = cache_control_max_age

    # -- SDK plumbing ----------------------------------------------------------------------

    def _credentials(self) -> BlobCredentials:
        assert self.token is not None
        return BlobCredentials(self.token, store_id_from_token(self.token))

    def _call(self, operation: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one SDK call in a session bound to this storage's token and API base."""
        options = SyncBlobServiceOptions(
            base_url=self.api_url,
            credentials_factory=self._credentials if self.token else None,
        )
        with sdk_session(service_options=[options], httpx_client_factory=_http_client):
            return operation(*args, **kwargs)

    def _head(self, name: str) -> blob.HeadResult:
        result = self._call(blob.head_blob, name)
        self._learn_base_url(result.url, result.pathname)
        return result

    def _learn_base_url(self, url: str, pathname: str) -> None:
        if self.base_url is None:
            self.base_url = base_url_of(url, pathname)

    # -- Storage API -----------------------------------------------------------------------

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        """The name to upload under: the API's random suffix makes it unique, so no lookup.

        With `max_length`, the file root is shortened to leave room for the suffix.
        """
        name = str(name).replace("\\", "/")
        validate_file_name(name, allow_relative_path=True)
        if max_length is None or len(name) + RANDOM_SUFFIX_LENGTH <= max_length:
            return name
        dir_name, file_name = posixpath.split(name)
        root, ext = posixpath.splitext(file_name)
        root = root[: max(0, len(root) - (len(name) + RANDOM_SUFFIX_LENGTH - max_length))]
        if not root:
            raise SuspiciousFileOperation(
                f'Storage cannot fit "{name}" and its random suffix into {max_length} characters'
            )
        return posixpath.join(dir_name, root + ext)

    def _save(self, name: str, content: File) -> str:
        body = b"".join(content.chunks())
        result = self._call(
            blob.put_blob,
            name,
            body,
            access="public",
            content_type=content_type_for(name),
            add_random_suffix=True,
            cache_control_max_age=self.cache_control_max_age,
        )
        self._learn_base_url(result.url, result.pathname)
        return result.pathname

    def _open(self, name: str, mode: str = "rb") -> ContentFile:
        if any(flag in mode for flag in "wa+"):
            raise ValueError(f"Vercel Blob files are read-only once stored (mode {mode!r})")
        url = self.url(name)
        try:
            with urllib.request.urlopen(  # noqa: S310 - the store's own http(s) URL
                url, timeout=HTTP_TIMEOUT_SECONDS, context=_ssl_context()
            ) as response:
                data = response.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise BlobNotFoundError(f"{name!r} does not exist in the Blob store") from exc
            message = f"downloading {name!r} failed: HTTP {exc.code}"
            raise BlobError(message, status_code=exc.code) from exc
        except urllib.error.URLError as exc:
            raise BlobError(f"downloading {name!r} failed: {exc.reason}") from exc
        return ContentFile(data, name=name)

    def exists(self, name: str) -> bool:
        try:
            self._head(name)
        except BlobNotFoundError:
            return False
        return True

    def delete(self, name: str) -> None:
        self._call(blob.delete_blob, name)

    def size(self, name: str) -> int:
        return self._head(name).size

    def url(self, name: str) -> str:
        if self.base_url is None:
            self._discover_base_url(name)
        return f"{self.base_url}{quote(name, safe='/')}"

    def _discover_base_url(self, name: str) -> None:
        def first_blob() -> blob.ListBlob | None:
            return next(blob.query_blobs(page_size=1), None)

        sample = self._call(first_blob)
        if sample is None:
            raise BlobNotFoundError(f"{name!r} does not exist: the Blob store is empty")
        self._learn_base_url(sample.url, sample.pathname)

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        prefix = path.strip("/")
        prefix = f"{prefix}/" if prefix else ""

        def entries() -> list[blob.ListBlob | blob.BlobPrefix]:
            return list(blob.query_blob_entries(prefix=prefix))

        directories: list[str] = []
        files: list[str] = []
        for entry in self._call(entries):
            if isinstance(entry, blob.BlobPrefix):
                directories.append(entry.prefix[len(prefix) :].rstrip("/"))
            else:
                self._learn_base_url(entry.url, entry.pathname)
                files.append(entry.pathname[len(prefix) :])
        return directories, files

    def get_modified_time(self, name: str) -> datetime:
        uploaded_at = self._head(name).uploaded_at
        return uploaded_at if settings.USE_TZ else timezone.make_naive(uploaded_at)

    def get_created_time(self, name: str) -> datetime:
        return self.get_modified_time(name)
