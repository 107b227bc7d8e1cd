"""Shipping addresses: validation against Bangladesh's geography, and a shopper's saved
addresses (one default each)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any

from django.db import transaction
from ninja import Field, Schema

from db.models import Address, District, Upazila
from lib.access.services import phone_normalize
from lib.errors import ApiError, NotFound

MAX_SAVED_ADDRESSES = 20
POSTAL_CODE = re.compile(r"^\d{4}$")
IGNORED = re.compile(r"[\s'’`.,\-_()]+")
BANGLA_DIGITS = str.maketrans("০১২৩৪৫৬৭৮৯", "0123456789")

# Other spellings (as name keys, see `name_key`) -> the canonical English name stored.
ALIASES: dict[str, str] = {
    "chittagong": "Chattogram",
    "chattagram": "Chattogram",
    "chittagram": "Chattogram",
    "comilla": "Cumilla",
    "barisal": "Barishal",
    "bogra": "Bogura",
    "jessore": "Jashore",
    "coxsbazar": "Cox's Bazar",
    "chapainababganj": "Chapainawabganj",
    "nawabganj": "Chapainawabganj",
    "jhalokati": "Jhalakathi",
    "jhalokathi": "Jhalakathi",
    "maulvibazar": "Moulvibazar",
    "netrakona": "Netrokona",
    "khagrachari": "Khagrachhari",
    "jaipurhat": "Joypurhat",
    "laxmipur": "Lakshmipur",
}


def name_key(value: str) -> str:
    """Case-, space- and punctuation-insensitive form of a place name (English or Bangla)."""
    return IGNORED.sub("", unicodedata.normalize("NFC", value).casefold())


class AddressInput(Schema):
    """An address as a shopper types it: places by id or by name (English or Bangla)."""

    full_name: str = Field(..., max_length=255)
    phone: str = Field(..., max_length=32, description="Bangladeshi mobile, e.g. 01712345678")
    address_line1: str = Field(..., max_length=255, description="House, road, block")
    address_line2: str = Field("", max_length=255)
    division: str | int = Field(..., description="Division id or name (English or Bangla)")
    district: str | int = Field(..., description="District id or name (English or Bangla)")
    upazila: str | int | None = Field(None, description="Upazila / thana id or name, optional")
    area: str = Field("", max_length=100, description="Neighbourhood, e.g. Mirpur 10")
    postal_code: str = Field("", max_length=10, description="4 digits")


@dataclass(frozen=True)
class ValidAddress:
    full_name: str
    phone: str  # E.164
    address_line1: str
    address_line2: str
    division_id: int
    division: str
    division_bn: str
    district_id: int
    district: str
    district_bn: str
    upazila_id: int | None
    upazila: str
    upazila_bn: str
    area: str
    postal_code: str
    country: str = "BD"

    def snapshot(self) -> dict[str, Any]:
        """The address as an order keeps it (`Order.shipping_snapshot`)."""
        return asdict(self)

    def model_fields(self) -> dict[str, Any]:
        """Field values for an `Address` row."""
        area = ", ".join(part for part in (self.area, self.upazila) if part)
        return {
            "full_name": self.full_name,
            "phone": self.phone,
            "address_line1": self.address_line1,
            "address_line2": self.address_line2,
            "area": area[:100],
            "city": self.district,
            "division": self.division,
            "postal_code": self.postal_code,
            "country": self.country,
        }


def _matches(row: Any, wanted: str | int) -> bool:
    if isinstance(wanted, int) or (isinstance(wanted, str) and wanted.strip().isdigit()):
        return str(row.pk) == str(wanted).strip()
    key = name_key(wanted)
    canonical = ALIASES.get(key)
    names = {name_key(row.name_en), name_key(row.name_bn)}
    return key in names or (canonical is not None and name_key(canonical) in names)


def _pick(rows: list, wanted: str | int | None) -> Any | None:
    if wanted is None or (isinstance(wanted, str) and not wanted.strip()):
        return None
    return next((row for row in rows if _matches(row, wanted)), None)


def _text(value: str) -> str:
    return " ".join(unicodedata.normalize("NFC", value).split())


def address_validate(*, data: AddressInput) -> ValidAddress:
    """Check an address against the geography (two queries); 422 with field errors."""
    errors: dict[str, list[str]] = {}
    full_name, line1 = _text(data.full_name), _text(data.address_line1)
    if not full_name:
        errors["full_name"] = ["Enter the recipient's name."]
    if len(line1) < 3:
        errors["address_line1"] = ["Enter the house, road and area."]
    try:
        phone = phone_normalize(data.phone)
    except ValueError:
        phone = ""
        errors["phone"] = ["Enter a valid Bangladeshi mobile number, e.g. 01712345678."]
    postal_code = _text(data.postal_code).translate(BANGLA_DIGITS)
    if postal_code and not POSTAL_CODE.match(postal_code):
        errors["postal_code"] = ["A postal code has 4 digits."]

    districts = list(District.objects.select_related("division"))
    divisions = list({d.division_id: d.division for d in districts}.values())
    division = _pick(divisions, data.division)
    district = _pick(districts, data.district)
    upazila = None
    if division is None:
        errors["division"] = ["Unknown division."]
    if district is None:
        errors["district"] = ["Unknown district."]
    elif division is not None and district.division_id != division.pk:
        errors["district"] = [f"{district.name_en} is not in {division.name_en} division."]
    elif data.upazila is not None and str(data.upazila).strip():
        upazila = _pick(list(Upazila.objects.filter(district=district)), data.upazila)
        if upazila is None:
            errors["upazila"] = [f"Unknown upazila / thana in {district.name_en}."]
    if errors:
        raise ApiError("validation_error", status=422, fields=errors)
    return ValidAddress(
        full_name=full_name,
        phone=phone,
        address_line1=line1,
        address_line2=_text(data.address_line2),
        division_id=division.pk,
        division=division.name_en,
        division_bn=division.name_bn,
        district_id=district.pk,
        district=district.name_en,
        district_bn=district.name_bn,
        upazila_id=upazila.pk if upazila else None,
        upazila=upazila.name_en if upazila else "",
        upazila_bn=upazila.name_bn if upazila else "",
        area=_text(data.area),
        postal_code=postal_code,
    )


# --- saved addresses --------------------------------------------------------------------


def addresses_list(*, user_id: str) -> list[Address]:
    return list(Address.objects.filter(user_id=user_id).order_by("-is_default", "-created_at"))


def _owned(user_id: str, address_id: str, *, lock: bool = False) -> Address:
    rows = Address.objects.filter(user_id=user_id, pk=address_id)
    address = (rows.select_for_update() if lock else rows).first()
    if address is None:
        raise NotFound()
    return address


def _clear_default(user_id: str) -> None:
    Address.objects.filter(user_id=user_id, is_default=True).update(is_default=False)


@transaction.atomic
def address_create(*, user_id: str, data: AddressInput, make_default: bool = False) -> Address:
    valid = address_validate(data=data)
    # Lock the shopper's addresses so concurrent creates agree on the default.
    existing = list(Address.objects.select_for_update().filter(user_id=user_id).values_list("pk"))
    if len(existing) >= MAX_SAVED_ADDRESSES:
        raise ApiError("address_limit_reached", status=409)
    make_default = make_default or not existing
    if make_default:
        _clear_default(user_id)
    return Address.objects.create(user_id=user_id, is_default=make_default, **valid.model_fields())


@transaction.atomic
def address_update(
    *, user_id: str, address_id: str, data: AddressInput, make_default: bool = False
) -> Address:
    address = _owned(user_id, address_id, lock=True)
    for name, value in address_validate(data=data).model_fields().items():
        setattr(address, name, value)
    if make_default and not address.is_default:
        _clear_default(user_id)
        address.is_default = True
    address.save()
    return address


@transaction.atomic
def address_set_default(*, user_id: str, address_id: str) -> Address:
    address = _owned(user_id, address_id, lock=True)
    if not address.is_default:
        _clear_default(user_id)
        address.is_default = True
        address.save(update_fields=["is_default", "updated_at"])
    return address


@transaction.atomic
def address_delete(*, user_id: str, address_id: str) -> None:
    """Remove a saved address; one that orders point to is only detached from the shopper.
    When the default goes, the newest remaining address becomes the default."""
    address = _owned(user_id, address_id, lock=True)
    was_default = address.is_default
    if address.orders.exists():
        address.user = None
        address.is_default = False
        address.save(update_fields=["user", "is_default", "updated_at"])
    else:
        address.delete()
    if was_default:
        newest = Address.objects.filter(user_id=user_id).order_by("-created_at").first()
        if newest is not None:
            newest.is_default = True
            newest.save(update_fields=["is_default", "updated_at"])
