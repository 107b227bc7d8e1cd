"""What a message asks: keyword sets in English and Bangla per intent, the language it is
written in, and the order numbers and phone numbers it mentions."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from lib.i18n import Language

# Checked in this order; the first with the most hits wins.
KEYWORDS: dict[str, tuple[str, ...]] = {
    "human": (
        "agent",
        "human",
        "person",
        "representative",
        "real person",
        "customer service",
        "support team",
        "মানুষ",
        "এজেন্ট",
        "প্রতিনিধি",
        "কাস্টমার কেয়ার",
    ),
    "order_status": (
        "order",
        "orders",
        "track",
        "tracking",
        "parcel",
        "shipment",
        "where is my",
        "অর্ডার",
        "পার্সেল",
        "ট্র্যাক",
        "কোথায়",
    ),
    "returns": (
        "return",
        "returns",
        "refund",
        "exchange",
        "replace",
        "ফেরত",
        "রিফান্ড",
        "বদল",
        "রিটার্ন",
    ),
    "delivery": (
        "delivery",
        "deliver",
        "shipping",
        "ship",
        "courier",
        "how long",
        "delivery charge",
        "ডেলিভারি",
        "শিপিং",
        "কুরিয়ার",
        "কত দিন",
        "পৌঁছা",
    ),
    "payment": (
        "payment",
        "pay",
        "bkash",
        "nagad",
        "rocket",
        "upay",
        "cod",
        "cash on delivery",
        "card",
        "পেমেন্ট",
        "বিকাশ",
        "নগদ",
        "রকেট",
        "উপায়",
        "ক্যাশ অন ডেলিভারি",
        "টাকা দেব",
    ),
    "policy": (
        "policy",
        "privacy",
        "terms",
        "warranty",
        "guarantee",
        "নীতি",
        "নীতিমালা",
        "শর্ত",
        "ওয়ারেন্টি",
        "গোপনীয়তা",
    ),
    "product": (
        "price",
        "cost",
        "buy",
        "available",
        "in stock",
        "stock",
        "recommend",
        "suggest",
        "looking for",
        "show me",
        "do you have",
        "দাম",
        "মূল্য",
        "কিনতে",
        "কিনব",
        "স্টক",
        "আছে",
        "দেখাও",
        "চাই",
    ),
    "greeting": (
        "hello",
        "hi",
        "hey",
        "salam",
        "assalamu alaikum",
        "good morning",
        "হ্যালো",
        "সালাম",
        "আসসালামু আলাইকুম",
        "নমস্কার",
    ),
}
ORDER_NUMBER = re.compile(r"\bZS-\d{4}-\d{4,8}\b", re.IGNORECASE)
PHONE = re.compile(r"(?:\+?88)?0?1[3-9]\d{8}")
BANGLA = re.compile(r"[\u0980-\u09FF]")
BANGLA_DIGITS = str.maketrans("০১২৩৪৫৬৭৮৯", "0123456789")
WORD = re.compile(r"[\w\u0980-\u09FF]+")
# Words that say nothing about which product is wanted.
STOPWORDS_TEXT = (
    "a an the is are am i you we me my your our of for to in on at and or with do does "
    "have has what which how much many any some please want need show tell about this that "
    "it its can could would like get find there here price cost buy available stock "
    "recommend suggest looking new good best cheap tk taka bdt "
    "কি কী কত একটা একটি আমি আমার আপনার আছে দাম মূল্য চাই দেখাও কিনতে কিনব টাকা এর এই ও "
    "না হবে করে করতে জন্য সাথে দিয়ে কোন কোনো ভালো"
)
STOPWORDS = frozenset(STOPWORDS_TEXT.split())


@dataclass(frozen=True, slots=True)
class Reading:
    intent: str  # a KEYWORDS key, or "unknown"
    hits: int
    language: Language
    order_numbers: tuple[str, ...]
    phones: tuple[str, ...]
    words: tuple[str, ...]  # what may name a product


def normalise(text: str) -> str:
    return unicodedata.normalize("NFC", text).translate(BANGLA_DIGITS).lower()


def language_of(text: str, fallback: Language) -> Language:
    """Bangla when the text is written in Bangla script, English when it has Latin letters
    only, `fallback` (the caller's choice) when it has no letters."""
    if BANGLA.search(text):
        return "bn"
    return "en" if re.search(r"[a-zA-Z]", text) else fallback


def keyword_hits(text: str, keywords: tuple[str, ...]) -> int:
    hits = 0
    for keyword in keywords:
        if BANGLA.search(keyword):
            hits += keyword in text
        else:
            hits += re.search(rf"(?<![\w]){re.escape(keyword)}(?![\w])", text) is not None
    return hits


def message_read(text: str, *, language: Language | None, fallback: Language) -> Reading:
    normal = normalise(text)
    numbers = tuple(dict.fromkeys(m.upper() for m in ORDER_NUMBER.findall(normal)))
    phones = tuple(dict.fromkeys(PHONE.findall(ORDER_NUMBER.sub(" ", normal))))
    scores = {intent: keyword_hits(normal, words) for intent, words in KEYWORDS.items()}
    if numbers:
        scores["order_status"] += 2
    intent, hits = max(scores.items(), key=lambda item: item[1])  # first of the best
    keywords = {k for words in KEYWORDS.values() for k in words}
    words = tuple(
        w
        for w in WORD.findall(ORDER_NUMBER.sub(" ", normal))
        if len(w) > 1 and w not in STOPWORDS and w not in keywords and not w.isdigit()
    )
    return Reading(
        intent=intent if hits else "unknown",
        hits=hits,
        language=language or language_of(text, fallback),
        order_numbers=numbers,
        phones=phones,
        words=words,
    )
