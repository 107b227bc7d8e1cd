"""Money: Decimal BDT with two places; shown as ৳ with lakh/crore grouping."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from lib.i18n import Language

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
