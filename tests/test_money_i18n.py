from decimal import Decimal

import pytest
from ninja import Schema

from lib.i18n import parse_accept_language
from lib.money import Money, format_bdt, money, quantize_bdt


@pytest.mark.parametrize(
    ("amount", "english", "bangla"),
    [
        ("0", "৳0.00", "৳০.০০"),
        ("999.5", "৳999.50", "৳৯৯৯.৫০"),
        ("1000", "৳1,000.00", "৳১,০০০.০০"),
        ("100000", "৳1,00,000.00", "৳১,০০,০০০.০০"),
        ("12345678.505", "৳1,23,45,678.51", "৳১,২৩,৪৫,৬৭৮.৫১"),
        ("-2500", "-৳2,500.00", "-৳২,৫০০.০০"),
    ],
)
def test_bdt_uses_lakh_crore_grouping_and_bangla_digits(amount, english, bangla):
    assert format_bdt(Decimal(amount)) == english
    assert format_bdt(Decimal(amount), "bn") == bangla


def test_quantize_rounds_half_up_to_poisha():
    assert quantize_bdt("0.005") == Decimal("0.01")
    assert quantize_bdt(7) == Decimal("7.00")


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("", "en"),
        ("bn", "bn"),
        ("bn-BD,bn;q=0.9,en;q=0.8", "bn"),
        ("en-US,en;q=0.9,bn;q=0.8", "en"),
        ("fr, bn;q=0.5", "bn"),
        ("bn;q=0", "en"),
        ("bn;q=abc, en", "en"),
        ("de, fr", "en"),
    ],
)
def test_accept_language_picks_english_or_bangla(header, language):
    assert parse_accept_language(header) == language


def test_money_is_amount_with_two_decimals_currency_and_display():
    assert money(Decimal("445")).model_dump() == {
        "amount": "445.00",
        "currency": "BDT",
        "display": "৳445.00",
    }
    assert money(Decimal("100000"), "bn").model_dump(mode="json")["display"] == "৳১,০০,০০০.০০"


def test_a_money_field_takes_the_bare_amount_in_the_callers_language(rf):
    class PriceOut(Schema):
        price: Money
        compare_price: Money | None = None

    request = rf.get("/", HTTP_ACCEPT_LANGUAGE="bn")
    out = PriceOut.model_validate({"price": Decimal("1250.5")}, context={"request": request})

    assert out.model_dump() == {
        "price": {"amount": "1250.50", "currency": "BDT", "display": "৳১,২৫০.৫০"},
        "compare_price": None,
    }
