"""A local Upay merchant gateway: the same paths, fields and codes, in memory.

- `POST /payment/merchant-auth/ {merchant_id, merchant_key}` -> `MAS2001` + `data.token`
- `POST /payment/merchant-payment-init/` (`Authorization: UPAY <token>`) -> `MPIS2002` +
  `data.gateway_url` (= `/pay/<txn_id>` here); a reused `txn_id` -> `DTP4003`
- `GET /payment/single-payment-status/<txn_id>/` -> `PS2005` + `data.status/amount/trx_id`
- `POST /payment/bulk/refund/ [{txn_id, refund_amount}]` -> `MPR_200` with
  `data.success_list` and `data.failed_list` (each `[{txn_id, refund_amount, ...}]`); the
  status answer carries `refunded_amount`, the total refunded so far.
- `GET /pay/<txn_id>`: a page with Pay / Fail / Cancel; the choice redirects the browser to the
  merchant's `redirect_url?invoice_id=...&status=successful|failed|cancelled`.

Test hooks on the `UpaySimulator` (`server.sim`): `fail_next(kind, ...)`, `hang(kind, seconds)`,
`tamper_amount(txn_id, amount)`, `refuse_next_refund(reason)` (the next refund lands in
`failed_list`), `slow(kind, seconds)` (the request is carried out at once but answered late: a
merchant timeout on a refund that did happen); `counts[kind]` counts the requests (kinds: auth,
init, status, refund, page). The same hooks over HTTP: `POST /__sim__/hooks {"fail": kind} |
{"hang": kind, "seconds": n} | {"slow": kind, "seconds": n} | {"refuse": "refund", "reason":
"..."} | {"tamper": txn_id, "amount": "1.00"} | {"reset": true}`.
Run it alone: `python -m devtools.payment_sims.upay [--port 8793]` (or the port alone; 8793 =
UPAY_BASE_URL's default).
"""

from __future__ import annotations

import html
import json
import secrets
import threading
import time
from collections import Counter
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from devtools.sim_runner import SimulatorServer, command_line, serve_until_interrupted
from devtools.wsgi_server import Environ, StartResponse, json_response, status_line

MERCHANT_ID = "UPAY-SIM-MERCHANT"
MERCHANT_KEY = "upay-sim-merchant-key"
RETURN_STATUS = {"pay": "successful", "fail": "failed", "cancel": "cancelled"}


class UpaySimulator:
    def __init__(
        self,
        *,
        merchant_id: str = MERCHANT_ID,
        merchant_key: str = MERCHANT_KEY,
        token_ttl: int = 3600,
    ) -> None:
        self.merchant_id = merchant_id
        self.merchant_key = merchant_key
        self.token_ttl = token_ttl
        self.url = ""  # set when served (the pay page's absolute address)
        self.payments: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, float] = {}
        self.counts: Counter[str] = Counter()
        self._failures: dict[str, list[tuple[int, dict]]] = {}
        self._hangs: dict[str, float] = {}
        self._slow: dict[str, float] = {}
        self._refusals: list[str] = []
        self._tampered: dict[str, str] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    # --- hooks ---------------------------------------------------------------------------

    def fail_next(
        self, kind: str, *, status: int = 500, body: dict | None = None, times: int = 1
    ) -> None:
        reply = body or {"code": "ISE500", "message": "Simulated Upay error"}
        with self._lock:
            self._failures.setdefault(kind, []).extend([(status, reply)] * times)

    def hang(self, kind: str, seconds: float = 30.0) -> None:
        with self._lock:
            self._hangs[kind] = seconds

    def slow(self, kind: str, seconds: float) -> None:
        with self._lock:
            self._slow[kind] = seconds

    def refuse_next_refund(self, reason: str = "Refund not allowed for this transaction") -> None:
        with self._lock:
            self._refusals.append(reason)

    def tamper_amount(self, txn_id: str, amount: str | Decimal) -> None:
        with self._lock:
            self._tampered[txn_id] = str(amount)

    def expire_tokens(self) -> None:
        with self._lock:
            self.tokens.clear()

    def reset_hooks(self) -> None:
        with self._lock:
            self._failures.clear()
            self._hangs.clear()
            self._slow.clear()
            self._refusals.clear()
            self._tampered.clear()

    def set_status(self, txn_id: str, choice: str) -> str:
        """What the pay page does: `choice` pay|fail|cancel; returns the browser's next URL."""
        with self._lock:
            payment = self.payments[txn_id]
            if payment["status"] == "pending":
                payment["status"] = RETURN_STATUS[choice]
            status = payment["status"]
            params = {"invoice_id": payment["invoice_id"], "status": status}
            return add_query(payment["redirect_url"], params)

    # --- WSGI ----------------------------------------------------------------------------

    def __call__(self, environ: Environ, start_response: StartResponse):
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        if path == "/__sim__/hooks" and method == "POST":
            return self._hooks(environ, start_response)
        if path.startswith("/pay/"):
            return self._pay_page(environ, start_response, method, path.removeprefix("/pay/"))
        routes = {
            ("POST", "/payment/merchant-auth/"): ("auth", self._auth),
            ("POST", "/payment/merchant-payment-init/"): ("init", self._init),
            ("POST", "/payment/bulk/refund/"): ("refund", self._refund),
        }
        if method == "GET" and path.startswith("/payment/single-payment-status/"):
            kind, handler = "status", self._status
        elif (method, path) in routes:
            kind, handler = routes[(method, path)]
        else:
            return json_response(start_response, 404, {"code": "404", "message": "Not found"})
        self.counts[kind] += 1
        with self._lock:
            pending = self._failures.get(kind)
            failure = pending.pop(0) if pending else None
            hang = self._hangs.get(kind, 0.0)
        if hang:
            self._stopping.wait(hang)
        if failure:
            return json_response(start_response, *failure)
        if kind != "auth" and not self._authorized(environ):
            return json_response(
                start_response, 401, {"code": "UNAUTHORIZED", "message": "Invalid or expired token"}
            )
        try:
            body = json.loads(read_body(environ) or b"null")
        except ValueError:
            return json_response(start_response, 400, {"code": "BAD_JSON", "message": "Bad JSON"})
        status, reply = handler(body, path)
        with self._lock:
            late = self._slow.get(kind, 0.0)
        if late:
            self._stopping.wait(late)  # done at Upay; the merchant has stopped listening
        return json_response(start_response, status, reply)

    def _authorized(self, environ: Environ) -> bool:
        scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        with self._lock:
            expires = self.tokens.get(token)
        return scheme == "UPAY" and expires is not None and expires > time.time()

    def _auth(self, body: Any, path: str) -> tuple[int, dict]:
        if not isinstance(body, dict) or (body.get("merchant_id"), body.get("merchant_key")) != (
            self.merchant_id,
            self.merchant_key,
        ):
            return 401, {"code": "MAS4001", "message": "Invalid merchant credentials"}
        token = secrets.token_urlsafe(24)
        with self._lock:
            self.tokens[token] = time.time() + self.token_ttl
        return 200, {
            "code": "MAS2001",
            "lang": "en",
            "message": "Merchant authorization successful",
            "data": {"token": token},
        }

    def _init(self, body: Any, path: str) -> tuple[int, dict]:
        if not isinstance(body, dict):
            return 400, {"code": "MPIE4000", "message": "Invalid request"}
        missing = [
            f
            for f in ("merchant_id", "date", "txn_id", "amount", "redirect_url")
            if not body.get(f)
        ]
        if missing:
            return 400, {"code": "MPIE4001", "message": f"Missing fields: {', '.join(missing)}"}
        if body["merchant_id"] != self.merchant_id:
            return 400, {"code": "MPIE4002", "message": "Unknown merchant"}
        amount = decimal_or_none(body["amount"])
        if amount is None or amount <= 0:
            return 400, {"code": "MPIE4003", "message": "Invalid amount"}
        txn_id = str(body["txn_id"])
        with self._lock:
            if txn_id in self.payments:
                return 400, {"code": "DTP4003", "message": "Duplicate transaction id"}
            payment = {
                "txn_id": txn_id,
                "invoice_id": str(body.get("invoice_id") or txn_id),
                "session_id": secrets.token_hex(12),
                "trx_id": "UP" + secrets.token_hex(5).upper(),
                "amount": body["amount"],
                "redirect_url": str(body["redirect_url"]),
                "status": "pending",
                "date": body["date"],
                "refunded": Decimal("0"),
                "request": body,
            }
            self.payments[txn_id] = payment
        return 200, {
            "code": "MPIS2002",
            "lang": "en",
            "message": "Payment initiated successfully",
            "data": {
                "session_id": payment["session_id"],
                "txn_id": txn_id,
                "trx_id": payment["trx_id"],
                "invoice_id": payment["invoice_id"],
                "gateway_url": f"{self.url}/pay/{txn_id}",
            },
        }

    def _status(self, body: Any, path: str) -> tuple[int, dict]:
        txn_id = path.removeprefix("/payment/single-payment-status/").strip("/")
        with self._lock:
            payment = self.payments.get(txn_id)
            if payment is None:
                return 404, {"code": "PS4004", "message": "Transaction not found"}
            amount = self._tampered.get(txn_id, payment["amount"])
            data = {
                "txn_id": txn_id,
                "invoice_id": payment["invoice_id"],
                "trx_id": payment["trx_id"] if payment["status"] == "successful" else "",
                "amount": amount,
                "status": payment["status"],
                "date": payment["date"],
                "refunded_amount": f"{payment['refunded']:.2f}",
            }
        return 200, {"code": "PS2005", "lang": "en", "message": "Payment status", "data": data}

    def _refund(self, body: Any, path: str) -> tuple[int, dict]:
        if not isinstance(body, list) or not body:
            return 400, {"code": "MPR_400", "message": "Expected a list of refunds"}
        succeeded, failed = [], []
        with self._lock:
            for item in body:
                outcome = self._refund_one(item if isinstance(item, dict) else {})
                (failed if "reason" in outcome else succeeded).append(outcome)
        return 200, {
            "code": "MPR_200",
            "lang": "en",
            "message": "Refund request processed",
            "data": {"success_list": succeeded, "failed_list": failed},
        }

    def _refund_one(self, item: dict) -> dict:
        """One refund of a bulk request (the caller holds the lock)."""
        txn_id = str(item.get("txn_id", ""))
        amount = decimal_or_none(item.get("refund_amount")) if txn_id else None
        payment = self.payments.get(txn_id)
        result = {"txn_id": txn_id, "refund_amount": item.get("refund_amount")}
        if self._refusals:
            return result | {"reason": self._refusals.pop(0)}
        if payment is None or payment["status"] != "successful":
            return result | {"reason": "Transaction not refundable"}
        if (
            amount is None
            or amount <= 0
            or payment["refunded"] + amount > Decimal(str(payment["amount"]))
        ):
            return result | {"reason": "Refund amount exceeds the paid amount"}
        payment["refunded"] += amount
        return result | {"refund_trx_id": "UPR" + secrets.token_hex(5).upper()}

    def _pay_page(self, environ: Environ, start_response: StartResponse, method: str, txn_id: str):
        txn_id = txn_id.strip("/")
        self.counts["page"] += 1
        with self._lock:
            payment = self.payments.get(txn_id)
        if payment is None:
            return text_response(start_response, 404, "Unknown payment")
        if method == "POST":
            choice = parse_qs(read_body(environ).decode()).get("action", [""])[0]
            if choice not in RETURN_STATUS:
                return text_response(start_response, 400, "Choose pay, fail or cancel")
            location = self.set_status(txn_id, choice)
            start_response(status_line(302), [("Location", location), ("Content-Length", "0")])
            return [b""]
        buttons = "".join(
            f'<button name="action" value="{value}">{label}</button> '
            for value, label in (("pay", "Pay"), ("fail", "Fail"), ("cancel", "Cancel"))
        )
        page = (
            "<!doctype html><meta charset=utf-8><title>Upay (simulator)</title>"
            f"<h1>Upay</h1><p>Pay BDT {html.escape(str(payment['amount']))} to "
            f"{html.escape(self.merchant_id)} (invoice {html.escape(payment['invoice_id'])})</p>"
            f'<form method="post" action="/pay/{html.escape(txn_id)}">{buttons}</form>'
        )
        data = page.encode()
        start_response(
            status_line(200),
            [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(data)))],
        )
        return [data]

    def _hooks(self, environ: Environ, start_response: StartResponse):
        try:
            body = json.loads(read_body(environ) or b"{}")
        except ValueError:
            body = {}
        if body.get("reset"):
            self.reset_hooks()
        if body.get("fail"):
            self.fail_next(body["fail"], status=int(body.get("status", 500)))
        if body.get("hang"):
            self.hang(body["hang"], float(body.get("seconds", 30)))
        if body.get("slow"):
            self.slow(body["slow"], float(body.get("seconds", 30)))
        if body.get("refuse") == "refund":
            self.refuse_next_refund(str(body.get("reason") or "Refund not allowed"))
        if body.get("tamper"):
            self.tamper_amount(body["tamper"], body.get("amount", "1.00"))
        return json_response(start_response, 200, {"ok": True})


def read_body(environ: Environ) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return environ["wsgi.input"].read(length) if length > 0 else b""


def decimal_or_none(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def add_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = "&".join(filter(None, [parts.query, urlencode(params)]))
    return urlunsplit(parts._replace(query=query))


def text_response(start_response: StartResponse, status: int, text: str) -> list[bytes]:
    data = text.encode()
    start_response(
        status_line(status),
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(data)))],
    )
    return [data]


class UpaySimulatorServer(SimulatorServer[UpaySimulator]):
    def stop(self) -> None:
        self.sim._stopping.set()  # wake hung requests
        super().stop()


def start_upay_simulator(
    host: str = "127.0.0.1", port: int = 0, **options: Any
) -> UpaySimulatorServer:
    return UpaySimulatorServer(UpaySimulator(**options), host, port, name="upay-simulator")


def main() -> None:  # pragma: no cover - manual use
    parser = command_line(__doc__, port=8793)
    parser.add_argument("port_argument", nargs="?", type=int, metavar="port", help="as --port")
    args = parser.parse_args()
    port = args.port if args.port_argument is None else args.port_argument
    running = start_upay_simulator(args.host, port)
    serve_until_interrupted(running, f"Upay simulator on {running.url}")


if __name__ == "__main__":  # pragma: no cover
    main()
