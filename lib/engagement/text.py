"""Cleaning what shoppers type: review text as plain text, image links, language."""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable
from urllib.parse import urlsplit

import nh3

from lib.errors import ApiError
from lib.i18n import Language

MAX_TEXT_LENGTH = 4000
MAX_IMAGES = 5
MAX_URL_LENGTH = 500

# Every tag removed; scripts and styles together with their content.
_no_tags = nh3.Cleaner(tags=set(), clean_content_tags={"script", "style"}, strip_comments=True)
# C0 controls and DEL, except tab and newline.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")
_BLANK_LINES = re.compile(r"\n{3,}")
_BANGLA = re.compile(r"[\u0980-\u09ff]")
_LATIN = re.compile(r"[A-Za-z]")


def invalid(field: str, message: str) -> ApiError:
    return ApiError("validation_error", status=422, fields={field: [message]})


def review_text_clean(value: str) -> str:
    """Plain text: tags stripped, entities decoded, NFC-normalised (so Bangla typed on any
    keyboard compares alike), line breaks kept, at most one blank line in a row."""
    text = unicodedata.normalize("NFC", (value or "").replace("\r\n", "\n").replace("\r", "\n"))
    text = html.unescape(_no_tags.clean(text)) if "<" in text or "&" in text else text
    text = _CONTROL.sub("", text)
    text = _BLANK_LINES.sub("\n\n", _TRAILING_SPACE.sub("\n", text)).strip()
    if len(text) > MAX_TEXT_LENGTH:
        raise invalid("review_text", f"Keep the review under {MAX_TEXT_LENGTH} characters.")
    return text


def text_language(text: str, *, default: Language) -> Language:
    """The text's language: Bangla or English by the script most of its letters use."""
    bangla, latin = len(_BANGLA.findall(text)), len(_LATIN.findall(text))
    if bangla == latin:
        return default
    return "bn" if bangla > latin else "en"


def image_urls_clean(urls: Iterable[str]) -> list[str]:
    """Up to five distinct absolute http(s) links to images the shopper uploaded."""
    cleaned: list[str] = []
    for url in urls:
        url = url.strip()
        if not _is_web_url(url):
            raise invalid("images", "Each image must be an http(s) link.")
        if url not in cleaned:
            cleaned.append(url)
    if len(cleaned) > MAX_IMAGES:
        raise invalid("images", f"Attach at most {MAX_IMAGES} images.")
    return cleaned


def _is_web_url(url: str) -> bool:
    if len(url) > MAX_URL_LENGTH or any(char.isspace() for char in url):
        return False
    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return False
