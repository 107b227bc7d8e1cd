"""The offline engine's answers: bilingual sentences built from the facts of `knowledge`."""

from __future__ import annotations

from typing import Any

from lib.i18n import Language

TEXTS: dict[str, tuple[str, str]] = {
    "greeting": (
        "Hello! I can help with products and prices, your order's status, delivery, payment "
        "and returns. What would you like to know?",
        "হ্যালো! আমি পণ্য ও দাম, আপনার অর্ডারের অবস্থা, ডেলিভারি, পেমেন্ট ও ফেরত নিয়ে সাহায্য "
        "করতে পারি। কী জানতে চান?",
    ),
    "unknown": (
        "Sorry, I did not understand. You can ask about a product, your order (with its "
        "number), delivery, payment or returns, or ask for a person.",
        "দুঃখিত, বুঝতে পারিনি। কোনো পণ্য, আপনার অর্ডার (নম্বরসহ), ডেলিভারি, পেমেন্ট বা ফেরত "
        "নিয়ে জিজ্ঞেস করতে পারেন, অথবা একজন মানুষের সাথে কথা বলতে চাইতে পারেন।",
    ),
    "products_found": ("Here is what I found:", "যা পেয়েছি:"),
    "products_none": (
        "I could not find a matching product. Try another name or a category.",
        "মিলে যায় এমন কোনো পণ্য পাইনি। অন্য নাম বা ক্যাটাগরি দিয়ে চেষ্টা করুন।",
    ),
    "order_ask": (
        "Please send your order number (like ZS-2412-000123) and the phone number you "
        "ordered with.",
        "অনুগ্রহ করে আপনার অর্ডার নম্বর (যেমন ZS-2412-000123) এবং অর্ডারের সময় দেওয়া ফোন নম্বরটি পাঠান।",
    ),
    "order_refused": (
        "I can only share an order's status when its number and the phone number it was "
        "placed with both match. Please check them, or sign in to see your orders.",
        "অর্ডার নম্বর ও অর্ডারের ফোন নম্বর দুটোই মিললে তবেই অর্ডারের অবস্থা জানাতে পারি। "
        "অনুগ্রহ করে যাচাই করুন, অথবা সাইন ইন করে আপনার অর্ডার দেখুন।",
    ),
    "order_none": (
        "I could not find that order on your account.",
        "আপনার অ্যাকাউন্টে এই অর্ডারটি পাওয়া যায়নি।",
    ),
    "order_no_orders": (
        "You have no orders yet.",
        "আপনার এখনো কোনো অর্ডার নেই।",
    ),
    "handover": (
        "I am passing you to our support team; a person will reply here shortly.",
        "আপনাকে আমাদের সাপোর্ট দলের কাছে পাঠাচ্ছি; শিগগিরই একজন এখানে উত্তর দেবেন।",
    ),
    "payment_intro": ("You can pay with", "পেমেন্ট করতে পারেন"),
    "delivery_none": (
        "Delivery details are not available right now.",
        "এই মুহূর্তে ডেলিভারির তথ্য পাওয়া যাচ্ছে না।",
    ),
}


def text(key: str, language: Language) -> str:
    english, bangla = TEXTS[key]
    return bangla if language == "bn" else english


def products_answer(facts: list[dict[str, Any]], language: Language) -> str:
    if not facts:
        return text("products_none", language)
    stock = {True: ("in stock", "স্টকে আছে"), False: ("out of stock", "স্টকে নেই")}
    lines = [
        f"• {fact['name']}: {fact['price']} ({stock[fact['in_stock']][language == 'bn']})"
        for fact in facts
    ]
    return "\n".join([text("products_found", language), *lines])


def order_answer(cards: list[dict[str, Any]], language: Language) -> str:
    lines = []
    for card in cards:
        total = card["total"].display
        if language == "bn":
            lines.append(f"অর্ডার {card['number']}: {card['status_label']} (মোট {total})।")
        else:
            lines.append(f"Order {card['number']}: {card['status_label']} (total {total}).")
    return "\n".join(lines)


def delivery_answer(zones: list[dict[str, Any]], language: Language) -> str:
    if not zones:
        return text("delivery_none", language)
    lines = []
    for zone in zones:
        days = f"{zone['days_min']}-{zone['days_max']}"
        if language == "bn":
            line = f"• {zone['zone']}: {zone['rate']}, {days} দিন"
            if zone["free_from"]:
                line += f" ({zone['free_from']} বা বেশি অর্ডারে ফ্রি)"
        else:
            line = f"• {zone['zone']}: {zone['rate']}, {days} days"
            if zone["free_from"]:
                line += f" (free from {zone['free_from']})"
        lines.append(line)
    return "\n".join(lines)


def payment_answer(facts: dict[str, Any], language: Language) -> str:
    wallets = ", ".join(facts["wallets"])
    if language == "bn":
        parts = [f"{text('payment_intro', language)}: {wallets}, কার্ড ({facts['cards']})"]
        if facts["cash_on_delivery"]:
            parts.append(f"ক্যাশ অন ডেলিভারি ({facts['cod_max_total']} পর্যন্ত, চার্জ {facts['cod_fee']})")
        return ", ".join(parts) + "।"
    parts = [f"{text('payment_intro', language)} {wallets}, cards ({facts['cards']})"]
    if facts["cash_on_delivery"]:
        parts.append(
            f"or cash on delivery (up to {facts['cod_max_total']}, fee {facts['cod_fee']})"
        )
    return ", ".join(parts) + "."


def policy_answer(fact: dict[str, str] | None, language: Language) -> str:
    if fact is None:
        return text("unknown", language)
    heading = f"{fact['title']}: " if fact["title"] else ""
    return f"{heading}{fact['text']}"
