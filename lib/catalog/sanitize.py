"""Rich text from catalog editors, made safe to render on the storefront.

Descriptions are sanitised once, on write, with `nh3` (the Rust `ammonia` sanitiser): an
allow-list of tags and attributes, so scripts, styles, event handlers (`on*`) and
`javascript:`/`data:` URLs never reach the database. Text is NFC-normalised so Bangla typed
on different keyboards (decomposed vowel signs, nukta forms) compares and searches alike.
"""

from __future__ import annotations

import html
import re
import unicodedata

import nh3

ALLOWED_TAGS = frozenset(
    {
        "p",
        "br",
        "strong",
        "b",
        "em",
        "i",
        "u",
        "ul",
        "ol",
        "li",
        "h2",
        "h3",
        "h4",
        "a",
        "blockquote",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
    }
)
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "th": {"colspan", "rowspan"},
    "td": {"colspan", "rowspan"},
}
# Dropped together with their content, not just unwrapped.
DROPPED_WITH_CONTENT = frozenset({"script", "style"})
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
# Links in seller-written text are not endorsements, and never get a handle on our window.
LINK_REL = "nofollow noopener noreferrer"

_rich_text = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(DROPPED_WITH_CONTENT),
    attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
    url_schemes=set(URL_SCHEMES),
    link_rel=LINK_REL,
    strip_comments=True,
)
_no_tags = nh3.Cleaner(tags=set(), clean_content_tags=set(DROPPED_WITH_CONTENT))
_WHITESPACE = re.compile(r"\s+")


def rich_text_clean(value: str) -> str:
    """Sanitised, NFC-normalised HTML of a description (empty stays empty)."""
    value = unicodedata.normalize("NFC", value or "").strip()
    return _rich_text.clean(value).strip() if value else ""


def plain_text(value: str) -> str:
    """The visible text of a (sanitised) HTML fragment, whitespace collapsed: for meta
    descriptions and JSON-LD."""
    if not value:
        return ""
    text = html.unescape(_no_tags.clean(value.replace("<", " <")))
    return _WHITESPACE.sub(" ", text).strip()


def text_clean(value: str) -> str:
    """A single-line plain field (names, SEO titles): NFC, whitespace collapsed."""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFC", value or "")).strip()
