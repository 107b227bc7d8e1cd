"""Language negotiation: English or Bangla, from `Accept-Language`."""

from __future__ import annotations

from typing import Literal

from django.http import HttpRequest

Language = Literal["en", "bn"]
SUPPORTED_LANGUAGES: tuple[Language, ...] = ("en", "bn")
DEFAULT_LANGUAGE: Language = "en"


def parse_accept_language(header: str) -> Language:
    """Pick the caller's preferred supported language (`bn-BD;q=0.9, en;q=0.8` -> "bn")."""
    best: tuple[float, Language] | None = None
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in SUPPORTED_LANGUAGES:
            continue
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        # Earlier entries win ties, as browsers list preferences in order.
        rank = quality - position * 1e-6
        if best is None or rank > best[0]:
            best = (rank, primary)  # type: ignore[assignment]
    return best[1] if best and best[0] > 0 else DEFAULT_LANGUAGE


def request_language(request: HttpRequest) -> Language:
    cached = getattr(request, "language", None)
    if cached:
        return cached
    language = parse_accept_language(request.headers.get("Accept-Language", ""))
    request.language = language  # type: ignore[attr-defined]
    return language
