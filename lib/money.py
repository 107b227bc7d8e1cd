"""Money: Decimal BDT with two places; shown as ৳ with lakh/crore grouping."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)

from lib.i18n import Language, request_language

TWO_PLACES = Decimal("0.01")
BANGLA_DIGITS = str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯")


def quantize_bdt(amount: Decimal | int | str) -> Decimal:
    return Decimal(amount).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def group_south_asian(digits: str) -> str:
    """`12345678` -> `1,23,45,678`: the last three digits, then groups of two."""
    if len(digits) <= 3:
        return digits
    head, tail = digits[:-3], digits[-3:]
    groups = []
    while len(head) > 2:
        groups.insert(0, head[-2:])
        head = head[:-2]
    if head:
        groups.insert(0, head)
    return ",".join([*groups, tail])


def format_bdt(amount: Decimal | int | str, language: Language = "en") -> str:
    """`Decimal("100000")` -> `৳1,00,000.00`; in Bangla `৳১,০০,০০০.০০`."""
    value = quantize_bdt(amount)
    sign = "-" if value < 0 else ""
    whole, _, fraction = f"{abs(value):.2f}".partition(".")
    text = f"{sign}৳{group_south_asian(whole)}.{fraction}"
    return text.translate(BANGLA_DIGITS) if language == "bn" else text


# --- the one money shape of JSON responses -------------------------------------------------

CURRENCY = "BDT"
AMOUNT_JSON_SCHEMA = {
    "type": "string",
    "pattern": r"^-?[0-9]+\.[0-9]{2}$",
    "description": "BDT with exactly two decimals, as a string",
    "examples": ["445.00"],
}
Amount = Annotated[
    Decimal,
    BeforeValidator(quantize_bdt),
    PlainSerializer(lambda value: f"{value:.2f}", return_type=str),
    WithJsonSchema(AMOUNT_JSON_SCHEMA),
]


class Money(BaseModel):
    """An amount of money, the same shape in every response: `amount` in BDT with two
    decimals (a string), `currency` and `display` (৳ with lakh/crore grouping, in Bangla
    digits for `Accept-Language: bn`)."""

    # A response field typed `Money` also takes the bare amount (a `Decimal`) and renders it in
    # the language of the request being answered (ninja's validation context).
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    amount: Amount
    currency: Literal["BDT"] = CURRENCY
    display: str

    @model_validator(mode="before")
    @classmethod
    def from_amount(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, Decimal | int | str):
            return money_fields(value, language_of_context(info.context))
        return value


def language_of_context(context: Any) -> Language:
    request = context.get("request") if isinstance(context, dict) else None
    return request_language(request) if request is not None else "en"


def money_fields(amount: Decimal | int | str, language: Language = "en") -> dict[str, Any]:
    value = quantize_bdt(amount)
    return {"amount": value, "currency": CURRENCY, "display": format_bdt(value, language)}


def money(amount: Decimal | int | str, language: Language = "en") -> Money:
    """The response shape of `amount` for a reader of `language`."""
    return Money.model_construct(**money_fields(amount, language))
