"""BulkSMSBD (bulksmsbd.net) as an `SmsGateway`.

`POST {BULKSMSBD_BASE_URL}/api/smsapi` (form: `api_key`, `type=text`, `number`, `senderid`,
`message`) answers `{"response_code": 202, "message_id": ..., "success_message": ...}` when
it took the message. Other `response_code`s are refusals: an internal error (1005), balance
validity unavailable (1006) and insufficient balance (1007) are retried later; the rest
(invalid number 1001, sender id 1002, missing fields 1003, "masking SMS must be sent in
Bengali" 1012, account and configuration errors, IP not whitelisted 1032) are permanent.
No client reference exists, so an attempt whose answer was lost may send twice.
"""

from __future__ import annotations

from lib import conf
from lib.sms.base import SmsError, SmsReceipt, sms_segments
from lib.sms.http import HttpSmsGateway, require

SEND_PATH = "/api/smsapi"
ACCEPTED = "202"
RETRYABLE_CODES = frozenset({"1005", "1006", "1007"})


class BulkSmsBdGateway(HttpSmsGateway):
    name = "bulksmsbd"

    def __init__(self, *, base_url: str, api_key: str, sender_id: str, timeout: float) -> None:
        super().__init__(base_url=base_url, timeout=timeout)
        self.api_key = api_key
        self.sender_id = sender_id

    def send(self, *, to: str, text: str, reference: str) -> SmsReceipt:
        body = self.request(
            "POST",
            SEND_PATH,
            form={
                "api_key": require(self.api_key, "BULKSMSBD_API_KEY", self.name),
                "type": "text",
                "number": to,
                "senderid": require(self.sender_id, "BULKSMSBD_SENDER_ID", self.name),
                "message": text,
            },
        )
        code = str(body.get("response_code", ""))
        if code == ACCEPTED:
            message_id = str(body.get("message_id") or reference)
            return SmsReceipt(message_id, sms_segments(text).segments, body)
        raise SmsError(
            f"bulksmsbd refused the SMS: {code} {str(body.get('error_message', ''))[:300]}",
            code=f"bulksmsbd_{code or 'failed'}",
            retryable=code in RETRYABLE_CODES,
        )


def gateway() -> BulkSmsBdGateway:
    settings = conf.sms_config
    return BulkSmsBdGateway(
        base_url=settings.bulksmsbd_base_url,
        api_key=settings.bulksmsbd_api_key,
        sender_id=settings.bulksmsbd_sender_id,
        timeout=settings.http_timeout,
    )
