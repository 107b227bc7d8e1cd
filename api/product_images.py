"""Product images for staff and vendors: /api/v1/admin/products/{product_id}/images."""

from datetime import datetime
from uuid import UUID

from lib.runtime import make_app

from ninja import Field, File, Form, Router, Schema, Status, UploadedFile

from lib.catalog import images
from lib.catalog.services import CATALOG_EDITOR, product_admin_get
from lib.schemas import ErrorOut, InputSchema

router = Router(tags=["admin: product images"])
IMAGES = "/{uuid:product_id}/images"
IMAGE = IMAGES + "/{uuid:image_id}"


class AdminImageOut(Schema):
    id: UUID
    url: str = Field(..., alias="image_url")
    alt_text_en: str
    alt_text_bn: str
    is_primary: bool
    sort_order: int
    created_at: datetime
    updated_at: datetime


class AdminImageListOut(Schema):
    items: list[AdminImageOut]


class ImageUploadIn(Schema):
    alt_text_en: str = Field("", max_length=255)
    alt_text_bn: str = Field("", max_length=255)
    is_primary: bool = Field(False, description="Make it the primary image (the first always is)")


class ImageUpdateIn(InputSchema):
    alt_text_en: str | None = Field(None, max_length=255)
    alt_text_bn: str | None = Field(None, max_length=255)
    is_primary: bool | None = Field(None, description="true makes it the primary image")
    sort_order: int | None = Field(None, ge=0, le=10_000)


class ImageOrderIn(InputSchema):
    image_ids: list[UUID] = Field(..., max_length=100, description="Every image, in display order")


# Staff, or the product's vendor's people (checked per product), through a catalog key.
manager = CATALOG_EDITOR


@router.get(IMAGES, response=AdminImageListOut, auth=manager)
def list_product_images(request, product_id: UUID):
    """The product's images in display order."""
    product = product_admin_get(request, product_id=product_id)
    return {"items": images.product_image_list(product=product)}


@router.post(IMAGES, response={201: AdminImageOut, 409: ErrorOut}, auth=manager)
def upload_product_image(
    request, product_id: UUID, file: File[UploadedFile], data: Form[ImageUploadIn]
):
    """Upload a JPEG, PNG, WebP or AVIF image (multipart field `file`). Its type, size and
    dimensions are read from the bytes; the file name and content type sent are ignored."""
    product = product_admin_get(request, product_id=product_id)
    image = images.image_read(file)
    return Status(201, images.product_image_upload(product=product, image=image, **data.dict()))


@router.put(f"{IMAGES}/order", response=AdminImageListOut, auth=manager)
def reorder_product_images(request, product_id: UUID, payload: ImageOrderIn):
    """Set the display order: the ids of all the product's images, first to last."""
    product = product_admin_get(request, product_id=product_id)
    ordered = images.product_image_reorder(product=product, image_ids=payload.image_ids)
    return {"items": ordered}


@router.patch(IMAGE, response=AdminImageOut, auth=manager)
def update_product_image(request, product_id: UUID, image_id: UUID, payload: ImageUpdateIn):
    """Change alt texts, position, or make this the primary image."""
    product = product_admin_get(request, product_id=product_id)
    return images.product_image_update(
        product=product, image_id=image_id, **payload.dict(exclude_unset=True)
    )


@router.delete(IMAGE, response={204: None}, auth=manager)
def delete_product_image(request, product_id: UUID, image_id: UUID):
    """Delete the image and its stored file; the next image becomes primary if needed."""
    product = product_admin_get(request, product_id=product_id)
    images.product_image_delete(product=product, image_id=image_id)
    return Status(204, None)


app = make_app(
    "product_images",
    [("/admin/products", router)],
    title="Zest Store product images",
)
