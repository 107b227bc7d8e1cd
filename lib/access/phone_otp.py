"""One-time codes sent by SMS: asking for one (`otp_request`) and checking it (`otp_verify`).

A code is 6 digits from `secrets`, bound to a phone number and a scope: the purpose
(`sign_in`, `link`, `guest_checkout`), and for `link` the signed-in user too, so a code
asked by one account cannot prove the number for another. The KV store keeps only its
HMAC-SHA256 under SECRET_KEY, never the code:

- `otp:code:{scope}:{phone}`: hash of `digest`, `attempts`, `state` (`live`, `used`,
  `burnt`) and `id` (the code's id, the SMS dedupe key), living `PHONE_OTP_TTL` seconds.
  A new code replaces the previous one.
- `otp:resend:{scope}:{phone}`: present while another code may not be sent (SET NX EX).

Checking is one Lua script, so concurrent guesses share one attempt counter: the right
code turns the state to `used` (single use), the `PHONE_OTP_MAX_ATTEMPTS`th wrong one to
`burnt` (even the right code fails after that).

Asking never looks at accounts: the answer and its work are the same whether or not an
account has the number (no enumeration). What happens with a proved number (sign in,
register, link, guest checkout) lives in `lib.access.phone_sign_in`.

Limits: per IP (`PHONE_OTP_IP_LIMIT`, per /64 for IPv6) and per number
(`PHONE_OTP_PHONE_LIMIT`) with the project's sliding-window limiter, and a resend cooldown
(`PHONE_OTP_RESEND_SECONDS`) per number and scope.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Literal

from django.db import transaction

from lib.access.ratelimit import ip_bucket, named_limiter
from lib.access.services import phone_normalize
from lib.conf import PhoneOtpConfig, Rate, config, load_phone_otp_config
from lib.errors import ApiError, translate
from lib.i18n import Language
from lib.kv import get_kv
from lib.money import BANGLA_DIGITS

Purpose = Literal["sign_in", "link", "guest_checkout"]
PURPOSES: tuple[Purpose, ...] = ("sign_in", "link", "guest_checkout")
CODE_DIGITS = 6
SMS_KIND = "otp"

# EN: GSM-7, one SMS (160). BN: UCS-2, one SMS only within 70 characters: keep it short.
OTP_TEXTS: tuple[str, str] = (
    "{code} is your {store} code. It expires in {minutes} minutes. Never share it.",
    "{code} আপনার {store} কোড। {minutes} মিনিট বৈধ। কাউকে জানাবেন না।",
)

VERIFY_SCRIPT = """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then
  return {'missing', 0}
end
if state ~= 'live' then
  return {state, 0}
end
if redis.call('HGET', KEYS[1], 'digest') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'state', 'used')
  return {'ok', 0}
end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
if attempts >= tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'state', 'burnt')
  return {'burnt', attempts}
end
return {'wrong', attempts}
"""


@dataclass(frozen=True, slots=True)
class OtpSent:
    resend_after: int  # seconds before another code may be asked for this number
    expires_in: int  # seconds the code is valid


class OtpRefused(ApiError):
    """429 with the seconds to wait (`Retry-After`)."""

    def __init__(self, code: str, *, retry_after: int, fields: dict | None = None) -> None:
        super().__init__(code, status=429, fields=fields)
        self.retry_after = max(1, retry_after)


# --- keys and digests --------------------------------------------------------------------


def otp_scope(purpose: Purpose, user_id: str | None = None) -> str:
    return f"link:{user_id}" if purpose == "link" else purpose


def otp_code_key(phone: str, scope: str) -> str:
    return f"otp:code:{scope}:{phone}"


def otp_resend_key(phone: str, scope: str) -> str:
    return f"otp:resend:{scope}:{phone}"


def otp_digest(phone: str, scope: str, code: str) -> str:
    message = f"{phone}\n{scope}\n{code}".encode()
    return hmac.new(config.secret_key.encode(), message, hashlib.sha256).hexdigest()


def otp_code_new() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def otp_code_clean(raw: str) -> str:
    """The code as typed (spaces, Bangla digits) in ASCII digits."""
    return "".join(raw.split()).translate(str.maketrans("০১২৩৪৫৬৭৮৯", "0123456789"))


def phone_parse(raw: str, language: Language = "en") -> str:
    """A Bangladeshi mobile number in E.164; 422 `phone_invalid` naming `phone` otherwise."""
    try:
        return phone_normalize(raw)
    except ValueError as exc:
        raise ApiError(
            "phone_invalid", status=422, fields={"phone": [translate("phone_invalid", language)]}
        ) from exc


def otp_text(*, code: str, language: Language, conf: PhoneOtpConfig) -> str:
    """The SMS: the code first (phones offer to fill it in), the store and the lifetime."""
    minutes = str(max(1, math.ceil(conf.code_ttl / 60)))
    if language == "bn":
        return OTP_TEXTS[1].format(
            code=code, store=conf.store_name_bn, minutes=minutes.translate(BANGLA_DIGITS)
        )
    return OTP_TEXTS[0].format(code=code, store=conf.store_name, minutes=minutes)


# --- limits ----------------------------------------------------------------------------------


def otp_limit(name: str, identifier: str, rate: Rate) -> None:
    """Count one code against `identifier`; 429 `rate_limited` once over the limit."""
    result = named_limiter(name, rate).limit(identifier)
    if not result.allowed:
        raise OtpRefused("rate_limited", retry_after=math.ceil(result.reset - time.time()))


def otp_cooldown_claim(phone: str, scope: str, conf: PhoneOtpConfig, language: Language) -> None:
    """Start the resend cooldown; 429 `otp_resend_too_soon` while the last one runs."""
    if conf.resend_seconds <= 0:
        return
    kv = get_kv()
    key = otp_resend_key(phone, scope)
    if kv.set(key, "1", nx=True, ex=conf.resend_seconds):
        return
    wait = kv.ttl(key)
    raise OtpRefused(
        "otp_resend_too_soon",
        retry_after=wait if wait > 0 else 1,
        fields={"phone": [translate("otp_resend_too_soon", language)]},
    )


# --- services ------------------------------------------------------------------------------


def otp_request(
    *,
    phone: str,
    purpose: Purpose,
    ip: str,
    user_id: str | None = None,
    language: Language = "en",
) -> OtpSent:
    """Send a new code to `phone` for `purpose` (`link` needs the signed-in `user_id`).

    The same answer whether or not an account has the number. 422 `phone_invalid`; 429
    `otp_resend_too_soon` within the cooldown, `rate_limited` over the per-IP or per-number
    limit (each with the seconds to wait)."""
    from lib.sms.services import sms_enqueue

    if purpose == "link" and not user_id:
        raise ApiError("unauthenticated", status=401)
    phone = phone_parse(phone, language)
    conf = load_phone_otp_config()
    scope = otp_scope(purpose, user_id)
    otp_limit("otp:ip", ip_bucket(ip), conf.ip_rate)
    otp_cooldown_claim(phone, scope, conf, language)
    otp_limit("otp:phone", phone, conf.phone_rate)
    code, code_id = otp_code_new(), uuid.uuid4().hex
    key = otp_code_key(phone, scope)
    tx = get_kv().multi()
    tx.delete(key)
    tx.hset(
        key,
        values={
            "digest": otp_digest(phone, scope, code),
            "attempts": 0,
            "state": "live",
            "id": code_id,
        },
    )
    tx.expire(key, conf.code_ttl)
    tx.exec()
    with transaction.atomic():
        sms_enqueue(
            to=phone,
            text=otp_text(code=code, language=language, conf=conf),
            kind=SMS_KIND,
            dedupe_key=f"otp:{code_id}",
        )
    return OtpSent(resend_after=max(conf.resend_seconds, 0), expires_in=conf.code_ttl)


def otp_verify(*, phone: str, purpose: Purpose, code: str, user_id: str | None = None) -> None:
    """Use up the live code of `phone` for `purpose` if `code` is it. Otherwise:
    400 `otp_invalid` (a wrong code, counted), 400 `otp_expired` (none live: expired, used
    or never sent), 429 `otp_attempts_exceeded` (burnt by wrong codes)."""
    if purpose == "link" and not user_id:
        raise ApiError("unauthenticated", status=401)
    conf = load_phone_otp_config()
    scope = otp_scope(purpose, user_id)
    digest = otp_digest(phone, scope, otp_code_clean(code))
    outcome, _attempts = get_kv().eval(
        VERIFY_SCRIPT, keys=[otp_code_key(phone, scope)], args=[digest, str(conf.max_attempts)]
    )
    if outcome == "ok":
        return
    if outcome == "wrong":
        raise ApiError("otp_invalid", status=400)
    if outcome == "burnt":
        raise ApiError("otp_attempts_exceeded", status=429)
    raise ApiError("otp_expired", status=400)
