"""Users and sessions: /api/v1/auth/..."""

from typing import Literal

from lib.runtime import make_app

from ninja import Field, Router, Schema, Status

from lib.access import recovery, services
from lib.access.context import client_ip
from lib.access.permissions import Require
from lib.access.schemas import SessionOut, UserOut
from lib.access.sessions import session_refresh, session_start
from lib.cart import cart_merge
from lib.i18n import request_language
from lib.referrals.services import referral_at_signup, referral_code_check
from lib.schemas import CartToken, ErrorOut, InputSchema

router = Router(tags=["auth"], auth=Require())


def email_field():
    return Field(..., min_length=3, max_length=254, examples=["rahim@example.com"])


def password_field():
    # Long enough for any passphrase; the strength rules explain what is too long to set.
    return Field(..., min_length=1, max_length=1024)


def token_field():
    return Field(..., min_length=16, max_length=200)


class RegisterIn(InputSchema):
    email: str = email_field()
    password: str = password_field()
    full_name: str = Field("", max_length=255)
    phone: str | None = Field(None, max_length=32, examples=["01712345678"])
    preferred_language: Literal["en", "bn"] | None = Field(
        None, description="Defaults to the request's Accept-Language"
    )
    referral_code: str = Field(
        "", max_length=16, description="A friend's code (`?ref=`): 422 `referral_code_invalid`"
    )


class LoginIn(InputSchema):
    email: str = email_field()
    password: str = password_field()


class RefreshIn(InputSchema):
    refresh_token: str = token_field()


class TokenIn(InputSchema):
    token: str = token_field()


class ForgotPasswordIn(InputSchema):
    email: str = email_field()


class ResetPasswordIn(InputSchema):
    token: str = token_field()
    new_password: str = password_field()


class ChangePasswordIn(InputSchema):
    old_password: str = password_field()
    new_password: str = password_field()


class NoticeOut(Schema):
    message: str


def user_agent(request) -> str:
    return request.headers.get("User-Agent", "")


@router.post("/register", response={201: SessionOut, 409: ErrorOut}, auth=None)
def register(request, payload: RegisterIn, cart_token: CartToken = None):
    """Create a customer account, sign it in, and email a verification link; a friend's
    `referral_code` is recorded (both earn points on the first delivered order)."""
    referral_code_check(payload.referral_code)
    user = services.user_register(
        email=payload.email,
        password=payload.password,
        full_name=payload.full_name,
        phone=payload.phone,
        language=payload.preferred_language or request_language(request),
    )
    referral_at_signup(referee_id=user.pk, code=payload.referral_code)
    tokens = session_start(user=user, ip=client_ip(request), user_agent=user_agent(request))
    cart_merge(guest_token=cart_token or "", user_id=str(user.pk))
    return Status(201, {"user": user, "tokens": tokens})


@router.post("/login", response=SessionOut, auth=None)
def login(request, payload: LoginIn, cart_token: CartToken = None):
    """Sign in with email and password: the user and a new session's tokens. A guest cart
    named by `X-Cart-Token` moves into the customer's."""
    user, tokens = services.user_sign_in(
        email=payload.email,
        password=payload.password,
        ip=client_ip(request),
        user_agent=user_agent(request),
    )
    cart_merge(guest_token=cart_token or "", user_id=str(user.pk))
    return {"user": user, "tokens": tokens}


@router.post("/refresh", response={200: SessionOut, 409: ErrorOut}, auth=None)
def refresh(request, payload: RefreshIn):
    """Trade a refresh token for a new pair (same answer as signing in). Replaying a used
    one ends the session (401); 409 `refresh_in_progress` while a concurrent refresh of the
    same token finishes."""
    tokens = session_refresh(refresh_token=payload.refresh_token)
    return {"user": services.user_get(user_id=tokens.user_id), "tokens": tokens}


@router.post("/logout", response={204: None})
def logout(request):
    """End this session: its access and refresh tokens stop working at once."""
    services.user_sign_out(claims=request.auth, ip=client_ip(request))
    return Status(204, None)


@router.get("/me", response=UserOut)
def me(request):
    """The signed-in user."""
    return services.user_get(user_id=request.auth.user_id)


@router.post("/verify-email/request", response={202: NoticeOut, 422: ErrorOut})
def verify_email_request(request):
    """Email the signed-in user a link to verify their address (unless already verified);
    422 `email_missing` for an account made with a phone number."""
    user = services.user_get(user_id=request.auth.user_id)
    sent = recovery.email_verification_send(user=user)
    code = "verification_sent" if sent else "already_verified"
    return Status(202, {"message": recovery.notice(code, request_language(request))})


@router.post("/verify-email/confirm", response={204: None}, auth=None)
def verify_email_confirm(request, payload: TokenIn):
    """Verify the email address with the token from the emailed link."""
    recovery.email_verify(token=payload.token)
    return Status(204, None)


@router.post("/password/forgot", response={202: NoticeOut}, auth=None)
def password_forgot(request, payload: ForgotPasswordIn):
    """Email a reset link. The answer is the same whether or not the email is registered."""
    recovery.password_reset_request(email=payload.email)
    return Status(
        202, {"message": recovery.notice("password_reset_requested", request_language(request))}
    )


@router.post("/password/reset", response={204: None}, auth=None)
def password_reset(request, payload: ResetPasswordIn):
    """Set a new password with an emailed token (once, within an hour); signs out everywhere."""
    recovery.password_reset_confirm(
        token=payload.token,
        new_password=payload.new_password,
        ip=client_ip(request),
        language=request_language(request),
    )
    return Status(204, None)


@router.post("/password/change", response={204: None})
def password_change(request, payload: ChangePasswordIn):
    """Change the password; every other session is signed out."""
    services.password_change(
        user=services.user_get(user_id=request.auth.user_id),
        old_password=payload.old_password,
        new_password=payload.new_password,
        session_id=request.auth.session_id,
        ip=client_ip(request),
        language=request_language(request),
    )
    return Status(204, None)


app = make_app("auth", [("/auth", router)], title="Zest Store accounts")
