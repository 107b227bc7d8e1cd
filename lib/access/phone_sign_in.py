"""What a proved phone number does: sign in (or register) with it, link it to the signed-in
account, or vouch for a guest checkout's phone.

- `phone_sign_in`: "continue with phone". The account whose VERIFIED phone it is signs in;
  with none, a customer account is created with that phone (no email, no usable password,
  `phone_verified_at` set). An account that only typed the number (unverified) is not
  signed in by it. Successes and failures land in the activity log like password sign-ins.
- `phone_link`: the signed-in user's phone becomes the proved number; 409 `phone_taken` when
  another account holds it verified (told only after the code was right, only to them).
- `phone_verification_issue` / `phone_verification_check`: a short-lived signed token
  (`PHONE_VERIFICATION_TTL`) naming the proved number, which guest checkout accepts as
  `phone_verification` to mark the order's phone as verified.
"""

from __future__ import annotations

from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone

from db.models import User
from lib.access.activity import ActivityType, activity_record
from lib.access.phone_otp import otp_verify, phone_parse
from lib.access.services import user_get
from lib.access.sessions import TokenPair, session_start
from lib.conf import load_phone_otp_config
from lib.errors import ApiError, translate
from lib.i18n import Language

VERIFICATION_SALT = "zest.phone-verification"
MAX_VERIFICATION_LENGTH = 512


def user_by_verified_phone(phone: str) -> User | None:
    """The account whose proved phone this is (one at most: a partial unique index)."""
    return User.objects.filter(phone=phone, phone_verified_at__isnull=False).first()


def phone_sign_in_failed(*, phone: str, reason: str, ip: str) -> None:
    user = user_by_verified_phone(phone)
    activity_record(
        user_id=user.pk if user else None,
        activity_type=ActivityType.SIGN_IN_FAILED,
        details={"phone": phone, "reason": reason, "via": "phone"},
        ip=ip,
    )


def phone_user_create(*, phone: str, language: Language) -> User:
    """A customer account made with a proved phone: no email, no usable password."""
    user = User(
        email=None, phone=phone, phone_verified_at=timezone.now(), preferred_language=language
    )
    user.set_unusable_password()
    user.save(force_insert=True)
    return user


def phone_account(*, phone: str, language: Language) -> tuple[User, bool]:
    """(the account of the proved phone, created now?); concurrent first sign-ins with one
    number make one account (the loser of the unique index takes the winner's)."""
    user = user_by_verified_phone(phone)
    if user is not None:
        return user, False
    try:
        with transaction.atomic():
            return phone_user_create(phone=phone, language=language), True
    except IntegrityError:
        user = user_by_verified_phone(phone)
        if user is None:
            raise
        return user, False


def phone_sign_in(
    *, phone: str, code: str, ip: str, user_agent: str, language: Language = "en"
) -> tuple[User, TokenPair, bool]:
    """Check the `sign_in` code and open a session: (user, tokens, account created now?).
    The code errors of `otp_verify`; 403 `account_disabled` for a disabled account."""
    phone = phone_parse(phone, language)
    try:
        otp_verify(phone=phone, purpose="sign_in", code=code)
    except ApiError as exc:
        phone_sign_in_failed(phone=phone, reason=exc.code, ip=ip)
        raise
    user, created = phone_account(phone=phone, language=language)
    if not user.is_active:
        phone_sign_in_failed(phone=phone, reason="disabled", ip=ip)
        raise ApiError("account_disabled", status=403)
    user.last_login = timezone.now()
    User.objects.filter(pk=user.pk).update(last_login=user.last_login)
    details = {"via": "phone", "created": True} if created else {"via": "phone"}
    activity_record(user_id=user.pk, activity_type=ActivityType.SIGN_IN, details=details, ip=ip)
    return user, session_start(user=user, ip=ip, user_agent=user_agent), created


def phone_link(*, user_id: str | None, phone: str, code: str, language: Language = "en") -> User:
    """Check the `link` code of the signed-in user and make `phone` their proved number.
    401 without a user; 409 `phone_taken` when another account holds it verified."""
    if not user_id:
        raise ApiError("unauthenticated", status=401)
    user = user_get(user_id=user_id)
    phone = phone_parse(phone, language)
    otp_verify(phone=phone, purpose="link", code=code, user_id=str(user.pk))
    holder = user_by_verified_phone(phone)
    if holder is not None and holder.pk != user.pk:
        raise ApiError("phone_taken", status=409)
    if holder is not None:
        return user  # already theirs
    try:
        with transaction.atomic():
            user.phone, user.phone_verified_at = phone, timezone.now()
            user.save(update_fields=["phone", "phone_verified_at", "updated_at"])
    except IntegrityError as exc:  # proved by another account meanwhile
        user.refresh_from_db()
        raise ApiError("phone_taken", status=409) from exc
    return user


def phone_verification_issue(
    *, phone: str, code: str, language: Language = "en"
) -> tuple[str, int]:
    """Check the `guest_checkout` code: (a signed token vouching for `phone`, its seconds)."""
    phone = phone_parse(phone, language)
    otp_verify(phone=phone, purpose="guest_checkout", code=code)
    token = signing.dumps({"phone": phone}, salt=VERIFICATION_SALT, compress=False)
    return token, load_phone_otp_config().verification_ttl


def phone_verification_check(*, token: str, phone: str, language: Language = "en") -> None:
    """Accept a guest checkout's `phone_verification` for `phone` (E.164): 422
    `phone_verification_invalid` when forged, expired or for another number."""
    try:
        if len(token) > MAX_VERIFICATION_LENGTH:
            raise signing.BadSignature("too long")
        data = signing.loads(
            token, salt=VERIFICATION_SALT, max_age=load_phone_otp_config().verification_ttl
        )
    except signing.BadSignature:
        data = None
    if not isinstance(data, dict) or data.get("phone") != phone:
        raise ApiError(
            "phone_verification_invalid",
            status=422,
            fields={"phone_verification": [translate("phone_verification_invalid", language)]},
        )
