"""Product images: upload to the Blob store (the real SDK against the local emulator), type,
size and dimensions decided from the bytes, primary and order, deletion, permissions."""

from __future__ import annotations

import struct
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.files.storage import default_storage

import api.product_images
from db.models import ProductImage, User, UserRole, Vendor, VendorMember
from devtools.demo_images import png, product_png
from lib.access.api_keys import api_key_create
from lib.access.sessions import session_start
from lib.conf import config
from tests import factories
from tests.support import call, multipart

pytestmark = pytest.mark.django_db


# --- real images, built in pure Python --------------------------------------------------------


def segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def jpeg(width: int, height: int) -> bytes:
    """A decodable grey baseline JPEG: one Huffman code per table, so every 8x8 block is the
    two bits "DC difference 0, end of block"."""
    blocks = -(-width // 8) * -(-height // 8)
    bits = "00" * blocks
    bits += "1" * (-len(bits) % 8)
    return b"".join(
        [
            b"\xff\xd8",
            segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"),
            segment(0xDB, b"\x00" + b"\x01" * 64),
            segment(0xC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00"),
            segment(0xC4, b"\x00\x01" + b"\x00" * 15 + b"\x00"),
            segment(0xC4, b"\x10\x01" + b"\x00" * 15 + b"\x00"),
            segment(0xDA, b"\x01\x01\x00\x00\x3f\x00"),
            int(bits, 2).to_bytes(len(bits) // 8, "big"),
            b"\xff\xd9",
        ]
    )


def webp(width: int, height: int) -> bytes:
    """A decodable lossless WebP: every prefix code holds one symbol, so pixels cost no bits."""
    header = (width - 1) | (height - 1) << 14 | 1 << 28  # alpha used, version 0
    body = b"\x2f" + struct.pack("<I", header) + bytes.fromhex("071011118888fe07")
    chunk = b"VP8L" + struct.pack("<I", len(body)) + body + b"\x00" * (len(body) % 2)
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def box(kind: bytes, payload: bytes, *, version: int | None = None) -> bytes:
    if version is not None:  # a "full box": version and 24 bits of flags
        payload = bytes([version, 0, 0, 0]) + payload
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def avif(width: int, height: int) -> bytes:
    """An AVIF container (brands, primary item, its `ispe` size); the AV1 payload is a stub,
    as the server reads headers only."""
    item = box(b"infe", struct.pack(">HH", 1, 0) + b"av01\x00", version=2)
    properties = box(b"ipco", box(b"ispe", struct.pack(">II", width, height), version=0))
    meta = [
        box(b"hdlr", b"\x00" * 4 + b"pict" + b"\x00" * 13, version=0),
        box(b"pitm", struct.pack(">H", 1), version=0),
        box(b"iinf", struct.pack(">H", 1) + item, version=0),
        box(b"iprp", properties + box(b"ipma", struct.pack(">IHBB", 1, 1, 1, 0x81), version=0)),
    ]
    return (
        box(b"ftyp", b"avif" + b"\x00" * 4 + b"mif1miafavif")
        + box(b"meta", b"".join(meta), version=0)
        + box(b"mdat", b"\x12\x00\x0a\x0a")
    )


def png_declaring(width: int, height: int) -> bytes:
    """A well-formed PNG whose header claims `width` x `height` (the pixels are not there)."""
    return png(width, height, [])


# --- calling the API --------------------------------------------------------------------------


def make_user(role: str, *, vendor: Vendor | None = None) -> User:
    user = User.objects.create_user(
        email=f"{role}-{uuid.uuid4().hex[:6]}@zest.test", password="Long-enough-pass-1", role=role
    )
    if vendor is not None:
        VendorMember.objects.create(vendor=vendor, user=user)
    return user


class Client:
    """One signed-in user calling through one API key."""

    def __init__(self, user: User, key: dict[str, str]) -> None:
        tokens = session_start(user=user, ip="127.0.0.1", user_agent="test")
        self.headers = {**key, "Authorization": f"Bearer {tokens.access_token}"}

    def __call__(self, method: str, url: str, **kwargs):
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return call(api.product_images.app, method, url, headers=headers, **kwargs)

    def upload(self, product, data: bytes, *, headers=None, isolated=False, **form):
        body, content_type = multipart(data, **form)
        headers = {"Content-Type": content_type, **(headers or {})}
        return self("POST", url(product), body=body, headers=headers, isolated=isolated)


def url(product, suffix: str = "") -> str:
    return f"/api/v1/admin/products/{product.pk}/images{suffix}"


@pytest.fixture
def staff(server_key) -> Client:
    return Client(make_user(UserRole.STAFF), server_key)


@pytest.fixture
def category():
    return factories.category()


@pytest.fixture
def product(category):
    return factories.product(category=category, images=0)


def download(image_url: str) -> tuple[bytes, str]:
    with urllib.request.urlopen(image_url, timeout=10) as response:  # noqa: S310 - emulator
        return response.read(), response.headers["Content-Type"]


def http_status(image_url: str, method: str) -> int:
    request = urllib.request.Request(image_url, method=method)  # noqa: S310 - emulator
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def stored_files(product) -> list[str]:
    return default_storage.listdir(f"products/{product.pk}")[1]


# --- what is accepted -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "extension", "content_type"),
    [
        (product_png("kurta"), "png", "image/png"),
        (jpeg(40, 30), "jpg", "image/jpeg"),
        (webp(40, 30), "webp", "image/webp"),
        (avif(40, 30), "avif", "image/avif"),
    ],
    ids=["png", "jpeg", "webp", "avif"],
)
def test_an_image_is_stored_as_what_its_bytes_are_whatever_its_name(
    staff, product, data, extension, content_type
):
    response = staff.upload(
        product,
        data,
        filename="holiday.exe",
        content_type="application/octet-stream",
        alt_text_en="Red kurta",
        alt_text_bn="লাল কুর্তা",
    )

    assert response.status == 201, response.body
    body = response.json()
    assert body["is_primary"] is True  # the first image
    assert (body["alt_text_en"], body["alt_text_bn"], body["sort_order"]) == (
        "Red kurta",
        "লাল কুর্তা",
        0,
    )
    row = ProductImage.objects.get(pk=body["id"])
    assert row.blob_pathname.startswith(f"products/{product.pk}/")
    assert row.blob_pathname.endswith(f".{extension}")
    assert body["url"] == row.image_url == default_storage.url(row.blob_pathname)
    assert download(body["url"]) == (data, content_type)


def test_a_later_upload_goes_last_and_may_take_over_as_primary(staff, product):
    first = staff.upload(product, jpeg(8, 8)).json()
    second = staff.upload(product, jpeg(16, 8)).json()
    third = staff.upload(product, webp(3, 2), is_primary="true").json()

    assert (second["is_primary"], second["sort_order"]) == (False, 1)
    assert (third["is_primary"], third["sort_order"]) == (True, 2)
    primaries = ProductImage.objects.filter(product=product, is_primary=True)
    assert [str(pk) for pk in primaries.values_list("pk", flat=True)] == [third["id"]]
    assert first["is_primary"] is True  # as answered then


@pytest.mark.django_db(transaction=True)
def test_concurrent_uploads_keep_one_primary_and_distinct_positions(server_key, category):
    product = factories.product(category=category, images=0)
    staff = Client(make_user(UserRole.STAFF), server_key)

    def upload(n: int) -> int:
        return staff.upload(product, jpeg(8 * n, 8), isolated=True).status

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(upload, range(1, 5)))

    assert statuses == [201] * 4
    rows = ProductImage.objects.filter(product=product)
    assert sorted(rows.values_list("sort_order", flat=True)) == [0, 1, 2, 3]
    assert rows.filter(is_primary=True).count() == 1


# --- what is refused --------------------------------------------------------------------------

NOT_IMAGES = {
    "gif": b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00"
    b"\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;",
    "html": b"<!doctype html><script>alert(document.cookie)</script>",
    "svg": b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(1)</script></svg>",
    "xml svg": b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>',
    "elf": b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56,
    "pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n",
    "heic": box(b"ftyp", b"heic\x00\x00\x00\x00mif1heic") + box(b"mdat", b"\x00" * 8),
    "text": "পণ্যের ছবি".encode(),
}


@pytest.mark.parametrize("data", NOT_IMAGES.values(), ids=NOT_IMAGES.keys())
def test_files_that_are_not_accepted_images_are_refused_whatever_their_name(staff, product, data):
    response = staff.upload(product, data, filename="photo.png", content_type="image/png")

    assert response.status == 422
    assert response.json()["error"]["code"] == "image_type_unsupported"
    assert stored_files(product) == []


def corrupt_png_crc(data: bytes) -> bytes:
    return data[:20] + bytes([data[20] ^ 1]) + data[21:]  # a height byte, under the IHDR CRC


DAMAGED = {
    "png cut short": product_png("saree")[:-30],
    "png signature only": b"\x89PNG\r\n\x1a\n",
    "png bad crc": corrupt_png_crc(product_png("saree")),
    "png without IEND": product_png("saree")[:-12],
    "jpeg header only": jpeg(40, 30)[:20],
    "jpeg cut in the scan": jpeg(400, 300)[:-20],
    "jpeg without frame header": b"\xff\xd8" + segment(0xDA, b"\x00" * 6) + b"\x00\xff\xd9",
    "webp longer than its bytes": webp(40, 30)[:-4],
    "webp bad signature": webp(40, 30).replace(
        b"VP8L\x0d\x00\x00\x00\x2f", b"VP8L\x0d\x00\x00\x00\x00"
    ),
    "avif cut short": avif(40, 30)[:-2],
    "avif without size": box(b"ftyp", b"avif\x00\x00\x00\x00avif")
    + box(b"meta", box(b"hdlr", b"\x00" * 4 + b"pict" + b"\x00" * 13, version=0), version=0)
    + box(b"mdat", b"\x00"),
}


@pytest.mark.parametrize("data", DAMAGED.values(), ids=DAMAGED.keys())
def test_damaged_or_truncated_images_are_refused(staff, product, data):
    response = staff.upload(product, data)

    assert response.status == 422
    assert response.json()["error"]["code"] == "image_corrupt"
    assert stored_files(product) == []


@pytest.mark.parametrize(
    ("width", "height"), [(0, 10), (10, 0), (10_000, 10_000)], ids=["no width", "no height", "huge"]
)
def test_images_with_no_pixels_or_too_many_are_refused(staff, product, width, height):
    response = staff.upload(product, png_declaring(width, height))

    assert response.status == 422
    error = response.json()["error"]
    assert error["code"] == "image_dimensions_invalid"
    assert error["fields"] == {
        "width": width,
        "height": height,
        "max_pixels": config.image_max_pixels,
    }


def test_empty_and_oversized_files_are_refused_in_the_callers_language(staff, product):
    empty = staff.upload(product, b"", headers={"Accept-Language": "bn"})
    too_big = product_png("big") + b"\x00" * config.image_max_bytes

    oversized = staff.upload(product, too_big)
    oversized_bn = staff.upload(product, too_big, headers={"Accept-Language": "bn"})

    assert empty.status == 422
    assert empty.json()["error"]["message"] == "আপলোড করা ফাইলটি খালি।"
    assert oversized.status == oversized_bn.status == 413
    assert oversized.json()["error"] == {
        "code": "image_too_large",
        "message": "The image file is too large. Upload a smaller file.",
        "fields": {"max_bytes": config.image_max_bytes},
        "request_id": oversized.headers["x-request-id"],
    }
    assert oversized_bn.json()["error"]["message"] == (
        "ছবির ফাইলটি অনেক বড়। আরও ছোট একটি ফাইল আপলোড করুন।"
    )
    assert stored_files(product) == []


def test_an_upload_without_a_file_is_a_validation_error(staff, product):
    body, content_type = multipart(b"x")
    body = body.replace(b'name="file"', b'name="picture"')

    response = staff("POST", url(product), body=body, headers={"Content-Type": content_type})

    assert response.status == 422
    assert "file" in response.json()["error"]["fields"]


def test_a_refused_row_leaves_no_file_behind(staff, category):
    full = factories.product(category=category, images=config.image_max_per_product)

    response = staff.upload(full, jpeg(8, 8))

    assert response.status == 409
    assert response.json()["error"]["code"] == "image_limit_reached"
    assert stored_files(full) == []
    assert ProductImage.objects.filter(product=full).count() == config.image_max_per_product


# --- listing, editing, ordering ---------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 6])
def test_the_list_costs_two_queries_whatever_the_number_of_images(
    staff, category, count, django_assert_num_queries
):
    product = factories.product(category=category, images=count)

    with django_assert_num_queries(2):  # the product (permission), its images
        response = staff("GET", url(product))

    items = response.json()["items"]
    assert [item["sort_order"] for item in items] == list(range(count))
    assert [item["is_primary"] for item in items] == [True] + [False] * (count - 1)


def test_alt_texts_and_the_primary_image_are_edited(staff, category):
    product = factories.product(category=category, images=3)
    first, second, _ = ProductImage.objects.filter(product=product).order_by("sort_order")

    edited = staff(
        "PATCH",
        url(product, f"/{second.pk}"),
        json_body={"alt_text_en": "Back view", "alt_text_bn": "পেছনের দিক", "is_primary": True},
    )
    demote = staff("PATCH", url(product, f"/{second.pk}"), json_body={"is_primary": False})

    assert edited.status == 200
    body = edited.json()
    assert (body["alt_text_en"], body["alt_text_bn"], body["is_primary"]) == (
        "Back view",
        "পেছনের দিক",
        True,
    )
    primaries = ProductImage.objects.filter(product=product, is_primary=True)
    assert list(primaries.values_list("pk", flat=True)) == [second.pk]
    assert demote.status == 422
    assert demote.json()["error"]["code"] == "image_primary_required"
    first.refresh_from_db()
    assert first.is_primary is False
    moved = staff("PATCH", url(product, f"/{first.pk}"), json_body={"sort_order": 9})
    assert moved.json()["sort_order"] == 9
    assert staff("GET", url(product)).json()["items"][-1]["id"] == str(first.pk)


def test_reordering_takes_every_id_once_in_a_fixed_number_of_queries(
    staff, category, django_assert_num_queries
):
    small = factories.product(category=category, images=2)
    large = factories.product(category=category, images=6)
    other = factories.product(category=category, images=1)

    for product in (small, large):
        ids = [str(pk) for pk in product.images.order_by("sort_order").values_list("pk", flat=True)]
        # the product, its lock, its images, one UPDATE for all, and the savepoint pair
        with django_assert_num_queries(6):
            response = staff("PUT", url(product, "/order"), json_body={"image_ids": ids[::-1]})
        assert response.status == 200
        assert [item["id"] for item in response.json()["items"]] == ids[::-1]
        listed = staff("GET", url(product)).json()["items"]
        assert [item["id"] for item in listed] == ids[::-1]
        assert [item["sort_order"] for item in listed] == list(range(len(ids)))

    ids = [str(pk) for pk in small.images.values_list("pk", flat=True)]
    foreign = str(other.images.get().pk)
    for wrong in (ids[:1], [ids[0], ids[0]], [ids[0], foreign], [*ids, foreign]):
        response = staff("PUT", url(small, "/order"), json_body={"image_ids": wrong})
        assert response.status == 422
        assert response.json()["error"]["code"] == "image_order_mismatch"


# --- deleting ---------------------------------------------------------------------------------


def test_deleting_the_primary_promotes_the_next_and_removes_its_file(
    staff, product, django_capture_on_commit_callbacks
):
    uploaded = [staff.upload(product, jpeg(8 * n, 8)).json() for n in (1, 2, 3)]
    staff(
        "PUT",
        url(product, "/order"),
        json_body={"image_ids": [uploaded[i]["id"] for i in (0, 2, 1)]},
    )
    primary = uploaded[0]
    assert http_status(primary["url"], "HEAD") == 200

    with django_capture_on_commit_callbacks(execute=True):
        response = staff("DELETE", url(product, f"/{primary['id']}"))

    assert response.status == 204
    assert http_status(primary["url"], "HEAD") == 404
    assert http_status(primary["url"], "GET") == 404
    listed = staff("GET", url(product)).json()["items"]
    assert [(item["id"], item["is_primary"]) for item in listed] == [
        (uploaded[2]["id"], True),  # next in display order, not in upload order
        (uploaded[1]["id"], False),
    ]
    assert len(stored_files(product)) == 2

    with django_capture_on_commit_callbacks(execute=True):
        staff("DELETE", url(product, f"/{uploaded[1]['id']}"))
    assert ProductImage.objects.get(product=product).is_primary is True
    assert http_status(uploaded[2]["url"], "HEAD") == 200


def test_unknown_products_and_images_are_404(staff, product):
    other = factories.product(category=product.category, images=1)
    image_of_other = other.images.get()

    missing_product = staff("GET", f"/api/v1/admin/products/{uuid.uuid4()}/images")
    missing_image = staff("DELETE", url(product, f"/{uuid.uuid4()}"))
    image_elsewhere = staff("PATCH", url(product, f"/{image_of_other.pk}"), json_body={})

    assert missing_product.status == missing_image.status == image_elsewhere.status == 404
    assert missing_product.json()["error"]["code"] == "not_found"


# --- who may manage them ----------------------------------------------------------------------


@pytest.fixture
def vendors(category):
    shop_a = Vendor.objects.create(name="Aarong", slug="aarong")
    shop_b = Vendor.objects.create(name="Jatra", slug="jatra")
    return {
        "a": factories.product(category=category, vendor=shop_a, images=1),
        "b": factories.product(category=category, vendor=shop_b, images=1),
        "house": factories.product(category=category, images=1),
        "shop_a": shop_a,
    }


def every_route(client: Client, product) -> list[int]:
    image = product.images.get()
    return [
        client("GET", url(product)).status,
        client("PATCH", url(product, f"/{image.pk}"), json_body={"alt_text_en": "x"}).status,
        client("PUT", url(product, "/order"), json_body={"image_ids": [str(image.pk)]}).status,
        client.upload(product, jpeg(8, 8)).status,
        client("DELETE", url(product, f"/{image.pk}")).status,
    ]


@pytest.mark.parametrize("role", [UserRole.VENDOR_OWNER, UserRole.VENDOR_STAFF])
def test_vendor_people_manage_their_own_products_images_only(vendors, server_key, role):
    member = Client(make_user(role, vendor=vendors["shop_a"]), server_key)

    assert every_route(member, vendors["b"]) == [403] * 5
    assert every_route(member, vendors["house"]) == [403] * 5
    assert every_route(member, vendors["a"]) == [200, 200, 200, 201, 204]
    assert ProductImage.objects.filter(product=vendors["b"]).count() == 1


def test_a_vendor_bound_key_never_leaves_its_vendor_even_for_staff(vendors, kv):
    key, secret = api_key_create(
        name="Aarong sync", kind="secret", scopes=["catalog:manage"], vendor=vendors["shop_a"]
    )
    headers = {"X-API-Key": key.key_id, "X-API-Secret": secret}
    owner = Client(make_user(UserRole.VENDOR_OWNER, vendor=vendors["shop_a"]), headers)
    staff = Client(make_user(UserRole.STAFF), headers)

    assert owner("GET", url(vendors["a"])).status == staff("GET", url(vendors["a"])).status == 200
    assert owner("GET", url(vendors["b"])).status == staff("GET", url(vendors["b"])).status == 403
    assert staff("GET", url(vendors["house"])).status == 403


def test_staff_manage_every_product_and_others_are_refused(vendors, staff, server_key, kv):
    customer = Client(make_user(UserRole.CUSTOMER), server_key)
    support = Client(make_user(UserRole.SUPPORT), server_key)
    key, secret = api_key_create(name="shop", kind="secret", scopes=["storefront:read"])
    storefront_staff = Client(
        make_user(UserRole.STAFF), {"X-API-Key": key.key_id, "X-API-Secret": secret}
    )
    anonymous = call(api.product_images.app, "GET", url(vendors["a"]), headers=server_key)

    assert staff("GET", url(vendors["b"])).status == 200
    assert staff("GET", url(vendors["house"])).status == 200
    assert customer("GET", url(vendors["a"])).status == 403
    assert support("GET", url(vendors["house"])).status == 403
    refused = storefront_staff("GET", url(vendors["a"]))
    assert (refused.status, refused.json()["error"]["code"]) == (403, "scope_denied")
    assert (anonymous.status, anonymous.json()["error"]["code"]) == (401, "unauthenticated")


def test_the_function_documents_its_routes():
    paths = api.product_images.app.openapi_schema()["paths"]

    assert set(paths) == {
        "/api/v1/admin/products/{product_id}/images",
        "/api/v1/admin/products/{product_id}/images/order",
        "/api/v1/admin/products/{product_id}/images/{image_id}",
    }
