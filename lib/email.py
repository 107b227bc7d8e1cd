"""Email: rendered from Django templates (HTML + plain text) in the reader's language, queued
in the outbox, sent with Django's mail API.

Templates live in `lib/notifications/templates/email/`: `<name>_subject.txt`, `<name>.txt` and
`<name>.html` (extending `base.html`), each holding the English and the Bangla text (the
context's `bn` picks one). They render when queued, inside the caller's transaction, so the
message sent is the one the change described, whatever happens to the rows later.

The backend comes from the settings (`EMAIL_BACKEND`, or a django-anymail provider chosen by
`EMAIL_PROVIDER`): the console locally, the captured `django.core.mail.outbox` in tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import make_msgid
from typing import Any

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from db.models import Notification, NotificationChannel, NotificationDelivery, OutboxMessage
from lib.conf import config
from lib.i18n import Language
from lib.outbox import outbox_enqueue

EMAIL_TOPIC = "email.send"
BLANK_LINES = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def template_context(language: str, context: dict[str, Any]) -> dict[str, Any]:
    bn = language == "bn"
    return {**context, "language": "bn" if bn else "en", "bn": bn}


def email_subject(template: str, *, language: Language, context: dict[str, Any]) -> str:
    """The subject line of the `template` email in `language`."""
    subject = render_to_string(f"email/{template}_subject.txt", template_context(language, context))
    return " ".join(subject.split())


def email_render(template: str, *, language: Language, context: dict[str, Any]) -> RenderedEmail:
    """The `template` email in `language`: the context gains `language` and `bn`."""
    full = template_context(language, context)
    text = render_to_string(f"email/{template}.txt", full)
    return RenderedEmail(
        subject=email_subject(template, language=language, context=context),
        text=BLANK_LINES.sub("\n\n", text).strip() + "\n",
        html=render_to_string(f"email/{template}.html", full),
    )


def email_message_payload(
    *, to: str, template: str, language: Language, context: dict[str, Any]
) -> dict[str, Any]:
    """The "email.send" payload of the rendered `template` email."""
    email = email_render(template, language=language, context=context)
    return {"to": [to], "subject": email.subject, "body": email.text, "html": email.html}


def email_queue(
    *,
    to: str,
    template: str,
    language: Language,
    context: dict[str, Any],
    dedupe_key: str,
    kind: str,
    user_id: object | None = None,
    notification: Notification | None = None,
    wanted: bool = True,
) -> NotificationDelivery | None:
    """Render the `template` email and queue it (with its delivery record) in the caller's
    transaction, once per `dedupe_key`; `wanted=False` records it as skipped by preference."""
    from lib.notifications.deliveries import delivery_queue

    payload: dict[str, Any] = {}
    if wanted:
        payload = email_message_payload(
            to=to, template=template, language=language, context=context
        )
    return delivery_queue(
        channel=NotificationChannel.EMAIL,
        topic=EMAIL_TOPIC,
        payload=payload,
        dedupe_key=dedupe_key,
        kind=kind,
        user_id=user_id,
        notification=notification,
        recipient=to,
        language=language,
        wanted=wanted,
    )


def email_enqueue(
    *, to: str, subject: str, body: str, html: str = "", dedupe_key: str | None = None
) -> OutboxMessage:
    """Queue one already composed email in the caller's transaction (no delivery record)."""
    payload = {"to": [to], "subject": subject, "body": body}
    if html:
        payload["html"] = html
    return outbox_enqueue(EMAIL_TOPIC, payload, dedupe_key=dedupe_key)


def email_message(payload: dict[str, Any]) -> EmailMultiAlternatives:
    recipients = payload["to"]
    domain = config.default_from_email.rpartition("@")[2].strip("> ") or "localhost"
    message = EmailMultiAlternatives(
        subject=payload["subject"],
        body=payload["body"],
        from_email=config.default_from_email,
        to=[recipients] if isinstance(recipients, str) else list(recipients),
        headers={"Message-ID": make_msgid(domain=domain)},
    )
    if payload.get("html"):
        message.attach_alternative(payload["html"], "text/html")
    return message


def email_send(payload: dict[str, Any]) -> None:
    """Outbox handler of "email.send": `{"to": [...], "subject", "body", "html"?,
    "delivery"?}`. A delivery already recorded as sent is not sent again."""
    from lib.notifications.deliveries import delivery_failed, delivery_is_sent, delivery_sent

    delivery_id = payload.get("delivery")
    if delivery_is_sent(delivery_id):
        return
    message = email_message(payload)
    try:
        message.send(fail_silently=False)
    except Exception as exc:
        delivery_failed(delivery_id, exc)
        raise
    status = getattr(message, "anymail_status", None)
    provider_id = getattr(status, "message_id", None) if status is not None else None
    delivery_sent(
        delivery_id, provider_message_id=str(provider_id or message.extra_headers["Message-ID"])
    )
