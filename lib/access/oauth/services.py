"""Sign-in with a provider: verify its token, find or create our user, open a session.

Which user a verified identity signs in as:

1. the user already linked to `(provider, subject)` (a `SocialAccount`): the provider's stable
   id, never the email, which can change hands;
2. else the user whose email is the identity's email, but ONLY when the provider verified that
   email; an unverified provider email matching an existing account is refused (409
   `oauth_email_unverified`) rather than linked or duplicated. If that existing account never
   verified its email itself, whoever registered it did not prove they own the address while
   the provider's user just did: the account is handed over to them (password made unusable,
   every session ended, email marked verified), so an account pre-registered with someone
   else's address cannot be used to spy on its real owner;
3. else a new customer with no usable password, its email verified when the provider verified
   it.

Provider tokens are verified before any database work; the lookup-or-create runs in one
transaction and, if a concurrent first sign-in of the same identity wins the race, the loser
signs in as the winner's user. Every sign-in is recorded as `sign_in` activity.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from db.models import SocialAccount, SocialProvider, User
from lib.access.activity import ActivityType, activity_record
from lib.access.oauth import apple, facebook, google
from lib.access.oauth.base import OAuthIdentity, Verifier, logger
from lib.access.sessions import TokenPair, session_start, sessions_end_all
from lib.conf import OAuthConfig
from lib.errors import ApiError, Conflict, NotFound

VERIFIERS: dict[str, Verifier] = {
    SocialProvider.GOOGLE: google.verify,
    SocialProvider.APPLE: apple.verify,
    SocialProvider.FACEBOOK: facebook.verify,
}


class EmailUnverifiedConflict(Conflict):
    code = "oauth_email_unverified"

    def __init__(self, *, user_id: str) -> None:
        self.user_id = user_id
        super().__init__()


@dataclass(frozen=True, slots=True)
class SocialUser:
    user: User
    created: bool  # a new user was made for this identity
    claimed: bool  # an existing, never-verified account was handed over to this identity


def oauth_identity_verify(
    *, provider: str, token: str, nonce: str | None, settings: OAuthConfig | None = None
) -> OAuthIdentity:
    """The identity a provider vouches for with `token` (401/502/404 otherwise)."""
    verifier = VERIFIERS.get(provider)
    if verifier is None:
        raise NotFound()
    return verifier(token, nonce=nonce, settings=settings)


def oauth_sign_in(
    *,
    provider: str,
    token: str,
    nonce: str | None,
    ip: str,
    user_agent: str,
    settings: OAuthConfig | None = None,
) -> tuple[TokenPair, bool]:
    """Sign in (or up) with a provider's token: a new session's tokens, and whether the user
    was created. `settings` defaults to this process's `config.oauth`."""
    identity = oauth_identity_verify(provider=provider, token=token, nonce=nonce, settings=settings)
    try:
        resolved = social_user_resolve(identity=identity)
    except EmailUnverifiedConflict as exc:
        sign_in_failed(user_id=exc.user_id, provider=provider, reason="email_unverified", ip=ip)
        raise
    user = resolved.user
    if not user.is_active:
        sign_in_failed(user_id=str(user.pk), provider=provider, reason="disabled", ip=ip)
        raise ApiError("account_disabled", status=403)
    if resolved.claimed:
        sessions_end_all(user_id=str(user.pk))
    tokens = session_start(user=user, ip=ip, user_agent=user_agent)
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(last_login=timezone.now())
        activity_record(
            user_id=user.pk,
            activity_type=ActivityType.SIGN_IN,
            details={"method": "oauth", "provider": provider, "created": resolved.created},
            ip=ip,
        )
    return tokens, resolved.created


def sign_in_failed(*, user_id: str, provider: str, reason: str, ip: str) -> None:
    activity_record(
        user_id=user_id,
        activity_type=ActivityType.SIGN_IN_FAILED,
        details={"method": "oauth", "provider": provider, "reason": reason},
        ip=ip,
    )


def social_user_resolve(*, identity: OAuthIdentity) -> SocialUser:
    """Our user for a verified identity, linking or creating one as the module says."""
    try:
        with transaction.atomic():
            return _resolve(identity)
    except IntegrityError:
        # A concurrent first sign-in of the same identity (or email) committed first.
        with transaction.atomic():
            return _resolve(identity)


def _resolve(identity: OAuthIdentity) -> SocialUser:
    link = (
        SocialAccount.objects.select_related("user")
        .filter(provider=identity.provider, subject=identity.subject)
        .first()
    )
    if link is not None:
        return SocialUser(link.user, created=False, claimed=False)
    email = User.objects.normalize_email(identity.email)
    if not email:
        raise ApiError("oauth_email_missing", status=422)
    existing = (
        User.objects.alias(email_lower=Lower("email"))
        .select_for_update()
        .filter(email_lower=email)
        .first()
    )
    if existing is not None:
        if not identity.email_verified:
            raise EmailUnverifiedConflict(user_id=str(existing.pk))
        claimed = not existing.is_email_verified
        if claimed:
            user_claim(user=existing)
        social_account_link(user=existing, identity=identity, email=email)
        return SocialUser(existing, created=False, claimed=claimed)
    user = User.objects.create_user(
        email,
        None,  # no usable password: this user signs in with the provider
        full_name=(identity.name or "")[:255],
        email_verified_at=timezone.now() if identity.email_verified else None,
    )
    social_account_link(user=user, identity=identity, email=email)
    return SocialUser(user, created=True, claimed=False)


def user_claim(*, user: User) -> None:
    """Hand a never-verified account to the person a provider just proved owns its email."""
    logger.warning("unverified account %s claimed through a verified provider email", user.pk)
    user.set_unusable_password()
    user.email_verified_at = timezone.now()
    user.save(update_fields=["password", "email_verified_at", "updated_at"])
    activity_record(
        user_id=user.pk,
        activity_type=ActivityType.PASSWORD_CHANGED,
        details={"via": "oauth_claim"},
    )


def social_account_link(*, user: User, identity: OAuthIdentity, email: str) -> SocialAccount:
    return SocialAccount.objects.create(
        user=user, provider=identity.provider, subject=identity.subject, email=email
    )
