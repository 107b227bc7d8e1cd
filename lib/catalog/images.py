"""Product images: what an upload really is (decided from its bytes), and the image rows.

An upload is accepted only when its bytes are a complete JPEG, PNG, WebP or AVIF image whose
header declares at least one and at most `IMAGE_MAX_PIXELS` pixels, in at most
`IMAGE_MAX_BYTES`. The file name and the client's content type are never consulted: the stored
name's extension (and so the content type the Blob store serves) comes from the bytes. SVG
(it can carry script), GIF, HTML and anything else are refused.

The file goes to `default_storage` (Vercel Blob) before the row is written, outside the
transaction (no row lock is held during the upload); if the row cannot be written the file
is deleted again. A deleted image's file is deleted after the commit.

Every write locks the product row first, so concurrent writes to one product's images are
serialised: there is always exactly one primary image while a product has any (the first
upload becomes primary; deleting the primary promotes the next in display order).
"""

from __future__ import annotations

import io
import struct
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import imagesize
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Count, Max, Q, Subquery
from django.utils import timezone

from db.models import Product, ProductImage
from lib.catalog.category_services import cache_invalidate_on_commit
from lib.catalog.services import blobs_delete
from lib.conf import config
from lib.errors import ApiError, NotFound

# --- what the bytes are ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImageFile:
    """Bytes proved to be a complete image of an accepted format."""

    data: bytes
    extension: str  # also decides the content type the store serves
    width: int
    height: int


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
AVIF_BRANDS = frozenset({b"avif", b"avis"})


def image_format_of(data: bytes) -> str | None:
    """The accepted format the magic bytes announce: "jpg", "png", "webp", "avif" or None."""
    if data.startswith(PNG_SIGNATURE):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[4:8] == b"ftyp":
        size = int.from_bytes(data[:4], "big")
        brands = data[8:12], *(data[i : i + 4] for i in range(16, min(size, len(data)) - 3, 4))
        if AVIF_BRANDS.intersection(brands):
            return "avif"
    return None


def png_complete(data: bytes) -> bool:
    """Every chunk fits and has a good CRC, from IHDR first to IEND."""
    offset, first = len(PNG_SIGNATURE), True
    while offset + 12 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, offset)
        end = offset + 12 + length
        if end > len(data) or (first and kind != b"IHDR"):
            return False
        if zlib.crc32(data[offset + 4 : end - 4]) != int.from_bytes(data[end - 4 : end], "big"):
            return False
        if kind == b"IEND":
            return True
        offset, first = end, False
    return False


def jpeg_complete(data: bytes) -> bool:
    """The segments chain up to the first scan, and the end-of-image marker follows it (a
    marker inside an embedded thumbnail does not count)."""
    offset = 2
    while offset + 4 <= len(data) and data[offset] == 0xFF:
        marker = data[offset + 1]
        if marker == 0xFF:  # fill byte
            offset += 1
            continue
        end = offset + 2 + int.from_bytes(data[offset + 2 : offset + 4], "big")
        if marker == 0xDA:  # start of scan: entropy-coded data runs to the end marker
            return data.find(b"\xff\xd9", end) > 0
        offset = end
    return False


def webp_complete(data: bytes) -> bool:
    """The RIFF container and its first chunk fit the bytes; the bitstream signature is right."""
    riff_end = 8 + int.from_bytes(data[4:8], "little")
    chunk_end = 20 + int.from_bytes(data[16:20], "little")
    if not 30 <= chunk_end <= riff_end <= len(data):
        return False
    kind = data[12:16]
    if kind == b"VP8 ":
        return data[23:26] == b"\x9d\x01\x2a"  # a key frame's start code
    if kind == b"VP8L":
        return data[20] == 0x2F
    return kind == b"VP8X"


def avif_complete(data: bytes) -> bool:
    """The top-level boxes tile the bytes exactly and include the metadata and the media."""
    offset, kinds = 0, set()
    while offset < len(data):
        if offset + 8 > len(data):
            return False
        size, kind = struct.unpack_from(">I4s", data, offset)
        if size == 1 and offset + 16 <= len(data):
            size = int.from_bytes(data[offset + 8 : offset + 16], "big")
        elif size == 0:
            size = len(data) - offset
        if size < 8 or offset + size > len(data):
            return False
        kinds.add(kind)
        offset += size
    return {b"meta", b"mdat"} <= kinds


COMPLETE = {"png": png_complete, "jpg": jpeg_complete, "webp": webp_complete, "avif": avif_complete}


def image_inspect(data: bytes) -> ImageFile:
    """Accept `data` as an image, or say precisely why not (the caller's language)."""
    if not data:
        raise ApiError("image_empty", status=422)
    if len(data) > config.image_max_bytes:
        raise ApiError("image_too_large", status=413, fields={"max_bytes": config.image_max_bytes})
    extension = image_format_of(data)
    if extension is None:
        raise ApiError("image_type_unsupported", status=422)
    if not COMPLETE[extension](data):
        raise ApiError("image_corrupt", status=422)
    try:
        width, height = imagesize.get_info(
            io.BytesIO(data), dpi=False, colors=False, channels=False
        )[:2]
    except Exception:  # a header parser fed hostile bytes may fail in any way
        raise ApiError("image_corrupt", status=422) from None
    if width < 0 or height < 0:  # the header holds no dimensions
        raise ApiError("image_corrupt", status=422)
    if width == 0 or height == 0 or width * height > config.image_max_pixels:
        fields = {"width": width, "height": height, "max_pixels": config.image_max_pixels}
        raise ApiError("image_dimensions_invalid", status=422, fields=fields)
    return ImageFile(data, extension, width, height)


def image_read(upload: Any) -> ImageFile:
    """Inspect an uploaded file, reading at most one byte more than the size limit."""
    return image_inspect(upload.read(config.image_max_bytes + 1))


# --- the rows -------------------------------------------------------------------------------


def product_lock(product: Product) -> None:
    """Serialise writes to one product's images until the transaction ends (404 if the
    product was deleted meanwhile)."""
    if not Product.objects.select_for_update().filter(pk=product.pk).exists():
        raise NotFound()


def images_changed(product: Product, *, deleted_file: str = "") -> None:
    """Once committed: delete the file of a deleted image, forget the cached product and
    its category listings (they show the primary image)."""
    if deleted_file:
        transaction.on_commit(lambda: blobs_delete([deleted_file]), robust=True)
    cache_invalidate_on_commit(product_ids=[product.pk], category_ids=[product.category_id])


def product_image_list(*, product: Product) -> list[ProductImage]:
    return list(ProductImage.objects.filter(product=product).order_by("sort_order", "created_at"))


def product_image_get(*, product: Product, image_id: Any) -> ProductImage:
    image = ProductImage.objects.filter(product=product, pk=image_id).first()
    if image is None:
        raise NotFound()
    return image


def product_image_upload(
    *,
    product: Product,
    image: ImageFile,
    alt_text_en: str = "",
    alt_text_bn: str = "",
    is_primary: bool = False,
) -> ProductImage:
    """Store the file, then add it after the product's other images."""
    name = default_storage.save(
        f"products/{product.pk}/{uuid.uuid4().hex}.{image.extension}", ContentFile(image.data)
    )
    try:
        with transaction.atomic():
            row = product_image_insert(
                product=product,
                image_url=default_storage.url(name),
                blob_pathname=name,
                alt_text_en=alt_text_en,
                alt_text_bn=alt_text_bn,
                is_primary=is_primary,
            )
    except BaseException:
        blobs_delete([name])  # no row will ever point at it
        raise
    return row


def product_image_insert(*, product: Product, is_primary: bool, **fields: Any) -> ProductImage:
    product_lock(product)
    images = ProductImage.objects.filter(product=product)
    stats = images.aggregate(
        count=Count("id"), last=Max("sort_order"), primaries=Count("id", filter=Q(is_primary=True))
    )
    if stats["count"] >= config.image_max_per_product:
        raise ApiError(
            "image_limit_reached", status=409, fields={"max": config.image_max_per_product}
        )
    if is_primary and stats["primaries"]:
        images.filter(is_primary=True).update(is_primary=False)
    row = ProductImage.objects.create(
        product=product,
        is_primary=is_primary or not stats["primaries"],
        sort_order=0 if stats["last"] is None else stats["last"] + 1,
        **fields,
    )
    images_changed(product)
    return row


@transaction.atomic
def product_image_update(
    *,
    product: Product,
    image_id: Any,
    alt_text_en: str | None = None,
    alt_text_bn: str | None = None,
    is_primary: bool | None = None,
    sort_order: int | None = None,
) -> ProductImage:
    """Change what is given; making an image primary demotes the previous primary."""
    product_lock(product)
    image = product_image_get(product=product, image_id=image_id)
    changes = {"alt_text_en": alt_text_en, "alt_text_bn": alt_text_bn, "sort_order": sort_order}
    changes = {field: value for field, value in changes.items() if value is not None}
    if is_primary is False and image.is_primary:
        raise ApiError("image_primary_required", status=422)
    if is_primary and not image.is_primary:
        ProductImage.objects.filter(product=product, is_primary=True).update(is_primary=False)
        changes["is_primary"] = True
    if changes:
        for field, value in changes.items():
            setattr(image, field, value)
        image.save(update_fields=[*changes, "updated_at"])
        images_changed(product)
    return image


@transaction.atomic
def product_image_reorder(*, product: Product, image_ids: Sequence[Any]) -> list[ProductImage]:
    """Display the product's images in the order of `image_ids` (all of them, once each)."""
    product_lock(product)
    images = {str(image.pk): image for image in ProductImage.objects.filter(product=product)}
    ordered = [str(pk) for pk in image_ids]
    if len(ordered) != len(images) or set(ordered) != images.keys():
        raise ApiError("image_order_mismatch", status=422, fields={"image_ids": sorted(images)})
    now = timezone.now()
    for position, pk in enumerate(ordered):
        images[pk].sort_order, images[pk].updated_at = position, now
    ProductImage.objects.bulk_update(images.values(), ["sort_order", "updated_at"])
    images_changed(product)
    return [images[pk] for pk in ordered]


@transaction.atomic
def product_image_delete(*, product: Product, image_id: Any) -> None:
    """Delete the row, promote the next image if it was the primary; the file goes after
    the commit."""
    product_lock(product)
    image = product_image_get(product=product, image_id=image_id)
    image.delete()
    if image.is_primary:
        following = ProductImage.objects.filter(product=product).order_by(
            "sort_order", "created_at"
        )
        ProductImage.objects.filter(pk=Subquery(following.values("pk")[:1])).update(is_primary=True)
    images_changed(product, deleted_file=image.blob_pathname)
