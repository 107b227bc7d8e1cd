"""The one interface every SMS gateway adapter implements, and message sizing.

Sizing follows GSM 03.38: a text made only of GSM-7 characters fits 160 septets in one SMS
and 153 per part when concatenated (the 7 others carry the part header); an extension
character (`{ } [ ] ~ \\ | ^ €` and form feed) takes two septets (escape + code) and is never
split across parts. One character outside the GSM-7 alphabet (any Bangla letter, `৳`, curly
quotes, emoji) makes the whole message UCS-2: 70 UTF-16 code units in one SMS, 67 per part;
a character outside the Basic Multilingual Plane (emoji) takes two units, never split.
Gateways bill per segment, so this is the cost of a message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

Encoding = Literal["GSM-7", "UCS-2"]

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")
# (single-message limit, per-part limit) in septets or UTF-16 code units
LIMITS: dict[str, tuple[int, int]] = {"GSM-7": (160, 153), "UCS-2": (70, 67)}


@dataclass(frozen=True, slots=True)
class SmsSize:
    """How a text travels: its encoding, the SMS parts it takes (what the gateway bills) and
    its length in that encoding (GSM-7 septets, extension characters counting 2; UCS-2 code
    units, characters outside the BMP counting 2)."""

    encoding: Encoding
    segments: int
    characters: int


def is_gsm7(text: str) -> bool:
    return all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)


def char_cost(char: str, encoding: Encoding) -> int:
    if encoding == "GSM-7":
        return 2 if char in GSM7_EXTENSION else 1
    return 2 if ord(char) > 0xFFFF else 1


def sms_segments(text: str) -> SmsSize:
    """The encoding, parts and length of `text` as an SMS (an empty text is one empty SMS)."""
    encoding: Encoding = "GSM-7" if is_gsm7(text) else "UCS-2"
    costs = [char_cost(char, encoding) for char in text]
    length = sum(costs)
    single, per_part = LIMITS[encoding]
    if length <= single:
        return SmsSize(encoding, 1, length)
    # Concatenated: fill each part without splitting an escape pair or a surrogate pair.
    segments, used = 1, 0
    for cost in costs:
        if used + cost > per_part:
            segments, used = segments + 1, 0
        used += cost
    return SmsSize(encoding, segments, length)


@dataclass(frozen=True, slots=True)
class SmsReceipt:
    """What the gateway answered to an accepted message."""

    provider_message_id: str
    segments: int
    raw: dict = field(default_factory=dict)


class SmsError(Exception):
    """The gateway did not take the message. `retryable`: worth another attempt later
    (timeouts, 5xx, rate limits, quota); otherwise permanent (bad number, bad credentials,
    blocked content) and the outbox gives up on it at once."""

    def __init__(self, message: str, *, code: str = "sms_error", retryable: bool = False):
        super().__init__(message)
        self.code = code
        self.retryable = retryable

    def __str__(self) -> str:
        kind = "retryable" if self.retryable else "permanent"
        return f"[{self.code}, {kind}] {super().__str__()}"


class SmsGateway(Protocol):
    """One SMS provider. `to` is `8801XXXXXXXXX`; `reference` is our id for the message
    (≤20 alphanumeric characters, unique per day; SSL Wireless's `csms_id`)."""

    name: str

    def send(self, *, to: str, text: str, reference: str) -> SmsReceipt: ...
