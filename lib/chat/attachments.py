"""Chat attachments: what an upload really is (decided from its bytes, as for product
images), stored in the Blob store before the message row is written.

Accepted: complete JPEG, PNG, WebP or AVIF images (checked by `lib.catalog.images`) and PDF
documents (`%PDF-` header, `%%EOF` trailer), at most `CHAT_ATTACHMENT_MAX_BYTES`. The name
and content type the client sends are never trusted; SVG, HTML and anything else are refused.
"""

from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from lib.catalog.images import COMPLETE, image_format_of
from lib.catalog.services import blobs_delete
from lib.conf import chat_config
from lib.errors import ApiError

CONTENT_TYPES = {
    "jpg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "avif": "image/avif",
    "pdf": "application/pdf",
}
PDF_TRAILER_WINDOW = 1024  # `%%EOF` must be near the end
MAX_NAME_CHARS = 120


@dataclass(frozen=True, slots=True)
class AttachmentFile:
    data: bytes
    extension: str
    name: str

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.extension]


def pdf_complete(data: bytes) -> bool:
    return data.startswith(b"%PDF-") and b"%%EOF" in data[-PDF_TRAILER_WINDOW:]


def attachment_name(raw: str, extension: str) -> str:
    """A display name: the client's, without path or control characters, with our extension."""
    base = (raw or "").replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
    base = "".join(c for c in unicodedata.normalize("NFC", base) if c.isprintable()).strip()
    return f"{(base or 'attachment')[:MAX_NAME_CHARS]}.{extension}"


def attachment_inspect(data: bytes, *, name: str = "") -> AttachmentFile:
    limit = chat_config.attachment_max_bytes
    if not data:
        raise ApiError("chat_attachment_empty", status=422)
    if len(data) > limit:
        raise ApiError("chat_attachment_too_large", status=413, fields={"max_bytes": limit})
    extension = "pdf" if data.startswith(b"%PDF-") else image_format_of(data)
    if extension is None:
        raise ApiError("chat_attachment_type_unsupported", status=422)
    complete = pdf_complete if extension == "pdf" else COMPLETE[extension]
    if not complete(data):
        raise ApiError("chat_attachment_corrupt", status=422)
    return AttachmentFile(data, extension, attachment_name(name, extension))


def attachment_read(upload: Any) -> AttachmentFile:
    """Inspect an uploaded file, reading at most one byte more than the size limit."""
    data = upload.read(chat_config.attachment_max_bytes + 1)
    return attachment_inspect(data, name=getattr(upload, "name", "") or "")


def attachment_store(*, conversation_id: str, file: AttachmentFile) -> dict[str, Any]:
    """Save the file in the Blob store; the attachment record a message keeps."""
    pathname = default_storage.save(
        f"chat/{conversation_id}/{uuid.uuid4().hex}.{file.extension}", ContentFile(file.data)
    )
    return {
        "url": default_storage.url(pathname),
        "pathname": pathname,
        "content_type": file.content_type,
        "size": len(file.data),
        "name": file.name,
    }


def attachments_discard(records: list[dict[str, Any]]) -> None:
    """Delete stored files no message will point at (the write that needed them failed)."""
    blobs_delete([record["pathname"] for record in records if record.get("pathname")])
