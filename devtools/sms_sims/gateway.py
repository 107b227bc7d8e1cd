"""A local SMS gateway speaking SSL Wireless's, sms.net.bd's and BulkSMSBD's protocols, with
an inbox per number, kept in memory.

Paths and fields as the providers publish them:
- SSL Wireless ISMS Plus v3: `POST /api/v3/send-sms`, JSON `{api_token, sid, msisdn, sms,
  csms_id}` -> `{status, status_code, error_message, smsinfo: [...]}`; a `csms_id` already
  used today answers `DUPLICATE` (4023) and is not sent again.
- sms.net.bd: `/sendsms` (GET or POST, form or JSON: `api_key, msg, to, sender_id`) ->
  `{error: 0, msg, data: {request_id}}`; `GET /report/request/{id}/` and `GET /user/balance/`.
- BulkSMSBD: `/api/smsapi` (`api_key, type, number, senderid, message`) ->
  `{response_code: 202, message_id, success_message, error_message}`.

Pages: `/` lists the numbers that received messages, `/inbox/<number>` shows one number's
messages (Bangla rendered). For tests: `GET /__sim/messages?to=8801...` (JSON, oldest first),
`DELETE /__sim/messages`, `POST /__sim/failures` with any of `{"server_error": N}` (the next N
calls answer HTTP 503), `{"refuse": N}` (the next N sends are refused with the provider's
retryable code: SSL 4029, sms.net.bd 417, BulkSMSBD 1007), `{"delay": seconds}` (each send is
taken, then answered that much later), `{}` resets. `PERMANENT_FAILURE_NUMBER` is refused
as an invalid number by every protocol (SSL 4025, sms.net.bd 416, BulkSMSBD 1001).
"""

from __future__ import annotations

import json
import sys
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

from devtools.sim_runner import SimulatorServer
from devtools.sms_sims.pages import html_response, inbox_page, index_page
from devtools.wsgi_server import Environ, StartResponse, json_response
from lib.sms.base import sms_segments

SSL_TOKEN = "ssl-sim-api-token"  # noqa: S105 - the simulator's, not a real secret
SSL_SID = "ZESTSTORE"
SMSNETBD_KEY = "smsnetbd-sim-api-key"
BULKSMSBD_KEY = "bulksmsbd-sim-api-key"
BULKSMSBD_SENDER = "8809617000000"
PERMANENT_FAILURE_NUMBER = "8801900000000"
PRICE_PER_SEGMENT = Decimal("0.25")
MAX_TEXT = 1000
SEND_PATHS = frozenset({"/api/v3/send-sms", "/sendsms", "/sendsms/", "/api/smsapi"})


@dataclass
class Hooks:
    server_error: int = 0  # the next N calls answer HTTP 503
    refuse: int = 0  # the next N sends are refused with a retryable code
    delay: float = 0.0  # seconds each send waits after taking the message


@dataclass
class State:
    messages: list[dict[str, Any]] = field(default_factory=list)
    csms_ids: set[tuple[str, str]] = field(default_factory=set)  # (day, csms_id)
    requests: dict[str, dict[str, Any]] = field(default_factory=dict)  # sms.net.bd request_id
    balance: Decimal = Decimal("500.00")
    sends: int = 0  # send calls received, answered or not
    lock: threading.Lock = field(default_factory=threading.Lock)


def msisdn(raw: str) -> str | None:
    """`8801XXXXXXXXX` for `8801...`, `+8801...` or `01...`; None otherwise."""
    digits = raw.strip().removeprefix("+")
    if digits.startswith("01"):
        digits = "88" + digits
    ok = len(digits) == 13 and digits.isdigit() and digits.startswith("8801")
    return digits if ok and digits[4] in "3456789" else None


class SmsGatewaySim:
    """The WSGI app."""

    def __init__(self, *, echo: bool = False) -> None:
        self.hooks = Hooks()
        self.state = State()
        self.echo = echo  # print each message (the dev server's terminal)
        self.released = threading.Event()  # set on stop: ends a delayed answer
        self.url = ""

    # --- WSGI -----------------------------------------------------------------------------

    def __call__(self, environ: Environ, start_response: StartResponse):
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        data = request_data(environ)
        if path.startswith("/__sim/"):
            return self.control(start_response, method, path, data)
        if method == "GET" and path in ("", "/"):
            with self.state.lock:
                page = index_page(list(self.state.messages), self.state.balance)
            return html_response(start_response, 200, page)
        if method == "GET" and path.startswith("/inbox/"):
            raw = path.split("/")[2]
            to = msisdn(raw) or raw
            with self.state.lock:
                mine = [m for m in self.state.messages if m["to"] == to]
            return html_response(start_response, 200, inbox_page(to, mine))
        if path in SEND_PATHS:
            with self.state.lock:
                self.state.sends += 1
        if self.hooks.server_error > 0:
            self.hooks.server_error -= 1
            return json_response(start_response, 503, {"message": "Service Unavailable"})
        if method == "POST" and path == "/api/v3/send-sms":
            return self.answer(start_response, self.ssl_send(data))
        if path.rstrip("/") == "/sendsms":
            return self.answer(start_response, self.smsnetbd_send(data))
        if method == "GET" and path.startswith("/report/request/"):
            return json_response(start_response, 200, self.smsnetbd_report(path, data))
        if method == "GET" and path.rstrip("/") == "/user/balance":
            return json_response(start_response, 200, self.smsnetbd_balance(data))
        if path.rstrip("/") == "/api/smsapi":
            return self.answer(start_response, self.bulksmsbd_send(data))
        return json_response(start_response, 404, {"message": "Not found"})

    def answer(self, start_response: StartResponse, reply: tuple[dict[str, Any], bool]):
        """Answer a send; a taken message waits `hooks.delay` first (a slow gateway)."""
        body, taken = reply
        if taken and self.hooks.delay:
            self.released.wait(self.hooks.delay)
        return json_response(start_response, 200, body)

    def control(self, start_response: StartResponse, method: str, path: str, data: dict):
        if path == "/__sim/messages" and method == "GET":
            to = msisdn(data.get("to", "")) or data.get("to", "")
            with self.state.lock:
                found = [m for m in self.state.messages if not to or m["to"] == to]
            return json_response(start_response, 200, {"messages": found})
        if path == "/__sim/messages" and method == "DELETE":
            with self.state.lock:
                self.state.messages.clear()
            return json_response(start_response, 200, {"messages": []})
        if path == "/__sim/failures" and method == "POST":
            self.hooks.server_error = int(data.get("server_error", 0))
            self.hooks.refuse = int(data.get("refuse", 0))
            self.hooks.delay = float(data.get("delay", 0))
            return json_response(start_response, 200, self.hooks.__dict__)
        return json_response(start_response, 404, {"message": "Not found"})

    # --- shared by the three protocols -----------------------------------------------------

    def refused_for_now(self) -> bool:
        with self.state.lock:
            if self.hooks.refuse > 0:
                self.hooks.refuse -= 1
                return True
        return False

    def take(self, provider: str, to: str, text: str, sender: str, reference: str) -> dict:
        size = sms_segments(text)
        message = {
            "id": uuid.uuid4().hex[:16],
            "provider": provider,
            "to": to,
            "text": text,
            "sender": sender,
            "reference": reference,
            "encoding": size.encoding,
            "segments": size.segments,
            "received_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        with self.state.lock:
            self.state.messages.append(message)
            self.state.balance -= PRICE_PER_SEGMENT * size.segments
        if self.echo:
            sys.stdout.write(f"[SMS {provider} -> +{to}] {text}\n")
            sys.stdout.flush()
        return message

    # --- SSL Wireless -----------------------------------------------------------------------

    def ssl_send(self, data: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        def failed(code: int, reason: str, sms_status: str = "") -> tuple[dict, bool]:
            info = [{"sms_status": sms_status, "status_message": reason}] if sms_status else []
            body = {"status": "FAILED", "status_code": code, "error_message": reason}
            return {**body, "smsinfo": info}, False

        if data.get("api_token") != SSL_TOKEN:
            return failed(4001, "Invalid api token")
        if data.get("sid") != SSL_SID:
            return failed(4002, "SID not permitted")
        text, reference = str(data.get("sms") or ""), str(data.get("csms_id") or "")
        if not text or not reference or not data.get("msisdn"):
            return failed(4022, "Missing parameter")
        if len(reference) > 20 or not reference.isalnum():
            return failed(4020, "Invalid csms_id")
        to = msisdn(str(data["msisdn"]))
        if to is None or to == PERMANENT_FAILURE_NUMBER:
            return failed(4025, "Invalid msisdn", "INVALID")
        if len(text) > MAX_TEXT:
            return failed(4027, "Message too long")
        if self.refused_for_now():
            return failed(4029, "Rate limit exceeded")
        day = datetime.now(UTC).date().isoformat()
        with self.state.lock:
            duplicate = (day, reference) in self.state.csms_ids
            self.state.csms_ids.add((day, reference))
        if duplicate:
            return failed(4023, "Duplicate csms_id", "DUPLICATE")
        message = self.take("sslwireless", to, text, SSL_SID, reference)
        info = {
            "sms_status": "SUCCESS",
            "status_message": "Success",
            "msisdn": to,
            "sms_type": "EN" if message["encoding"] == "GSM-7" else "BN",
            "sms_body": text,
            "csms_id": reference,
            "reference_id": message["id"],
        }
        return {
            "status": "SUCCESS",
            "status_code": 200,
            "error_message": "",
            "smsinfo": [info],
        }, True

    # --- sms.net.bd -------------------------------------------------------------------------

    def smsnetbd_send(self, data: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        def error(code: int, reason: str) -> tuple[dict, bool]:
            return {"error": code, "msg": reason}, False

        if data.get("api_key") != SMSNETBD_KEY:
            return error(405, "Authorization required")
        text = str(data.get("msg") or "")
        if not text:
            return error(414, "Message body cannot be empty")
        if len(text) > MAX_TEXT:
            return error(415, "Message is too long")
        to = msisdn(str(data.get("to") or ""))
        if to is None or to == PERMANENT_FAILURE_NUMBER:
            return error(416, "No valid number found")
        if self.refused_for_now():
            return error(417, "Insufficient balance")
        message = self.take("smsnetbd", to, text, str(data.get("sender_id") or ""), "")
        request_id = str(len(self.state.requests) + 100001)
        charge = str(PRICE_PER_SEGMENT * message["segments"])
        with self.state.lock:
            self.state.requests[request_id] = {
                "request_id": int(request_id),
                "request_status": "Complete",
                "request_charge": charge,
                "recipients": [{"number": to, "charge": charge, "status": "Sent"}],
            }
        return {
            "error": 0,
            "msg": "Request successfully submitted",
            "data": {"request_id": int(request_id)},
        }, True

    def smsnetbd_report(self, path: str, data: dict[str, Any]) -> dict[str, Any]:
        if data.get("api_key") != SMSNETBD_KEY:
            return {"error": 405, "msg": "Authorization required"}
        report = self.state.requests.get(path.strip("/").split("/")[-1])
        if report is None:
            return {"error": 404, "msg": "Request not found"}
        return {"error": 0, "msg": "Success", "data": report}

    def smsnetbd_balance(self, data: dict[str, Any]) -> dict[str, Any]:
        if data.get("api_key") != SMSNETBD_KEY:
            return {"error": 405, "msg": "Authorization required"}
        return {"error": 0, "msg": "Success", "data": {"balance": str(self.state.balance)}}

    # --- BulkSMSBD --------------------------------------------------------------------------

    def bulksmsbd_send(self, data: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        def error(code: int, reason: str) -> tuple[dict, bool]:
            body = {"response_code": code, "message_id": None, "success_message": ""}
            return {**body, "error_message": reason}, False

        if data.get("api_key") != BULKSMSBD_KEY:
            return error(1011, "User ID not found")
        text, to_raw = str(data.get("message") or ""), str(data.get("number") or "")
        if not text or not to_raw or data.get("type", "text") != "text":
            return error(1003, "Please provide all required fields")
        if data.get("senderid") != BULKSMSBD_SENDER:
            return error(1002, "Sender ID not correct or disabled")
        to = msisdn(to_raw)
        if to is None or to == PERMANENT_FAILURE_NUMBER:
            return error(1001, "Invalid number")
        if self.refused_for_now():
            return error(1007, "Balance insufficient")
        message = self.take("bulksmsbd", to, text, BULKSMSBD_SENDER, "")
        body = {"response_code": 202, "message_id": int(message["id"][:8], 16)}
        return {**body, "success_message": "SMS Submitted Successfully", "error_message": ""}, True


def request_data(environ: Environ) -> dict[str, Any]:
    """Query string, then a form or JSON body, merged (the providers accept either)."""
    data: dict[str, Any] = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    if not raw:
        return data
    if "json" in environ.get("CONTENT_TYPE", ""):
        try:
            body = json.loads(raw)
        except ValueError:
            return data
        return {**data, **body} if isinstance(body, dict) else data
    form = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
    return {**data, **{k: v[-1] for k, v in form.items()}}


class SmsGatewaySimulator(SimulatorServer[SmsGatewaySim]):
    def messages(self, to: str = "") -> list[dict[str, Any]]:
        with self.state.lock:
            return [m for m in self.state.messages if not to or m["to"] == to]

    def reset(self) -> None:
        """Empty inboxes, no failure injected (between tests)."""
        self.hooks.server_error = self.hooks.refuse = 0
        self.hooks.delay = 0.0
        with self.state.lock:
            self.state.messages.clear()
            self.state.csms_ids.clear()
            self.state.requests.clear()
            self.state.sends = 0

    def stop(self) -> None:
        self.sim.released.set()
        super().stop()


def start_sms_simulator(
    host: str = "127.0.0.1", port: int = 0, *, echo: bool = False
) -> SmsGatewaySimulator:
    """Serve the simulator on a daemon thread (`port=0` picks a free one); `.url`, `.hooks`,
    `.state`, `.messages(to)`, `.stop()`."""
    return SmsGatewaySimulator(SmsGatewaySim(echo=echo), host, port, name="sms-gateway-sim")


def env(url: str, backend: str = "sslwireless") -> dict[str, str]:
    """The variables that point `backend`'s adapter at the simulator at `url`."""
    return {
        "sslwireless": {
            "SSLWIRELESS_BASE_URL": url,
            "SSLWIRELESS_API_TOKEN": SSL_TOKEN,
            "SSLWIRELESS_SID": SSL_SID,
        },
        "smsnetbd": {"SMSNETBD_BASE_URL": url, "SMSNETBD_API_KEY": SMSNETBD_KEY},
        "bulksmsbd": {
            "BULKSMSBD_BASE_URL": url,
            "BULKSMSBD_API_KEY": BULKSMSBD_KEY,
            "BULKSMSBD_SENDER_ID": BULKSMSBD_SENDER,
        },
    }[backend] | {"SMS_BACKEND": backend}
