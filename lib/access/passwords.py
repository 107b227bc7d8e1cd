"""Password strength: Django's AUTH_PASSWORD_VALIDATORS, explained in English or Bangla.

Django's Bangla catalogue does not translate the validators' messages, so each rule's error
code maps to our own wording here; a rule we do not know falls back to Django's message in
the caller's language (English when Django has no translation).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils import translation

from lib.errors import ApiError
from lib.i18n import Language
from lib.money import BANGLA_DIGITS

if TYPE_CHECKING:
    from db.models import User

# Longer passwords only make the slow hash slower; no one types more.
MAX_PASSWORD_LENGTH = 128

# validator error code -> (English, Bangla); `{min_length}`, `{field}` and `{max_length}`
# are filled in.
RULE_MESSAGES: dict[str, tuple[str, str]] = {
    "password_too_short": (
        "This password is too short. It must contain at least {min_length} characters.",
        "পাসওয়ার্ডটি খুব ছোট। এতে অন্তত {min_length}টি অক্ষর থাকতে হবে।",
    ),
    "password_too_long": (
        "This password is too long. It can contain at most {max_length} characters.",
        "পাসওয়ার্ডটি খুব বড়। এতে সর্বোচ্চ {max_length}টি অক্ষর থাকতে পারে।",
    ),
    "password_too_common": (
        "This password is too common. Choose one that is harder to guess.",
        "এই পাসওয়ার্ডটি খুব সাধারণ। অনুমান করা কঠিন এমন একটি পাসওয়ার্ড বেছে নিন।",
    ),
    "password_entirely_numeric": (
        "This password is entirely numeric. Add letters or symbols.",
        "এই পাসওয়ার্ডে শুধু সংখ্যা আছে। অক্ষর বা চিহ্ন যোগ করুন।",
    ),
    "password_too_similar": (
        "This password is too similar to your {field}.",
        "এই পাসওয়ার্ডটি আপনার {field}-এর সাথে খুব মিলে যায়।",
    ),
}
# The user attributes compared with the password, by their English verbose name.
FIELD_NAMES: dict[str, tuple[str, str]] = {
    "email address": ("email address", "ইমেইল ঠিকানা"),
    "full name": ("name", "নাম"),
}


def localized_number(value: Any, language: Language) -> str:
    text = str(value)
    return text.translate(BANGLA_DIGITS) if language == "bn" else text


def rule_message(error: ValidationError, language: Language) -> str:
    """One broken rule, in `language`."""
    texts = RULE_MESSAGES.get(error.code or "")
    if texts is None:
        with translation.override(language):
            return " ".join(str(message) for message in error.messages)
    params = dict(error.params or {})
    index = 1 if language == "bn" else 0
    field_names = FIELD_NAMES.get(str(params.get("verbose_name", "")), ("details", "তথ্য"))
    return texts[index].format(
        min_length=localized_number(params.get("min_length", ""), language),
        max_length=localized_number(MAX_PASSWORD_LENGTH, language),
        field=field_names[index],
    )


def password_problems(
    password: str, *, user: User | None = None, language: Language = "en"
) -> list[str]:
    """Every strength rule `password` breaks, explained in `language`; empty when strong."""
    errors: list[ValidationError] = []
    if len(password) > MAX_PASSWORD_LENGTH:
        errors.append(ValidationError("too long", code="password_too_long"))
    else:
        try:
            password_validation.validate_password(password, user)
        except ValidationError as exc:
            errors = exc.error_list
    return [rule_message(error, language) for error in errors]


def password_validate(
    password: str, *, user: User | None = None, language: Language = "en"
) -> None:
    """Raise 422 `password_too_weak` with `fields={"password": [...]}` for a weak password.

    Pass the (possibly unsaved) `user` so the password is compared with their email and name.
    """
    problems = password_problems(password, user=user, language=language)
    if problems:
        raise ApiError("password_too_weak", status=422, fields={"password": problems})
