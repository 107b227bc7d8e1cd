"""Phone sign-in with SMS one-time codes: /api/v1/auth/phone/..."""

from typing import Literal

from lib.runtime import make_app

from django.http import HttpResponse
from ninja import Field, Router, Schema, Status

from lib.access.context import client_ip, get_access
from lib.access.phone_otp import OtpRefused, otp_request
from lib.access.phone_sign_in import phone_link, phone_sign_in, phone_verification_issue
from lib.access.schemas import ProviderSessionOut, UserOut
from lib.cart import cart_merge
from lib.i18n import request_language
from lib.schemas import CartToken, ErrorOut, InputSchema

router = Router(tags=["auth"])

PurposeIn = Literal["sign_in", "link", "guest_checkout"]
PURPOSE_DESCRIPTION = (
    "`sign_in`: continue with phone (signs in, or creates the account); `link`: prove a "
    "number for the signed-in account; `guest_checkout`: prove a guest order's number"
)


def phone_field():
    return Field(..., min_length=1, max_length=32, examples=["01712345678"])


class CodeIn(InputSchema):
    phone: str = phone_field()
    purpose: PurposeIn = Field(..., description=PURPOSE_DESCRIPTION)


class VerifyIn(CodeIn):
    code: str = Field(..., pattern=r"^\s*[0-9০-৯]{6}\s*$", description="The 6 digits of the SMS")


class CodeSentOut(Schema):
    sent: bool = True
    resend_after: int = Field(..., description="Seconds before another code may be asked")
    expires_in: int = Field(..., description="Seconds the code is valid")


class PhoneVerificationOut(Schema):
    phone_verification: str = Field(
        ..., description="Send as `phone_verification` when placing the guest order"
    )
    expires_in: int = Field(..., description="Seconds the verification is accepted")


def user_id_of(request) -> str | None:
    claims = get_access(request).claims
    return str(claims.user_id) if claims else None


@router.post("/code", response={202: CodeSentOut, 429: ErrorOut}, auth=None)
def code_send(request, body: CodeIn):
    """Text a 6-digit code to a Bangladeshi mobile number, in the caller's language. The
    answer is the same whether or not an account has the number. `link` needs a signed-in
    user. 422 `phone_invalid`; 429 `otp_resend_too_soon` (a code was just sent) or
    `rate_limited` (too many codes for the number or from this network), with
    `Retry-After`."""
    try:
        sent = otp_request(
            phone=body.phone,
            purpose=body.purpose,
            ip=client_ip(request),
            user_id=user_id_of(request),
            language=request_language(request),
        )
    except OtpRefused as exc:
        get_access(request).rate_limit_headers["Retry-After"] = str(exc.retry_after)
        raise
    return Status(202, {"resend_after": sent.resend_after, "expires_in": sent.expires_in})


@router.post(
    "/verify",
    response={
        200: ProviderSessionOut | UserOut | PhoneVerificationOut,
        409: ErrorOut,
        429: ErrorOut,
    },
    auth=None,
)
def code_verify(request, response: HttpResponse, body: VerifyIn, cart_token: CartToken = None):
    """Check the code. `sign_in`: the session (`created` when the account was made now); a
    guest cart named by `X-Cart-Token` moves into the customer's. `link` (signed in): the
    user, now with this verified phone; 409 `phone_taken` when another account has it.
    `guest_checkout`: a `phone_verification` for placing the order. 400 `otp_invalid` (wrong
    code) or `otp_expired` (none live: expired, used or never sent); 429
    `otp_attempts_exceeded` (too many wrong codes: ask for a new one); 403
    `account_disabled`."""
    language = request_language(request)
    response["Cache-Control"] = "no-store"
    if body.purpose == "link":
        return phone_link(
            user_id=user_id_of(request), phone=body.phone, code=body.code, language=language
        )
    if body.purpose == "guest_checkout":
        token, expires_in = phone_verification_issue(
            phone=body.phone, code=body.code, language=language
        )
        return {"phone_verification": token, "expires_in": expires_in}
    user, tokens, created = phone_sign_in(
        phone=body.phone,
        code=body.code,
        ip=client_ip(request),
        user_agent=request.headers.get("User-Agent", ""),
        language=language,
    )
    cart_merge(guest_token=cart_token or "", user_id=str(user.pk))
    return {"user": user, "tokens": tokens, "created": created}


app = make_app("phone_auth", [("/auth/phone", router)], title="Zest Store phone sign-in")
