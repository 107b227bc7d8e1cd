"""Users: registration, sign-in and sign-out, password change (services) and the signed-in
user (selector). Email verification and password reset live in `lib.access.recovery`."""

from __future__ import annotations

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from db.models import User
from lib.access.activity import ActivityType, activity_record
from lib.access.context import AccessClaims
from lib.access.passwords import password_problems, password_validate
from lib.access.recovery import email_verification_send, password_changed_notice
from lib.access.sessions import TokenPair, session_end, session_start, sessions_end_all
from lib.errors import ApiError, translate
from lib.i18n import Language

MOBILE_TYPES = frozenset(
    {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
)


def phone_normalize(raw: str) -> str:
    """A Bangladeshi mobile number (`01712345678`, `+880 1712-345678`, Bangla digits) in
    E.164 (`+8801712345678`); ValueError for anything else."""
    try:
        number = phonenumbers.parse(raw, "BD")
    except phonenumbers.NumberParseException as exc:
        raise ValueError(str(exc)) from exc
    if (
        phonenumbers.region_code_for_number(number) != "BD"
        or not phonenumbers.is_valid_number(number)
        or phonenumbers.number_type(number) not in MOBILE_TYPES
    ):
        raise ValueError("not a Bangladeshi mobile number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def user_by_email(email: str) -> User | None:
    """The user with this email, case-insensitively (uses the LOWER(email) unique index)."""
    normalized = User.objects.normalize_email(email)
    return User.objects.alias(email_lower=Lower("email")).filter(email_lower=normalized).first()


def user_get(*, user_id: str) -> User:
    """The signed-in user; 401 when the account is gone or disabled since sign-in."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise ApiError("unauthenticated", status=401)
    return user


def user_register(
    *,
    email: str,
    password: str,
    full_name: str = "",
    phone: str | None = None,
    language: Language = "en",
) -> User:
    """Create a customer account and email it a verification link.

    Every invalid field is reported at once (422 with `fields`); an email already
    registered is 409 `email_taken`.
    """
    email = User.objects.normalize_email(email)
    full_name = full_name.strip()
    fields: dict[str, list[str]] = {}
    try:
        validate_email(email)
    except ValidationError:
        fields["email"] = [translate("email_invalid", language)]
    phone_e164 = ""
    if phone and phone.strip():
        try:
            phone_e164 = phone_normalize(phone)
        except ValueError:
            fields["phone"] = [translate("phone_invalid", language)]
    candidate = User(email=email, full_name=full_name)
    problems = password_problems(password, user=candidate, language=language)
    if problems:
        fields["password"] = problems
    if fields:
        raise ApiError("validation_error", status=422, fields=fields)
    if user_by_email(email) is not None:
        raise ApiError("email_taken", status=409)
    with transaction.atomic():
        try:
            with transaction.atomic():  # a concurrent registration loses on the unique index
                user = User.objects.create_user(
                    email,
                    password,
                    full_name=full_name,
                    phone=phone_e164,
                    preferred_language=language,
                )
        except IntegrityError as exc:
            raise ApiError("email_taken", status=409) from exc
        email_verification_send(user=user)
    return user


def password_hasher_run(password: str) -> None:
    """Spend what checking a real password costs, so unknown emails answer no faster."""
    User().set_password(password)


def sign_in_failed(*, user: User | None, email: str, reason: str, ip: str) -> None:
    activity_record(
        user_id=user.pk if user else None,
        activity_type=ActivityType.SIGN_IN_FAILED,
        details={"email": email, "reason": reason},
        ip=ip,
    )


def user_authenticate(*, email: str, password: str, ip: str) -> User:
    """The user whose email and password these are; 401 `invalid_credentials` otherwise
    (the same answer, in about the same time, whether or not the email is registered).
    A disabled account with the right password is refused with 403 `account_disabled`."""
    email = User.objects.normalize_email(email)
    user = user_by_email(email)
    if user is None or not user.has_usable_password():
        password_hasher_run(password)
        sign_in_failed(user=user, email=email, reason="unknown_account", ip=ip)
        raise ApiError("invalid_credentials", status=401)
    if not user.check_password(password):
        sign_in_failed(user=user, email=email, reason="wrong_password", ip=ip)
        raise ApiError("invalid_credentials", status=401)
    if not user.is_active:
        sign_in_failed(user=user, email=email, reason="disabled", ip=ip)
        raise ApiError("account_disabled", status=403)
    user.last_login = timezone.now()
    User.objects.filter(pk=user.pk).update(last_login=user.last_login)
    activity_record(user_id=user.pk, activity_type=ActivityType.SIGN_IN, details={}, ip=ip)
    return user


def user_sign_in(*, email: str, password: str, ip: str, user_agent: str) -> tuple[User, TokenPair]:
    """Authenticate and open a session."""
    user = user_authenticate(email=email, password=password, ip=ip)
    return user, session_start(user=user, ip=ip, user_agent=user_agent)


def user_sign_out(*, claims: AccessClaims, ip: str) -> None:
    """End the caller's session: its access and refresh tokens stop working at once."""
    session_end(session_id=claims.session_id)
    activity_record(user_id=claims.user_id, activity_type=ActivityType.SIGN_OUT, ip=ip)


def password_change(
    *,
    user: User,
    old_password: str,
    new_password: str,
    session_id: str | None = None,
    ip: str = "",
    language: Language = "en",
) -> int:
    """Change a signed-in user's password and end their other sessions (all but
    `session_id`, the one asking); returns how many were ended."""
    if not user.check_password(old_password):
        raise ApiError(
            "password_incorrect",
            status=422,
            fields={"old_password": [translate("password_incorrect", language)]},
        )
    password_validate(new_password, user=user, language=language)
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password", "updated_at"])
        activity_record(
            user_id=user.pk,
            activity_type=ActivityType.PASSWORD_CHANGED,
            details={"via": "change"},
            ip=ip,
        )
        password_changed_notice(user=user)
    return sessions_end_all(user_id=str(user.pk), keep_session_id=session_id)
