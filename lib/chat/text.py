"""Message text: plain text only. Markup is removed with nh3 (scripts and styles with their
content), entities are decoded back to the characters they stand for, control characters
are dropped and line breaks kept (at most one empty line in a row). Clients render the text
escaped, as text, never as HTML."""

from __future__ import annotations

import re
import unicodedata

from lib.catalog.sanitize import plain_text
from lib.conf import chat_config
from lib.errors import ApiError

_BLANK_LINES = re.compile(r"\n{3,}")


def message_clean(value: str) -> str:
    value = unicodedata.normalize("NFC", value or "").replace("\r\n", "\n").replace("\r", "\n")
    value = "".join(c for c in value if c == "\n" or c == "\t" or c.isprintable())
    lines = [plain_text(line) for line in value.split("\n")]
    text = _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
    if len(text) > chat_config.message_max_chars:
        raise ApiError(
            "chat_message_too_long",
            status=422,
            fields={"body": [f"At most {chat_config.message_max_chars} characters."]},
        )
    return text


def snippet(text: str, length: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"
