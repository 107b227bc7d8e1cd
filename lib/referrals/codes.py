"""Each customer's referral code: 8 characters, random, without look-alike characters."""

from __future__ import annotations

import secrets
from typing import Any

from django.db import IntegrityError, transaction

from db.models import ReferralCode
from lib.conf import config

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
LENGTH = 8


def code_normalize(code: str) -> str:
    return code.strip().upper()[:16]


def referral_code_of(*, user_id: Any) -> ReferralCode:
    """The customer's code, made on first use (stable afterwards)."""
    row = ReferralCode.objects.filter(user_id=user_id).first()
    if row is not None:
        return row
    for _ in range(5):
        code = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        try:
            with transaction.atomic():
                return ReferralCode.objects.create(user_id=user_id, code=code)
        except IntegrityError:
            row = ReferralCode.objects.filter(user_id=user_id).first()
            if row is not None:  # made concurrently
                return row
    raise RuntimeError("could not draw a free referral code")


def referral_link(code: str) -> str:
    return f"{config.storefront_url}/?ref={code}"


def referral_code_find(code: str) -> ReferralCode | None:
    normalized = code_normalize(code)
    if not normalized:
        return None
    return ReferralCode.objects.filter(code=normalized).select_related("user").first()
