"""A local Steadfast Courier (packzy API v1), parcels kept in memory.

API under `/api/v1` (so STEADFAST_BASE_URL = `<url>/api/v1`), every call with the `Api-Key`
and `Secret-Key` headers (401 `{"status": 401, "message": "Unauthorized"}` otherwise):

* `POST /create_order`: invoice unique (a reused one: 422, errors.invoice "has already been
  taken"); answers `{status: 200, message, consignment: {consignment_id (int), invoice,
  tracking_code (8 hex), ..., status: "in_review"}}`.
* `POST /create_order/bulk-order`: `data` a JSON-encoded string of at most 500 orders; one
  result per order (`consignment_id`/`tracking_code` null and `status: "error"` when refused).
* `GET /status_by_cid/{id}`, `/status_by_invoice/{invoice}`, `/status_by_trackingcode/{code}`:
  `{status: 200, delivery_status}` (404 for an unknown parcel).
* `GET /get_balance`: COD collected minus charges, not yet paid out.
* `POST /create_return_request` (consignment_id | invoice | tracking_code, reason),
  `GET /get_return_request/{id}`, `GET /get_return_requests`.
* `GET /payments`, `GET /payments/{id}` (the payout with the consignments it paid).

Pages: `/` lists the parcels; `/parcels/{id}` has a button per Steadfast status and a
free-text tracking message; `/payouts` pays out the delivered parcels. Every move POSTs the
webhook to the configured URL as Steadfast does: `Authorization: Bearer <token>`, JSON
`{notification_type: "delivery_status", consignment_id, invoice, cod_amount, status,
delivery_charge, tracking_message, updated_at}` (`status` "Delivered" capitalised, as the
doc's example sends it) or `{notification_type: "tracking_update", ...}`.

Control for tests (JSON, no keys): `POST /__sim/parcels/{id}/advance {"status", "cod_amount"?,
"message"?, "spelling"?: "doc"|"lower"|"title"}`, `POST /__sim/parcels/{id}/message
{"message"}`, `POST /__sim/fail {"route", "status"?, "times"?}` (answer 5xx),
`POST /__sim/slow {"route", "seconds"}` (answer late), `POST /__sim/create-then-timeout
{"seconds"}` (the next create makes the parcel, then answers late), `POST /__sim/payouts
{"adjust"?: {consignment_id: amount}}` (pay out delivered parcels; adjust = a line Steadfast
reports differently), `POST /__sim/webhook {"url", "token"}`, `POST /__sim/reset`,
`GET /__sim/parcels` (everything, with request counts).

Run it standalone: `python -m devtools.courier_sims.steadfast [--port 8796] [--webhook URL]`.
"""

from __future__ import annotations

import itertools
import json
import re
import secrets
import threading
import time
from collections import Counter
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from devtools.courier_sims import steadfast_pages as pages
from devtools.courier_sims.steadfast_control import ControlMixin, read_json
from devtools.courier_sims.steadfast_ledger import LedgerMixin, money
from devtools.sim_runner import (
    SimulatorServer,
    assignments,
    command_line,
    serve_until_interrupted,
)
from devtools.wsgi_server import json_response

API_KEY = "sim-steadfast-api-key"
SECRET_KEY = "sim-steadfast-secret-key"  # noqa: S105
WEBHOOK_TOKEN = "sim-steadfast-webhook-token"  # noqa: S105
PREFIX = "/api/v1/"
STATUSES = (
    "in_review",
    "pending",
    "hold",
    "delivered_approval_pending",
    "partial_delivered_approval_pending",
    "cancelled_approval_pending",
    "unknown_approval_pending",
    "delivered",
    "partial_delivered",
    "cancelled",
    "unknown",
)
COLLECTED = {
    "delivered",
    "delivered_approval_pending",
    "partial_delivered",
    "partial_delivered_approval_pending",
}
CENTS = Decimal("0.01")
DHAKA = ZoneInfo("Asia/Dhaka")
PHONE_RE = re.compile(r"^01\d{9}$")
INVOICE_RE = re.compile(r"^[A-Za-z0-9_-]+$")
ECHOED = ("invoice", "recipient_name", "recipient_address", "recipient_phone", "cod_amount", "note")


def now_local() -> str:
    return datetime.now(DHAKA).strftime("%Y-%m-%d %H:%M:%S")


class SteadfastSimulator(LedgerMixin, ControlMixin):
    def __init__(self, *, webhook_url: str = "", webhook_token: str = WEBHOOK_TOKEN) -> None:
        self.url = ""  # set once serving
        self.webhook_url = webhook_url
        self.webhook_token = webhook_token
        self.parcels: dict[int, dict] = {}
        self.returns: dict[int, dict] = {}
        self.payments: dict[int, dict] = {}
        self.webhooks: list[dict] = []  # every webhook sent: payload, status answered
        self.requests: Counter[str] = Counter()
        self.lock = threading.RLock()
        self._ids = itertools.count(1424107)
        self._return_ids = itertools.count(1)
        self._payment_ids = itertools.count(9001)
        self._fail: dict[str, list[int]] = {}  # route -> [status, times left]
        self._slow: dict[str, float] = {}
        self._create_hang = 0.0

    @staticmethod
    def now() -> str:
        return now_local()

    # --- hooks ------------------------------------------------------------------------

    def fail_next(self, route: str, status: int = 500, times: int = 1) -> None:
        self._fail[route] = [status, times]

    def slow_next(self, route: str, seconds: float) -> None:
        self._slow[route] = seconds

    def create_then_timeout(self, seconds: float) -> None:
        self._create_hang = seconds

    def reset(self) -> None:
        with self.lock:
            self.parcels.clear()
            self.returns.clear()
            self.payments.clear()
            self.webhooks.clear()
            self.requests.clear()
            self._fail.clear()
            self._slow.clear()
            self._create_hang = 0.0

    def hits(self, route: str) -> int:
        return self.requests[route]

    # --- WSGI -------------------------------------------------------------------------

    def __call__(self, environ: dict, start_response):
        path = environ.get("PATH_INFO", "") or "/"
        method = environ.get("REQUEST_METHOD", "GET")
        if path.startswith("/__sim/"):
            return self.control(environ, start_response, path[len("/__sim/") :], method)
        if not path.startswith(PREFIX):
            return pages.serve(self, environ, start_response, path, method)
        route = path[len(PREFIX) :].strip("/")
        head = route.split("/", 1)[0]
        self.requests[head] += 1
        if environ.get("HTTP_API_KEY") != API_KEY or environ.get("HTTP_SECRET_KEY") != SECRET_KEY:
            return json_response(start_response, 401, {"status": 401, "message": "Unauthorized"})
        if head in self._slow:
            time.sleep(self._slow.pop(head))
        failing = self._fail.get(head)
        if failing:
            failing[1] -= 1
            if failing[1] <= 0:
                self._fail.pop(head, None)
            return json_response(start_response, failing[0], {"message": "Server Error"})
        body = read_json(environ)
        if body is None:
            return json_response(start_response, 400, {"status": 400, "message": "Bad JSON"})
        status, payload = self.api(method, route, body)
        if head == "create_order" and route == "create_order" and self._create_hang:
            hang, self._create_hang = self._create_hang, 0.0
            time.sleep(hang)  # created at Steadfast; the merchant stops listening meanwhile
        return json_response(start_response, status, payload)

    def api(self, method: str, route: str, body: dict) -> tuple[int, Any]:
        parts = route.split("/")
        if method == "POST" and route == "create_order":
            return self.create(body)
        if method == "POST" and route == "create_order/bulk-order":
            return self.bulk(body)
        if method == "GET" and len(parts) == 2 and parts[0].startswith("status_by_"):
            parcel = self.find(parts[0].removeprefix("status_by_"), parts[1])
            if parcel is None:
                return 404, {"status": 404, "message": "Consignment not found"}
            return 200, {"status": 200, "delivery_status": parcel["status"]}
        if method == "GET" and route == "get_balance":
            return 200, {"status": 200, "current_balance": money(self.balance())}
        if method == "POST" and route == "create_return_request":
            return self.return_create(body)
        if method == "GET" and route == "get_return_requests":
            return 200, {"status": 200, "data": list(self.returns.values())}
        if method == "GET" and len(parts) == 2 and parts[0] == "get_return_request":
            found = self.returns.get(int(parts[1])) if parts[1].isdigit() else None
            if found is None:
                return 404, {"status": 404, "message": "Return request not found"}
            return 200, found
        if method == "GET" and route == "payments":
            listed = [
                {k: v for k, v in p.items() if k != "consignments"} for p in self.payments.values()
            ]
            return 200, {"status": 200, "data": listed}
        if method == "GET" and len(parts) == 2 and parts[0] == "payments":
            payment = self.payments.get(int(parts[1])) if parts[1].isdigit() else None
            if payment is None:
                return 404, {"status": 404, "message": "Payment not found"}
            return 200, {"status": 200, "data": payment}
        return 404, {"status": 404, "message": "Not Found"}

    # --- orders -----------------------------------------------------------------------

    def problems(self, order: dict) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        invoice = str(order.get("invoice") or "")
        if not invoice or not INVOICE_RE.match(invoice):
            errors["invoice"] = ["The invoice field is required (letters, digits, - and _)."]
        elif any(p["invoice"] == invoice for p in self.parcels.values()):
            errors["invoice"] = ["The invoice has already been taken."]
        if not str(order.get("recipient_name") or "").strip():
            errors["recipient_name"] = ["The recipient name field is required."]
        if not PHONE_RE.match(str(order.get("recipient_phone") or "")):
            errors["recipient_phone"] = ["The recipient phone must be 11 digits."]
        if not str(order.get("recipient_address") or "").strip():
            errors["recipient_address"] = ["The recipient address field is required."]
        try:
            if Decimal(str(order.get("cod_amount"))) < 0:
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            errors["cod_amount"] = ["The cod amount must be a number, at least 0."]
        return errors

    def make_parcel(self, order: dict) -> dict:
        consignment_id = next(self._ids)
        stamp = now_local()
        parcel = {
            "consignment_id": consignment_id,
            "invoice": str(order["invoice"]),
            "tracking_code": secrets.token_hex(4).upper(),
            "recipient_name": order["recipient_name"],
            "recipient_phone": order["recipient_phone"],
            "recipient_address": order["recipient_address"],
            "cod_amount": money(Decimal(str(order["cod_amount"]))),
            "status": "in_review",
            "note": order.get("note"),
            "created_at": stamp,
            "updated_at": stamp,
            "collected": None,  # what the rider collected (delivered / partial)
            "delivery_charge": 80.0 if "dhaka" in order["recipient_address"].lower() else 130.0,
            "paid_in": None,  # the payout that paid it
        }
        self.parcels[consignment_id] = parcel
        return parcel

    @staticmethod
    def public(parcel: dict) -> dict:
        keys = ("consignment_id", "invoice", "tracking_code", "recipient_name", "recipient_phone")
        keys += ("recipient_address", "cod_amount", "status", "note", "created_at", "updated_at")
        return {key: parcel[key] for key in keys}

    def create(self, body: dict) -> tuple[int, dict]:
        with self.lock:
            errors = self.problems(body)
            if errors:
                first = next(iter(errors.values()))[0]
                return 422, {"status": 422, "message": first, "errors": errors}
            parcel = self.make_parcel(body)
        return 200, {
            "status": 200,
            "message": "Consignment has been created successfully.",
            "consignment": self.public(parcel),
        }

    def bulk(self, body: dict) -> tuple[int, Any]:
        try:
            orders = json.loads(body.get("data") or "")
        except (TypeError, ValueError):
            return 422, {"status": 422, "message": "The data must be a JSON encoded array."}
        if not isinstance(orders, list) or not 0 < len(orders) <= 500:
            return 422, {"status": 422, "message": "The data must hold 1 to 500 orders."}
        results = []
        with self.lock:
            for order in orders:
                order = order if isinstance(order, dict) else {}
                echo = {key: order.get(key) for key in ECHOED}
                if self.problems(order):
                    results.append(
                        {**echo, "consignment_id": None, "tracking_code": None, "status": "error"}
                    )
                    continue
                parcel = self.make_parcel(order)
                results.append(
                    {
                        **echo,
                        "consignment_id": parcel["consignment_id"],
                        "tracking_code": parcel["tracking_code"],
                        "status": "success",
                    }
                )
        return 200, results

    def find(self, by: str, key: str) -> dict | None:
        if by == "cid":
            return self.parcels.get(int(key)) if key.isdigit() else None
        field = {"invoice": "invoice", "trackingcode": "tracking_code"}.get(by)
        if field is None:
            return None
        return next((p for p in self.parcels.values() if p[field] == key), None)

    # --- moves and webhooks ---------------------------------------------------------------

    def advance(
        self,
        consignment_id: int,
        status: str,
        *,
        collected: Decimal | None = None,
        message: str = "",
        spelling: str = "doc",
    ) -> dict:
        """Move a parcel to a Steadfast status and send the delivery_status webhook."""
        if status not in STATUSES:
            raise ValueError(f"unknown Steadfast status {status!r}")
        with self.lock:
            parcel = self.parcels[consignment_id]
            parcel["status"] = status
            parcel["updated_at"] = now_local()
            if status in COLLECTED:
                full = Decimal(str(parcel["cod_amount"]))
                half = (full / 2).quantize(CENTS)
                default = full if status.startswith("delivered") else half
                parcel["collected"] = money(collected if collected is not None else default)
            elif status in ("cancelled", "cancelled_approval_pending"):
                parcel["collected"] = 0.0
        shown = {
            "doc": status.capitalize() if status == "delivered" else status,
            "lower": status,
            "title": status.replace("_", " ").title(),
        }[spelling]
        payload = {
            "notification_type": "delivery_status",
            "consignment_id": parcel["consignment_id"],
            "invoice": parcel["invoice"],
            "cod_amount": parcel["collected"] if parcel["collected"] is not None else 0.0,
            "status": shown,
            "delivery_charge": parcel["delivery_charge"],
            "tracking_message": message or f"Consignment status: {status}",
            "updated_at": parcel["updated_at"],
        }
        return self.send_webhook(payload)

    def tracking_message(self, consignment_id: int, message: str) -> dict:
        with self.lock:
            parcel = self.parcels[consignment_id]
            parcel["updated_at"] = now_local()
        payload = {
            "notification_type": "tracking_update",
            "consignment_id": parcel["consignment_id"],
            "invoice": parcel["invoice"],
            "tracking_message": message,
            "updated_at": parcel["updated_at"],
        }
        return self.send_webhook(payload)

    def send_webhook(self, payload: dict, *, token: str | None = None) -> dict:
        """POST the webhook as Steadfast does; what our server answered is recorded."""
        sent: dict[str, Any] = {"payload": payload, "status": None, "answer": None}
        if self.webhook_url:
            headers = {"Authorization": f"Bearer {token or self.webhook_token}"}
            try:
                reply = httpx.post(self.webhook_url, json=payload, headers=headers, timeout=10)
                sent["status"] = reply.status_code
                sent["answer"] = reply.text[:2000]
            except httpx.HTTPError as exc:
                sent["answer"] = f"{type(exc).__name__}: {exc}"
        with self.lock:
            self.webhooks.append(sent)
        return sent


class SteadfastSimulatorServer(SimulatorServer[SteadfastSimulator]):
    @property
    def base_url(self) -> str:
        return f"{self.url}/api/v1"

    def env(self) -> dict[str, str]:
        return env(self.url, webhook_token=self.sim.webhook_token)


def start_steadfast_simulator(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    webhook_url: str = "",
    webhook_token: str = WEBHOOK_TOKEN,
) -> SteadfastSimulatorServer:
    """Serve a fresh simulator on a daemon thread; `.base_url` is the STEADFAST_BASE_URL and
    its moves POST to `webhook_url` (settable later: `.sim.webhook_url` or /__sim/webhook)."""
    sim = SteadfastSimulator(webhook_url=webhook_url, webhook_token=webhook_token)
    return SteadfastSimulatorServer(sim, host, port, name="steadfast-simulator")


def env(url: str, *, webhook_token: str = WEBHOOK_TOKEN) -> dict[str, str]:
    """The STEADFAST_* variables that point the API at a simulator served at `url`."""
    return {
        "STEADFAST_BASE_URL": f"{url.rstrip('/')}/api/v1",
        "STEADFAST_API_KEY": API_KEY,
        "STEADFAST_SECRET_KEY": SECRET_KEY,
        "STEADFAST_WEBHOOK_TOKEN": webhook_token,
        "STEADFAST_TRACKING_URL": f"{url.rstrip('/')}/t/{{code}}",
    }


def main() -> None:
    parser = command_line(__doc__, port=8796)
    parser.add_argument("--webhook", default="http://127.0.0.1:8000/api/webhooks/steadfast")
    args = parser.parse_args()
    running = start_steadfast_simulator(args.host, args.port, webhook_url=args.webhook)
    heading = f"Steadfast simulator on {running.url} (webhooks to {args.webhook})"
    serve_until_interrupted(running, heading, *assignments(running.env()))


if __name__ == "__main__":
    main()
