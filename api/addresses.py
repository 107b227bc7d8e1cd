"""Saved addresses and geography for address forms: /api/v1/me/addresses and
/api/v1/geo/... (divisions, their districts, a district's upazilas)."""

from datetime import datetime
from uuid import UUID

from lib.runtime import make_app

from django.http import HttpResponse
from ninja import Field, Router, Schema, Status

from db.models import District, Division, Upazila
from lib.access.permissions import Require
from lib.checkout import addresses
from lib.checkout.addresses import AddressInput
from lib.errors import NotFound
from lib.i18n import request_language
from lib.schemas import ErrorOut, InputSchema

me = Router(tags=["addresses"], auth=Require())
geo = Router(tags=["geography"])

GEO_CACHE_CONTROL = "public, max-age=3600, s-maxage=86400, stale-while-revalidate=86400"


class AddressIn(InputSchema, AddressInput):
    is_default: bool = Field(False, description="Make this the default shipping address")


class AddressOut(Schema):
    id: UUID
    full_name: str
    phone: str
    address_line1: str
    address_line2: str
    area: str
    city: str = Field(..., description="District")
    division: str
    postal_code: str
    country: str
    is_default: bool
    created_at: datetime
    updated_at: datetime


class AddressListOut(Schema):
    items: list[AddressOut]


class PlaceOut(Schema):
    id: int
    name: str = Field(..., description="In the response language")
    name_en: str
    name_bn: str


class PlaceListOut(Schema):
    items: list[PlaceOut]


# --- saved addresses ---------------------------------------------------------------------


@me.get("", response=AddressListOut)
def address_list(request):
    """The signed-in shopper's saved addresses, the default first."""
    return {"items": addresses.addresses_list(user_id=request.auth.user_id)}


@me.post("", response={201: AddressOut, 409: ErrorOut})
def address_create(request, payload: AddressIn):
    """Save an address (the first one becomes the default)."""
    address = addresses.address_create(
        user_id=request.auth.user_id, data=payload, make_default=payload.is_default
    )
    return Status(201, address)


@me.put("/{address_id}", response=AddressOut)
def address_update(request, address_id: UUID, payload: AddressIn):
    """Replace a saved address."""
    return addresses.address_update(
        user_id=request.auth.user_id,
        address_id=str(address_id),
        data=payload,
        make_default=payload.is_default,
    )


@me.post("/{address_id}/default", response=AddressOut)
def address_set_default(request, address_id: UUID):
    """Make this the default shipping address."""
    return addresses.address_set_default(user_id=request.auth.user_id, address_id=str(address_id))


@me.delete("/{address_id}", response={204: None})
def address_delete(request, address_id: UUID):
    """Delete a saved address; if it was the default, the newest other one takes over."""
    addresses.address_delete(user_id=request.auth.user_id, address_id=str(address_id))
    return Status(204, None)


# --- geography ---------------------------------------------------------------------------


def _places(request, response: HttpResponse, rows) -> dict:
    bangla = request_language(request) == "bn"
    response["Cache-Control"] = GEO_CACHE_CONTROL
    return {
        "items": [
            {
                "id": row.pk,
                "name": row.name_bn if bangla else row.name_en,
                "name_en": row.name_en,
                "name_bn": row.name_bn,
            }
            for row in rows
        ]
    }


@geo.get("/divisions", response=PlaceListOut)
def divisions(request, response: HttpResponse):
    """Bangladesh's 8 divisions."""
    return _places(request, response, Division.objects.order_by("name_en"))


@geo.get("/divisions/{division_id}/districts", response=PlaceListOut)
def districts(request, response: HttpResponse, division_id: int):
    """The districts of a division."""
    rows = list(District.objects.filter(division_id=division_id).order_by("name_en"))
    if not rows:
        raise NotFound()
    return _places(request, response, rows)


@geo.get("/districts/{district_id}/upazilas", response=PlaceListOut)
def upazilas(request, response: HttpResponse, district_id: int):
    """The upazilas / thanas of a district."""
    rows = list(Upazila.objects.filter(district_id=district_id).order_by("name_en"))
    if not rows:
        raise NotFound()
    return _places(request, response, rows)


app = make_app(
    "addresses",
    [("/me/addresses", me), ("/geo", geo)],
    title="Zest Store addresses and geography",
)
