"""One error shape for every failure: `{"error": {"code", "message", "fields"}}`.

Domain code raises `ApiError` (or a subclass) with a code from `MESSAGES`; the message is
rendered in the caller's language (English or Bangla) by the exception handlers installed
on every function's API.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, JsonResponse

from lib.i18n import Language, request_language

logger = logging.getLogger("zest.errors")

# code -> (English, Bangla)
MESSAGES: dict[str, tuple[str, str]] = {
    "bad_request": ("The request could not be understood.", "অনুরোধটি বোঝা যায়নি।"),
    "malformed_json": ("The request body is not valid JSON.", "অনুরোধের বডি বৈধ JSON নয়।"),
    "validation_error": ("Some fields are invalid.", "কিছু ঘর সঠিক নয়।"),
    "unauthenticated": ("Authentication is required.", "প্রমাণীকরণ প্রয়োজন।"),
    "forbidden": (
        "You are not allowed to do this.",
        "আপনার এই কাজটি করার অনুমতি নেই।",
    ),
    "not_found": ("The requested resource was not found.", "অনুরোধ করা তথ্য পাওয়া যায়নি।"),
    "method_not_allowed": (
        "This method is not allowed on this path.",
        "এই পথে এই পদ্ধতি অনুমোদিত নয়।",
    ),
    "conflict": (
        "The request conflicts with the current state.",
        "অনুরোধটি বর্তমান অবস্থার সাথে সাংঘর্ষিক।",
    ),
    "payload_too_large": ("The request body is too large.", "অনুরোধের বডি খুব বড়।"),
    "unsupported_media_type": (
        "The request body must be JSON.",
        "অনুরোধের বডি অবশ্যই JSON হতে হবে।",
    ),
    "rate_limited": (
        "Too many requests. Please try again later.",
        "অনেক বেশি অনুরোধ। অনুগ্রহ করে পরে আবার চেষ্টা করুন।",
    ),
    "internal_error": (
        "Something went wrong on our side.",
        "আমাদের দিকে একটি সমস্যা হয়েছে।",
    ),
    "service_unavailable": (
        "The service is temporarily unavailable.",
        "সেবাটি সাময়িকভাবে অনুপলব্ধ।",
    ),
}

STATUS_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}


class ApiError(Exception):
    """A failure the caller can act on; rendered as the JSON error envelope."""

    status_code: int = 400
    code: str = "bad_request"

    def __init__(
        self,
        code: str | None = None,
        *,
        status: int | None = None,
        message: str | None = None,
        fields: dict[str, Any] | None = None,
    ) -> None:
        self.code = code or self.code
        self.status_code = status or self.status_code
        self.message = message
        self.fields = fields or {}
        super().__init__(message or self.code)


class NotFound(ApiError):
    status_code = 404
    code = "not_found"


class Forbidden(ApiError):
    status_code = 403
    code = "forbidden"


class Conflict(ApiError):
    status_code = 409
    code = "conflict"


def translate(code: str, language: Language) -> str:
    english, bangla = MESSAGES.get(code, MESSAGES["bad_request"])
    return bangla if language == "bn" else english


def code_for_status(status: int) -> str:
    if status in STATUS_CODES:
        return STATUS_CODES[status]
    return "internal_error" if status >= 500 else "bad_request"


def error_response(
    request: HttpRequest,
    status: int,
    code: str | None = None,
    *,
    message: str | None = None,
    fields: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JsonResponse:
    code = code or code_for_status(status)
    body = {
        "error": {
            "code": code,
            "message": message or translate(code, request_language(request)),
            "fields": fields or {},
            "request_id": getattr(request, "id", None),
        }
    }
    return JsonResponse(
        body, status=status, headers=headers, json_dumps_params={"ensure_ascii": False}
    )


REQUEST_PARTS = {"body", "query", "path", "header", "cookie", "form", "file"}


def validation_fields(errors: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Turn ninja/pydantic errors into `{"field.path": ["message", ...]}`.

    Ninja locates errors as `("body", "<parameter>", "field", ...)` or `("query", "field")`.
    """
    fields: dict[str, list[str]] = {}
    for error in errors:
        location = [str(part) for part in error.get("loc", ())]
        if location and location[0] in REQUEST_PARTS:
            location = location[2:] if location[0] == "body" else location[1:]
        key = ".".join(location) or "__all__"
        fields.setdefault(key, []).append(str(error.get("msg", "Invalid value")))
    return fields
