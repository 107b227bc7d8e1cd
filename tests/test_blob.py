"""Vercel Blob: the real SDK and the Django storage against the local API emulator."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import ContentFile
from vercel.api import session as sdk_session
from vercel.blob import sync as blob

from devtools.blob_emulator import BlobServer, start_blob_emulator
from lib.storage import VercelBlobStorage

TOKEN = "vercel_blob_rw_localstore_secret0123456789abcdef"
WRONG_TOKEN = "vercel_blob_rw_localstore_notthesecret987654321"
# A complete 1x1 PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360f8ffff3f0005fe02fea7d6a4b80000000049454e44ae426082"
)
SUFFIX = r"-[A-Za-z0-9]{30}"


@pytest.fixture(scope="module")
def emulator() -> Iterator[BlobServer]:
    server = start_blob_emulator(token=TOKEN)
    yield server
    server.stop()


@pytest.fixture
def blob_env(emulator: BlobServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[BlobServer]:
    """Point the SDK at the emulator through its environment variables."""
    monkeypatch.setenv("BLOB_READ_WRITE_TOKEN", TOKEN)
    monkeypatch.setenv("VERCEL_BLOB_API_URL", emulator.url)
    # The SDK's process-wide default session fixes its API base on first use; a scoped
    # session reads the environment afresh.
    with sdk_session():
        yield emulator


@pytest.fixture
def storage(emulator: BlobServer) -> VercelBlobStorage:
    return VercelBlobStorage(token=TOKEN, api_url=emulator.url)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def download(url: str) -> tuple[bytes, str]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - local emulator
        return response.read(), response.headers["Content-Type"]


# -- the SDK against the emulator -------------------------------------------------------------


def test_put_head_and_download(blob_env: BlobServer) -> None:
    pathname = f"{unique('sdk')}/hello.txt"
    put = blob.put_blob(pathname, b"hello, blob", access="public", content_type="text/plain")

    assert put.pathname == pathname
    assert put.url == f"{blob_env.public_base_url}/files/{pathname}"
    assert put.content_type == "text/plain"
    head = blob.head_blob(pathname)
    assert (head.pathname, head.size, head.etag) == (pathname, 11, put.etag)
    assert head.content_type == "text/plain"
    assert abs(head.uploaded_at - datetime.now(UTC)) < timedelta(minutes=1)
    assert download(put.url) == (b"hello, blob", "text/plain")
    # The blob URL works as a head target too.
    assert blob.head_blob(pathname).url == put.url


def test_put_sends_the_headers_the_emulator_honours(blob_env: BlobServer) -> None:
    blob_env.app.requests.clear()
    put = blob.put_blob(
        f"{unique('sdk')}/logo.png",
        PNG,
        access="public",
        content_type="image/png",
        add_random_suffix=True,
        cache_control_max_age=120,
    )

    (request,) = blob_env.app.requests
    assert (request.method, request.path) == ("PUT", "/api/blob")
    assert request.headers["x-api-version"] == "12"
    assert request.headers["x-add-random-suffix"] == "1"
    assert request.headers["x-allow-overwrite"] == "0"
    assert request.headers["x-content-type"] == "image/png"
    assert request.headers["x-cache-control-max-age"] == "120"
    assert "authorization" not in request.headers
    assert blob.head_blob(put.pathname).cache_control == "public, max-age=120"


def test_random_suffix_makes_names_unique(blob_env: BlobServer) -> None:
    folder = unique("sdk")
    first = blob.put_blob(f"{folder}/photo.png", PNG, access="public", add_random_suffix=True)
    second = blob.put_blob(f"{folder}/photo.png", PNG, access="public", add_random_suffix=True)

    assert re.fullmatch(rf"{folder}/photo{SUFFIX}\.png", first.pathname)
    assert first.pathname != second.pathname
    assert first.content_type == "image/png"  # guessed from the name when not given


def test_overwrite_is_refused_unless_allowed(blob_env: BlobServer) -> None:
    pathname = f"{unique('sdk')}/notes.txt"
    put = blob.put_blob(pathname, b"first", access="public")

    with pytest.raises(blob.BlobError, match="already exists") as refused:
        blob.put_blob(pathname, b"second", access="public")
    assert (refused.value.status_code, refused.value.code) == (400, "bad_request")
    assert download(put.url)[0] == b"first"

    blob.put_blob(pathname, b"second", access="public", allow_overwrite=True)
    assert download(put.url)[0] == b"second"


def test_list_filters_by_prefix_and_follows_cursors(blob_env: BlobServer) -> None:
    folder = unique("list")
    names = [f"{folder}/item-{index}.txt" for index in range(5)]
    for name in reversed(names):
        blob.put_blob(name, name.encode(), access="public")
    blob.put_blob(f"{folder}-decoy.txt", b"outside the prefix", access="public")

    blob_env.app.requests.clear()
    listed = list(blob.query_blobs(prefix=f"{folder}/", page_size=2))

    assert [item.pathname for item in listed] == names
    assert [item.size for item in listed] == [len(name) for name in names]
    pages = list(blob_env.app.requests)
    assert [request.query.get("limit") for request in pages] == ["2", "2", "2"]
    assert "cursor" not in pages[0].query
    assert pages[1].query["cursor"] and pages[2].query["cursor"]

    # One page by hand, then the SDK resumes from its cursor.
    request = urllib.request.Request(  # noqa: S310 - local emulator
        f"{blob_env.url}?prefix={folder}/&limit=2", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        page = json.load(response)
    assert [item["pathname"] for item in page["blobs"]] == names[:2]
    assert page["hasMore"] is True
    rest = blob.query_blobs(prefix=f"{folder}/", page_size=2, cursor=page["cursor"])
    assert [item.pathname for item in rest] == names[2:]


def test_folded_listing_returns_one_level(blob_env: BlobServer) -> None:
    folder = unique("tree")
    for name in ("a.txt", "b.txt", "sub/c.txt", "sub/deeper/d.txt", "other/e.txt"):
        blob.put_blob(f"{folder}/{name}", b"x", access="public")

    entries = list(blob.query_blob_entries(prefix=f"{folder}/", page_size=2))

    files = sorted(e.pathname for e in entries if isinstance(e, blob.ListBlob))
    folders = sorted(e.prefix for e in entries if isinstance(e, blob.BlobPrefix))
    assert files == [f"{folder}/a.txt", f"{folder}/b.txt"]
    assert folders == [f"{folder}/other/", f"{folder}/sub/"]


def test_copy_keeps_bytes_and_content_type(blob_env: BlobServer) -> None:
    folder = unique("copy")
    source = blob.put_blob(f"{folder}/original.png", PNG, access="public")

    copied = blob.copy_blob(source.pathname, f"{folder}/copy.bin", access="public")

    assert copied.pathname == f"{folder}/copy.bin"
    assert download(copied.url) == (PNG, "image/png")
    assert blob.head_blob(copied.pathname).etag == source.etag
    with pytest.raises(blob.BlobNotFoundError):
        blob.copy_blob(f"{folder}/missing.png", f"{folder}/x.png", access="public")
    with pytest.raises(blob.BlobPreconditionFailedError):
        blob.copy_blob(source.pathname, f"{folder}/y.png", access="public", if_match='"stale"')
    with pytest.raises(blob.BlobError, match="already exists"):
        blob.copy_blob(source.pathname, copied.pathname, access="public")


def test_delete_removes_several_and_ignores_missing(blob_env: BlobServer) -> None:
    folder = unique("delete")
    first = blob.put_blob(f"{folder}/one.txt", b"1", access="public")
    second = blob.put_blob(f"{folder}/two.txt", b"2", access="public")
    kept = blob.put_blob(f"{folder}/three.txt", b"3", access="public")

    blob.delete_blob([first.pathname, second.pathname, f"{folder}/never-existed.txt"])

    for gone in (first, second):
        with pytest.raises(blob.BlobNotFoundError):
            blob.head_blob(gone.pathname)
        with pytest.raises(urllib.error.HTTPError) as missing:
            download(gone.url)
        assert missing.value.code == 404
    assert blob.head_blob(kept.pathname).size == 1
    assert [item.pathname for item in blob.query_blobs(prefix=f"{folder}/")] == [kept.pathname]


def test_wrong_or_missing_token_is_refused(
    blob_env: BlobServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BLOB_READ_WRITE_TOKEN", WRONG_TOKEN)
    with pytest.raises(blob.BlobAccessError) as refused:
        blob.put_blob(f"{unique('auth')}/x.txt", b"x", access="public")
    assert refused.value.status_code == 403
    with pytest.raises(blob.BlobAccessError):
        list(blob.query_blobs())

    with pytest.raises(urllib.error.HTTPError) as anonymous:
        urllib.request.urlopen(blob_env.url, timeout=10)  # noqa: S310 - local emulator
    assert anonymous.value.code == 401
    assert json.loads(anonymous.value.read())["error"]["code"] == "forbidden"


def test_store_dir_survives_a_restart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with start_blob_emulator(store_dir=tmp_path, token=TOKEN) as first:
        monkeypatch.setenv("BLOB_READ_WRITE_TOKEN", TOKEN)
        monkeypatch.setenv("VERCEL_BLOB_API_URL", first.url)
        with sdk_session():
            blob.put_blob("kept/logo.png", PNG, access="public")
            blob.put_blob("kept", b"a blob named like the folder", access="public")

    with start_blob_emulator(store_dir=tmp_path, token=TOKEN) as second:
        monkeypatch.setenv("VERCEL_BLOB_API_URL", second.url)
        with sdk_session():
            head = blob.head_blob("kept/logo.png")
            assert (head.size, head.content_type) == (len(PNG), "image/png")
            assert download(head.url) == (PNG, "image/png")
            assert sorted(item.pathname for item in blob.query_blobs()) == [
                "kept",
                "kept/logo.png",
            ]


# -- the Django storage -----------------------------------------------------------------------


def test_storage_round_trip(storage: VercelBlobStorage) -> None:
    folder = unique("products")
    name = storage.save(f"{folder}/shirt.png", ContentFile(PNG))

    assert re.fullmatch(rf"{folder}/shirt{SUFFIX}\.png", name)
    with storage.open(name) as stored:
        assert stored.read() == PNG
    assert download(storage.url(name)) == (PNG, "image/png")
    assert storage.exists(name)
    assert storage.size(name) == len(PNG)
    assert abs(storage.get_modified_time(name) - datetime.now(UTC)) < timedelta(minutes=1)

    storage.delete(name)

    assert not storage.exists(name)
    with pytest.raises(FileNotFoundError):
        storage.open(name)


def test_storage_never_overwrites(storage: VercelBlobStorage) -> None:
    folder = unique("avatars")
    first = storage.save(f"{folder}/me.txt", ContentFile(b"first"))
    second = storage.save(f"{folder}/me.txt", ContentFile(b"second"))

    assert first != second
    assert storage.open(first).read() == b"first"
    assert storage.open(second).read() == b"second"


def test_storage_url_without_a_prior_save(storage: VercelBlobStorage, emulator: BlobServer) -> None:
    name = storage.save(f"{unique('catalog')}/banner.txt", ContentFile(b"banner"))

    fresh = VercelBlobStorage(token=TOKEN, api_url=emulator.url)  # learns the base by listing

    assert fresh.url(name) == storage.url(name) == f"{emulator.public_base_url}/files/{name}"
    assert fresh.open(name).read() == b"banner"
    configured = VercelBlobStorage(token=TOKEN, api_url=emulator.url, base_url="https://cdn/x")
    assert configured.url("a/b c.png") == "https://cdn/x/a/b%20c.png"


def test_storage_listdir(storage: VercelBlobStorage) -> None:
    folder = unique("gallery")
    top = storage.save(f"{folder}/top.jpg", ContentFile(b"top"))
    storage.save(f"{folder}/sub/inner.jpg", ContentFile(b"inner"))

    directories, files = storage.listdir(folder)

    assert directories == ["sub"]
    assert files == [top.rsplit("/", 1)[1]]
    assert storage.listdir(f"{folder}/sub")[0] == []


def test_storage_keeps_names_within_max_length(storage: VercelBlobStorage) -> None:
    folder = unique("long")
    name = storage.save(f"{folder}/{'x' * 120}.txt", ContentFile(b"long"), max_length=100)

    assert len(name) <= 100
    assert re.fullmatch(rf"{folder}/x+{SUFFIX}\.txt", name)
    with pytest.raises(SuspiciousFileOperation):
        storage.get_available_name(f"{folder}/{'y' * 40}.txt", max_length=40)


def test_storage_content_type_follows_the_name(
    storage: VercelBlobStorage, emulator: BlobServer
) -> None:
    folder = unique("types")
    for filename, expected in (
        ("photo.png", "image/png"),
        ("notes.txt", "text/plain"),
        ("data.unknownext", "application/octet-stream"),
    ):
        emulator.app.requests.clear()
        name = storage.save(f"{folder}/{filename}", ContentFile(b"bytes"))
        (put,) = emulator.app.requests
        assert put.headers["x-content-type"] == expected
        assert put.headers["x-add-random-suffix"] == "1"
        assert download(storage.url(name))[1] == expected


def test_storage_with_a_wrong_or_malformed_token(emulator: BlobServer) -> None:
    wrong = VercelBlobStorage(token=WRONG_TOKEN, api_url=emulator.url)
    with pytest.raises(PermissionError, match="Access denied"):
        wrong.save("x/y.txt", ContentFile(b"x"))
    with pytest.raises(PermissionError):
        wrong.exists("x/y.txt")

    malformed = VercelBlobStorage(token="not-a-blob-token", api_url=emulator.url)
    with pytest.raises(blob.BlobCredentialsError, match="vercel_blob_rw_"):
        malformed.save("x/y.txt", ContentFile(b"x"))


def test_default_storage_is_vercel_blob_when_a_token_is_configured() -> None:
    # The test session configures BLOB_READ_WRITE_TOKEN (devtools.pytest_services).
    from django.core.files.storage import default_storage

    assert isinstance(default_storage, VercelBlobStorage)


def test_storage_deconstructs_to_its_import_path(storage: VercelBlobStorage) -> None:
    path, args, kwargs = storage.deconstruct()

    assert path == "lib.storage.VercelBlobStorage"
    assert args == ()
    assert kwargs["api_url"] == storage.api_url
