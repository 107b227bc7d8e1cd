"""Email: composed in English and Bangla, queued in the outbox, sent with Django's mail API.

The backend comes from the settings (`EMAIL_BACKEND`: the console locally, an SMTP or API
provider in production, the captured `django.core.mail.outbox` in tests).
"""

from __future__ import annotations

from typing import Any

from django.core.mail import send_mail

from db.models import OutboxMessage
from lib.conf import config
from lib.i18n import Language
from lib.outbox import outbox_enqueue

EMAIL_TOPIC = "email.send"
# Between the two languages of one email.
LANGUAGE_DIVIDER = "\n\n— — —\n\n"

# (subject, body) in English and in Bangla
Texts = tuple[tuple[str, str], tuple[str, str]]


def bilingual_email(texts: Texts, *, language: Language, **params: str) -> dict[str, str]:
    """Subject and body in both languages, the reader's own first; `params` fill the
    `{placeholders}` of both (pass Bangla-digit variants as `<name>_bn`)."""
    (subject_en, body_en), (subject_bn, body_bn) = texts
    bangla_params = {name: params.get(f"{name}_bn", value) for name, value in params.items()}
    english = (subject_en.format(**params), body_en.format(**params))
    bangla = (subject_bn.format(**bangla_params), body_bn.format(**bangla_params))
    first, second = (bangla, english) if language == "bn" else (english, bangla)
    return {"subject": f"{first[0]} | {second[0]}", "body": first[1] + LANGUAGE_DIVIDER + second[1]}


def email_enqueue(
    *, to: str, subject: str, body: str, dedupe_key: str | None = None
) -> OutboxMessage:
    """Queue one email in the caller's transaction; it is sent after the response."""
    return outbox_enqueue(
        EMAIL_TOPIC, {"to": [to], "subject": subject, "body": body}, dedupe_key=dedupe_key
    )


def email_send(payload: dict[str, Any]) -> None:
    """Outbox handler of "email.send": `{"to": [...], "subject": ..., "body": ...}`."""
    recipients = payload["to"]
    send_mail(
        payload["subject"],
        payload["body"],
        config.default_from_email,
        [recipients] if isinstance(recipients, str) else list(recipients),
        fail_silently=False,
    )
