"""Email verification and password reset by emailed single-use, expiring tokens.

A token is 32 random bytes (URL-safe) sent only in the email; the KV store keeps its SHA-256
(`verify:{hash}` / `reset:{hash}`) with a TTL, mapping to the user id and a stamp of what the
token vouches for (the email address to verify, the password hash it may replace). Tokens
are consumed with GETDEL, so of two uses exactly one succeeds, and a token issued before the
email or password changed no longer matches its stamp.

A reset request never reveals whether the email is registered: the request only queues an
outbox message; looking the account up, issuing the token and sending the email happen after
the response, the same way for every address.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from db.models import User
from lib.access.activity import ActivityType, activity_record
from lib.access.passwords import password_validate
from lib.access.sessions import sessions_end_all
from lib.conf import config
from lib.email import email_message_payload, email_queue, email_send
from lib.errors import ApiError
from lib.i18n import Language
from lib.kv import get_kv
from lib.money import BANGLA_DIGITS
from lib.outbox import outbox_enqueue

Purpose = Literal["verify", "reset"]
VERIFY_TTL = 48 * 3600
RESET_TTL = 3600
RESET_TOPIC = "auth.password_reset"
TOKEN_MAX_LENGTH = 128

# --- single-use tokens ---------------------------------------------------------------


def token_key(purpose: Purpose, token: str) -> str:
    return f"{purpose}:{hashlib.sha256(token.encode()).hexdigest()}"


def stamp(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:16]


def email_stamp(user: User) -> str:
    return stamp((user.email or "").lower())


def password_stamp(user: User) -> str:
    return stamp(user.password)


def one_time_token_issue(*, purpose: Purpose, user_id: Any, vouches: str, ttl: int) -> str:
    """A new token for `user_id`, valid `ttl` seconds and while `vouches` (a stamp) holds."""
    token = secrets.token_urlsafe(32)
    get_kv().set(token_key(purpose, token), f"{user_id}:{vouches}", ex=ttl)
    return token


def one_time_token_read(*, purpose: Purpose, token: str, consume: bool) -> tuple[str, str] | None:
    """`(user id, stamp)` of a live token, deleting it when `consume`; None when unknown,
    used or expired."""
    if not token or len(token) > TOKEN_MAX_LENGTH:
        return None
    kv = get_kv()
    key = token_key(purpose, token)
    value = kv.getdel(key) if consume else kv.get(key)
    if not value:
        return None
    user_id, _, vouches = value.partition(":")
    return user_id, vouches


def storefront_link(path: str, token: str) -> str:
    return f"{config.storefront_url}/{path}?token={token}"


def hours_params(seconds: int) -> dict[str, str]:
    hours = str(seconds // 3600)
    return {"hours": hours, "hours_bn": hours.translate(BANGLA_DIGITS)}


# --- email verification ----------------------------------------------------------------


def email_verification_send(*, user: User) -> bool:
    """Email `user` a link verifying their address (in the caller's transaction); False
    when it is already verified; 422 `email_missing` for an account made with a phone."""
    if not user.email:
        raise ApiError("email_missing", status=422)
    if user.email_verified_at is not None:
        return False
    token = one_time_token_issue(
        purpose="verify", user_id=user.pk, vouches=email_stamp(user), ttl=VERIFY_TTL
    )
    email_queue(
        to=user.email,
        template="verify_email",
        language=user.preferred_language,
        context={"link": storefront_link("verify-email", token), **hours_params(VERIFY_TTL)},
        dedupe_key=f"account:{user.pk}:verify:{token_key('verify', token)[-16:]}",
        kind="account.verify_email",
        user_id=user.pk,
    )
    return True


def email_verify(*, token: str) -> User:
    """Mark the address a verification token was sent to as verified (once)."""
    found = one_time_token_read(purpose="verify", token=token, consume=True)
    user = User.objects.filter(pk=found[0]).first() if found else None
    if user is None or email_stamp(user) != found[1]:
        raise ApiError("verification_token_invalid", status=400)
    if user.email_verified_at is None:
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at", "updated_at"])
    return user


# --- password reset -----------------------------------------------------------------------


def password_reset_request(*, email: str) -> None:
    """Queue a reset for `email`; the same work and answer whether or not it is registered."""
    email = User.objects.normalize_email(email)
    try:
        validate_email(email)
    except ValidationError:
        return  # no account can have it
    outbox_enqueue(RESET_TOPIC, {"email": email})


def password_reset_deliver(payload: dict[str, Any]) -> None:
    """Outbox handler of "auth.password_reset": email a reset link if the account exists."""
    user = (
        User.objects.alias(email_lower=Lower("email"))
        .filter(email_lower=payload["email"], is_active=True)
        .first()
    )
    if user is None:
        return
    token = one_time_token_issue(
        purpose="reset", user_id=user.pk, vouches=password_stamp(user), ttl=RESET_TTL
    )
    message = email_message_payload(
        to=user.email,
        template="password_reset",
        language=user.preferred_language,
        context={"link": storefront_link("reset-password", token), **hours_params(RESET_TTL)},
    )
    email_send(message)  # already after the response


def password_reset_confirm(
    *, token: str, new_password: str, ip: str = "", language: Language = "en"
) -> User:
    """Set a new password with a reset token (once, within the hour) and end every session.

    A weak password is refused (422) without using the token up, so the user can try again.
    """
    found = one_time_token_read(purpose="reset", token=token, consume=False)
    user = User.objects.filter(pk=found[0], is_active=True).first() if found else None
    if user is None or password_stamp(user) != found[1]:
        raise ApiError("reset_token_invalid", status=400)
    password_validate(new_password, user=user, language=language)
    if one_time_token_read(purpose="reset", token=token, consume=True) is None:
        raise ApiError("reset_token_invalid", status=400)  # used meanwhile
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if password_stamp(user) != found[1]:  # another reset won the race
            raise ApiError("reset_token_invalid", status=400)
        user.set_password(new_password)
        # Following the emailed link proved the mailbox is theirs.
        user.email_verified_at = user.email_verified_at or timezone.now()
        user.save(update_fields=["password", "email_verified_at", "updated_at"])
        activity_record(
            user_id=user.pk,
            activity_type=ActivityType.PASSWORD_CHANGED,
            details={"via": "reset"},
            ip=ip,
        )
        password_changed_notice(user=user)
    sessions_end_all(user_id=str(user.pk))
    return user


def password_changed_notice(*, user: User) -> None:
    """Tell the owner their password changed, with a way out if it was not them."""
    if not user.email:
        return
    email_queue(
        to=user.email,
        template="password_changed",
        language=user.preferred_language,
        context={"link": f"{config.storefront_url}/forgot-password"},
        dedupe_key=f"account:{user.pk}:password_changed:{user.password[-16:]}",
        kind="account.password_changed",
        user_id=user.pk,
    )


# What the API answers to requests whose outcome it does not reveal, by language.
NOTICES: dict[str, tuple[str, str]] = {
    "password_reset_requested": (
        "If an account uses this email address, a link to reset its password is on its way.",
        "এই ইমেইল ঠিকানায় কোনো অ্যাকাউন্ট থাকলে পাসওয়ার্ড রিসেটের একটি লিংক পাঠানো হচ্ছে।",
    ),
    "verification_sent": (
        "A verification link is on its way to your email address.",
        "আপনার ইমেইল ঠিকানায় একটি যাচাইকরণ লিংক পাঠানো হচ্ছে।",
    ),
    "already_verified": (
        "Your email address is already verified.",
        "আপনার ইমেইল ঠিকানা ইতিমধ্যে যাচাই করা হয়েছে।",
    ),
}


def notice(code: str, language: Language) -> str:
    english, bangla = NOTICES[code]
    return bangla if language == "bn" else english
