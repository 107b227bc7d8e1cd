"""SSL Wireless ISMS Plus API v3 as an `SmsGateway`.

`POST {SSLWIRELESS_BASE_URL}/api/v3/send-sms` with JSON `{api_token, sid, msisdn, sms,
csms_id}`; `csms_id` is our reference (unique per day, at most 20 alphanumeric characters).
Accepted when `status` is `SUCCESS` and every `smsinfo[].sms_status` is `SUCCESS` (SSL's own
client checks `status_code == 200`, one integration shows 1000: the code is not relied on).

Refusals: rate limit, quota, TPS (4029-4031) and an unknown server error (5000) are retried
later; bad credentials or SID (4001-4003), bad numbers (4025, 4026) and bad texts (4027,
4028) are permanent. A duplicate `csms_id` (4023, or `sms_status` `DUPLICATE`) means SSL
already took this very message (an earlier attempt whose answer was lost): it counts as sent,
which is what makes a retry after a timeout safe here.
"""

from __future__ import annotations

from typing import Any

from lib import conf
from lib.sms.base import SmsError, SmsReceipt, sms_segments
from lib.sms.http import HttpSmsGateway, require

SEND_PATH = "/api/v3/send-sms"
RETRYABLE_CODES = frozenset({"4029", "4030", "4031", "5000"})
DUPLICATE_CODE = "4023"


class SslWirelessGateway(HttpSmsGateway):
    name = "sslwireless"

    def __init__(self, *, base_url: str, api_token: str, sid: str, timeout: float) -> None:
        super().__init__(base_url=base_url, timeout=timeout)
        self.api_token = api_token
        self.sid = sid

    def send(self, *, to: str, text: str, reference: str) -> SmsReceipt:
        body = self.request(
            "POST",
            SEND_PATH,
            json_body={
                "api_token": require(self.api_token, "SSLWIRELESS_API_TOKEN", self.name),
                "sid": require(self.sid, "SSLWIRELESS_SID", self.name),
                "msisdn": to,
                "sms": text,
                "csms_id": reference,
            },
        )
        infos = [info for info in body.get("smsinfo") or [] if isinstance(info, dict)]
        statuses = {str(info.get("sms_status", "")).upper() for info in infos}
        code = str(body.get("status_code", ""))
        segments = sms_segments(text).segments
        if code == DUPLICATE_CODE or statuses == {"DUPLICATE"}:
            return SmsReceipt(message_id(infos, reference), segments, {**body, "duplicate": True})
        if str(body.get("status", "")).upper() == "SUCCESS" and statuses <= {"SUCCESS"}:
            return SmsReceipt(message_id(infos, reference), segments, body)
        raise SmsError(
            f"sslwireless refused the SMS: {refusal(body, infos)}",
            code=f"sslwireless_{code or 'failed'}",
            retryable=code in RETRYABLE_CODES,
        )


def message_id(infos: list[dict[str, Any]], reference: str) -> str:
    """SSL's `reference_id` (what its support asks for), else our own `csms_id`."""
    return next((str(i["reference_id"]) for i in infos if i.get("reference_id")), reference)


def refusal(body: dict[str, Any], infos: list[dict[str, Any]]) -> str:
    details = "; ".join(
        f"{info.get('sms_status', '')} {info.get('status_message', '')}".strip() for info in infos
    )
    parts = [str(body.get("status_code", "")), str(body.get("error_message", "")), details]
    return " ".join(part for part in parts if part)[:500] or "no reason given"


def gateway() -> SslWirelessGateway:
    settings = conf.sms_config
    return SslWirelessGateway(
        base_url=settings.sslwireless_base_url,
        api_token=settings.sslwireless_api_token,
        sid=settings.sslwireless_sid,
        timeout=settings.http_timeout,
    )
