"""sms.net.bd (Alpha SMS) as an `SmsGateway`, with its delivery report and balance.

`POST {SMSNETBD_BASE_URL}/sendsms` (form: `api_key`, `msg`, `to`, optional `sender_id`, an
approved masking name) answers `{"error": 0, "msg": ..., "data": {"request_id": N}}`.
Refusals carry `error` 400-421: a server error (409) and an empty balance (417, until the
account is topped up) are retried later; the others (bad parameters, no permission, expired
account, invalid sender id, empty or too long text, no valid number, blocked content, the
new-account restriction 421) are permanent. sms.net.bd has no client reference: an attempt
whose answer was lost (a timeout) may send a second copy when retried.

`report(request_id)` (`GET /report/request/{id}/`) and `balance()` (`GET /user/balance/`)
are polled helpers; sms.net.bd pushes no delivery reports.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from lib import conf
from lib.sms.base import SmsError, SmsReceipt, sms_segments
from lib.sms.http import HttpSmsGateway, require

RETRYABLE_ERRORS = frozenset({409, 417})


def error_of(body: dict[str, Any]) -> int:
    try:
        return int(body.get("error", -1))
    except (TypeError, ValueError):
        return -1


class SmsNetBdGateway(HttpSmsGateway):
    name = "smsnetbd"

    def __init__(self, *, base_url: str, api_key: str, sender_id: str, timeout: float) -> None:
        super().__init__(base_url=base_url, timeout=timeout)
        self.api_key = api_key
        self.sender_id = sender_id

    def call(self, method: str, path: str, **options: Any) -> dict[str, Any]:
        body = self.request(method, path, **options)
        error = error_of(body)
        if error != 0:
            raise SmsError(
                f"smsnetbd refused: {error} {str(body.get('msg', ''))[:300]}",
                code=f"smsnetbd_{error}",
                retryable=error in RETRYABLE_ERRORS,
            )
        data = body.get("data")
        return data if isinstance(data, dict) else {}

    def key(self) -> str:
        return require(self.api_key, "SMSNETBD_API_KEY", self.name)

    def send(self, *, to: str, text: str, reference: str) -> SmsReceipt:
        form = {"api_key": self.key(), "msg": text, "to": to}
        if self.sender_id:
            form["sender_id"] = self.sender_id
        data = self.call("POST", "/sendsms", form=form)
        request_id = str(data.get("request_id") or "")
        if not request_id:
            raise SmsError(
                "smsnetbd accepted the SMS without a request_id", code="smsnetbd_bad_reply"
            )
        return SmsReceipt(request_id, sms_segments(text).segments, {**data, "reference": reference})

    def report(self, request_id: str) -> dict[str, Any]:
        """The delivery report of one request: `request_status` ("Complete", ...),
        `request_charge` and `recipients` (`number`, `charge`, `status` such as "Sent")."""
        return self.call("GET", f"/report/request/{request_id}/", params={"api_key": self.key()})

    def balance(self) -> Decimal:
        """The account's balance in BDT."""
        data = self.call("GET", "/user/balance/", params={"api_key": self.key()})
        try:
            return Decimal(str(data.get("balance")))
        except InvalidOperation as exc:
            raise SmsError("smsnetbd answered no balance", code="smsnetbd_bad_reply") from exc


def gateway() -> SmsNetBdGateway:
    settings = conf.sms_config
    return SmsNetBdGateway(
        base_url=settings.smsnetbd_base_url,
        api_key=settings.smsnetbd_api_key,
        sender_id=settings.smsnetbd_sender_id,
        timeout=settings.http_timeout,
    )
