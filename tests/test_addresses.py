"""Addresses: validation against the geography, saved addresses, geography endpoints."""

from __future__ import annotations

import importlib
import itertools
from decimal import Decimal

import pytest
from django.apps import apps

import api.addresses
from db.models import Address, District, Division, Order, Upazila, User
from lib.access.sessions import session_start
from lib.checkout.addresses import AddressInput, address_validate
from lib.errors import ApiError
from tests.support import call

pytestmark = pytest.mark.django_db

_people = itertools.count(1)


@pytest.fixture(autouse=True)
def geo():
    """The data migration's rows (reloaded when a transactional test emptied the tables)."""
    importlib.import_module("migrations.0007_geo_and_shipping").geo_load(apps)


@pytest.fixture
def person(server_key):
    def person():
        user = User.objects.create_user(
            email=f"shopper-{next(_people)}@shop.test", password=None, role="customer"
        )
        tokens = session_start(user=user, ip="127.0.0.1", user_agent="test")
        return user, {**server_key, "Authorization": f"Bearer {tokens.access_token}"}

    return person


def address(**fields) -> dict:
    return {
        "full_name": "Rahim Uddin",
        "phone": "01712345678",
        "address_line1": "House 12, Road 5",
        "division": "Dhaka",
        "district": "Dhaka",
        "upazila": "Savar",
        "postal_code": "1340",
        **fields,
    }


def refused(**fields) -> dict:
    with pytest.raises(ApiError) as caught:
        address_validate(data=AddressInput(**address(**fields)))
    assert caught.value.status_code == 422
    return caught.value.fields


def send(method: str, url: str, **kwargs):
    return call(api.addresses.app, method, url, **kwargs)


# --- the data migration ------------------------------------------------------------------


def test_the_data_migration_loaded_the_geography_bilingually():
    assert Division.objects.count() == 8
    assert District.objects.count() == 64
    assert 480 <= Upazila.objects.count() <= 500
    dhaka = District.objects.get(name_en="Dhaka")
    assert dhaka.name_bn == "ঢাকা" and dhaka.division.name_en == "Dhaka"
    assert District.objects.get(name_en="Chattogram").division.name_en == "Chattogram"
    assert not Upazila.objects.filter(name_en__endswith=" ").exists()


def test_loading_again_adds_nothing():
    counts = Division.objects.count(), District.objects.count(), Upazila.objects.count()
    importlib.import_module("migrations.0007_geo_and_shipping").geo_load(apps)
    assert (Division.objects.count(), District.objects.count(), Upazila.objects.count()) == counts


# --- validation --------------------------------------------------------------------------


def test_a_valid_address_in_english():
    valid = address_validate(data=AddressInput(**address(phone="+880 1712-345678")))
    assert valid.phone == "+8801712345678"
    assert (valid.division, valid.district, valid.upazila) == ("Dhaka", "Dhaka", "Savar")
    assert valid.district_id == District.objects.get(name_en="Dhaka").pk
    assert valid.upazila_bn == "সাভার"
    assert valid.model_fields()["city"] == "Dhaka"


def test_a_valid_address_in_bangla_with_bangla_digits():
    valid = address_validate(
        data=AddressInput(
            **address(
                division="চট্টগ্রাম",
                district="কুমিল্লা",
                upazila="দেবিদ্বার",
                phone="০১৮১২৩৪৫৬৭৮",
                postal_code="৩৫৩০",
            )
        )
    )
    assert (valid.division, valid.district, valid.upazila) == ("Chattogram", "Cumilla", "Debidwar")
    assert valid.postal_code == "3530" and valid.phone == "+8801812345678"


@pytest.mark.parametrize(
    ("division", "district", "canonical"),
    [
        ("chittagong", "COMILLA", "Cumilla"),
        ("Chattagram", "Cox's Bazar", "Cox's Bazar"),
        ("Barisal", "barisal", "Barishal"),
        ("Rajshahi", "Bogra", "Bogura"),
        ("Khulna", "Jessore", "Jashore"),
        ("Rajshahi", "Chapai Nawabganj", "Chapainawabganj"),
    ],
)
def test_other_spellings_are_accepted_and_stored_canonically(division, district, canonical):
    valid = address_validate(
        data=AddressInput(**address(division=division, district=district, upazila=None))
    )
    assert valid.district == canonical


def test_places_by_id():
    dhaka = District.objects.get(name_en="Dhaka")
    savar = Upazila.objects.get(district=dhaka, name_en="Savar")
    valid = address_validate(
        data=AddressInput(
            **address(division=dhaka.division_id, district=str(dhaka.pk), upazila=savar.pk)
        )
    )
    assert valid.upazila_id == savar.pk


def test_a_district_outside_the_division_is_refused_with_the_field():
    fields = refused(division="Sylhet", district="Dhaka")
    assert list(fields) == ["district"]
    assert "Sylhet" in fields["district"][0]


def test_an_upazila_of_another_district_is_refused():
    assert list(refused(district="Gazipur", upazila="Savar")) == ["upazila"]


def test_unknown_places_are_refused():
    assert set(refused(division="Atlantis", district="Nowhere")) == {"division", "district"}


@pytest.mark.parametrize("phone", ["12345", "+14155550100", "0171234567", "02223344556"])
def test_bad_phones_are_refused(phone):
    assert "phone" in refused(phone=phone)


@pytest.mark.parametrize("postal_code", ["123", "12345", "12a4"])
def test_bad_postal_codes_are_refused(postal_code):
    assert "postal_code" in refused(postal_code=postal_code)


def test_the_address_line_is_required_and_bounded():
    assert "address_line1" in refused(address_line1="  ")
    with pytest.raises(ValueError):
        AddressInput(**address(address_line1="x" * 256))


# --- saved addresses ---------------------------------------------------------------------


def test_saved_addresses_crud_and_default_switching(person):
    _, headers = person()
    first = send("POST", "/api/v1/me/addresses", json_body=address(), headers=headers)
    assert first.status == 201, first.body
    assert first.json()["is_default"] is True
    assert first.json()["phone"] == "+8801712345678"
    second = send(
        "POST",
        "/api/v1/me/addresses",
        json_body=address(district="Gazipur", upazila="Kaliakair", full_name="Karim"),
        headers=headers,
    ).json()
    assert second["is_default"] is False

    switched = send("POST", f"/api/v1/me/addresses/{second['id']}/default", headers=headers)
    assert switched.status == 200 and switched.json()["is_default"] is True
    items = send("GET", "/api/v1/me/addresses", headers=headers).json()["items"]
    assert [item["id"] for item in items] == [second["id"], first.json()["id"]]
    assert [item["is_default"] for item in items] == [True, False]

    updated = send(
        "PUT",
        f"/api/v1/me/addresses/{first.json()['id']}",
        json_body=address(address_line1="Flat 3B, Road 27", is_default=True),
        headers=headers,
    )
    assert updated.status == 200 and updated.json()["address_line1"] == "Flat 3B, Road 27"
    assert Address.objects.filter(user__isnull=False, is_default=True).count() == 1

    deleted = send("DELETE", f"/api/v1/me/addresses/{first.json()['id']}", headers=headers)
    assert deleted.status == 204
    items = send("GET", "/api/v1/me/addresses", headers=headers).json()["items"]
    assert [(item["id"], item["is_default"]) for item in items] == [(second["id"], True)]


def test_invalid_saved_addresses_are_refused_with_fields(person):
    _, headers = person()
    response = send(
        "POST", "/api/v1/me/addresses", json_body=address(division="Sylhet"), headers=headers
    )
    assert response.status == 422
    assert "district" in response.json()["error"]["fields"]


def test_shoppers_see_and_change_only_their_own_addresses(person):
    _, alice = person()
    _, bob = person()
    mine = send("POST", "/api/v1/me/addresses", json_body=address(), headers=alice).json()
    assert send("GET", "/api/v1/me/addresses", headers=bob).json()["items"] == []
    url = f"/api/v1/me/addresses/{mine['id']}"
    assert send("PUT", url, json_body=address(), headers=bob).status == 404
    assert send("POST", f"{url}/default", headers=bob).status == 404
    assert send("DELETE", url, headers=bob).status == 404
    assert Address.objects.filter(pk=mine["id"]).exists()


def test_an_address_used_by_an_order_is_detached_not_deleted(person):
    user, headers = person()
    mine = send("POST", "/api/v1/me/addresses", json_body=address(), headers=headers).json()
    Order.objects.create(
        number="ZS-T-ADDR01",
        user=user,
        payment_method="cod",
        subtotal=Decimal("100.00"),
        total_amount=Decimal("160.00"),
        shipping_address_id=mine["id"],
    )
    assert send("DELETE", f"/api/v1/me/addresses/{mine['id']}", headers=headers).status == 204
    stored = Address.objects.get(pk=mine["id"])
    assert stored.user_id is None and stored.is_default is False
    assert send("GET", "/api/v1/me/addresses", headers=headers).json()["items"] == []


def test_saved_addresses_need_a_signed_in_user(server_key):
    assert send("GET", "/api/v1/me/addresses", headers=server_key).status == 401


# --- geography endpoints -----------------------------------------------------------------


def test_geography_for_dropdowns_is_bilingual_and_cacheable(server_key):
    response = send("GET", "/api/v1/geo/divisions", headers=server_key)
    assert response.status == 200
    assert "max-age" in response.headers["cache-control"]
    divisions = {item["name_en"]: item for item in response.json()["items"]}
    assert len(divisions) == 8 and divisions["Dhaka"]["name_bn"] == "ঢাকা"

    dhaka_division = divisions["Dhaka"]["id"]
    districts = send(
        "GET", f"/api/v1/geo/divisions/{dhaka_division}/districts", headers=server_key
    ).json()["items"]
    assert {"Dhaka", "Gazipur", "Narayanganj"} <= {item["name_en"] for item in districts}

    dhaka = next(item for item in districts if item["name_en"] == "Dhaka")
    upazilas = send(
        "GET",
        f"/api/v1/geo/districts/{dhaka['id']}/upazilas",
        headers={**server_key, "Accept-Language": "bn"},
    ).json()["items"]
    savar = next(item for item in upazilas if item["name_en"] == "Savar")
    assert savar["name"] == "সাভার"


def test_unknown_geography_is_not_found(server_key):
    assert send("GET", "/api/v1/geo/divisions/999/districts", headers=server_key).status == 404
    assert send("GET", "/api/v1/geo/districts/999/upazilas", headers=server_key).status == 404
