"""A local stand-in for bKash tokenized checkout (v1.2.0-beta), in memory.

Routes (an optional `/v1.2.0-beta` prefix is accepted), all `POST` with JSON:

* `/tokenized/checkout/token/grant` (headers `username`, `password`; body `app_key`,
  `app_secret`) and `/token/refresh` (+ `refresh_token`) → `id_token`, `refresh_token`,
  `expires_in`, `token_type`. Bad credentials: HTTP 403 `{"message": "Forbidden"}`.
* every other route needs `Authorization: <id_token>` (401 otherwise) and `X-APP-Key` (403):
  `create`, `execute`, `payment/status`, `general/searchTransaction`, `payment/refund`, with
  bKash's `statusCode`/`statusMessage` shapes ("0000" = success; 2062 on a second execute,
  2056 when the payer has not approved, 2029 on a reused invoice number).
* `GET /pay/{paymentID}`: a pay page with Pay / Fail / Cancel buttons; they redirect the browser
  to `callbackURL?paymentID=...&status=success|failure|cancel&signature=...&apiVersion=...`.
* `GET /__sim/payments/{paymentID}`: what the simulator saw of one payment, for tests in any
  process: `executeCalls` (every `execute` request naming it, refused ones included),
  `executions` (the one that completed it), `statusQueries`, `transactionStatus`.

`payment/refund` without an `amount` is bKash's refund status query: the latest refund of the
payment (`refundTrxID`, `amount`, `transactionStatus`), or an error when there is none.

Test hooks on the object `start_bkash_simulator()` returns: `hang_next_execute(seconds)` (the
execute completes at once but answers late: a merchant timeout), `slow_next_refund(seconds)`
(the same for a refund: done at bKash, answered after the merchant gave up), `fail_next(route, code,
message)` (the next call to that route answers that statusCode), `tamper_next_amount(amount)`
(the next created payment is recorded with another amount), `slow_executes(seconds)` (every
execute answers that much later: a wide window for concurrent callers), `approve(paymentID)`
(what the payer's Pay button does), `hits(route)`, `expires_in` (seconds a granted token lives).

Run it standalone: `python -m devtools.payment_sims.bkash [--port 8793]`.
"""

from __future__ import annotations

import html
import itertools
import json
import secrets
import threading
import time
from collections import Counter
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlencode

from devtools.sim_runner import (
    SimulatorServer,
    assignments,
    command_line,
    serve_until_interrupted,
)
from devtools.wsgi_server import json_response, status_line

PREFIX = "/tokenized/checkout/"
VERSION = "v1.2.0-beta"
APP_KEY = "sim-bkash-app-key"
APP_SECRET = "sim-bkash-app-secret"  # noqa: S105
USERNAME = "sim-bkash-user"
PASSWORD = "sim-bkash-password"  # noqa: S105


def ok(**fields: Any) -> dict:
    return {"statusCode": "0000", "statusMessage": "Successful", **fields}


def err(code: str, message: str) -> dict:
    return {"statusCode": code, "statusMessage": message}


class BkashSimulator:
    def __init__(
        self,
        *,
        app_key: str = APP_KEY,
        app_secret: str = APP_SECRET,
        username: str = USERNAME,
        password: str = PASSWORD,
    ) -> None:
        self.app_key, self.app_secret = app_key, app_secret
        self.username, self.password = username, password
        self.url = ""  # set once serving
        self.expires_in = 3600
        self.tokens: dict[str, float] = {}  # id_token -> expires at
        self.refresh_tokens: set[str] = set()
        self.payments: dict[str, dict] = {}
        self.invoices: set[str] = set()
        self.requests: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._hang: float = 0.0
        self._slow_refund: float = 0.0
        self._fail: dict[str, tuple[str, str]] = {}
        self._tamper: str | None = None
        self._execute_delay: float = 0.0

    # --- hooks ------------------------------------------------------------------------

    def hang_next_execute(self, seconds: float) -> None:
        self._hang = seconds

    def slow_next_refund(self, seconds: float) -> None:
        self._slow_refund = seconds

    def fail_next(self, route: str, code: str = "2001", message: str = "Simulated error") -> None:
        self._fail[route] = (code, message)

    def slow_executes(self, seconds: float) -> None:
        self._execute_delay = seconds

    def tamper_next_amount(self, amount: str) -> None:
        self._tamper = amount

    def hits(self, route: str) -> int:
        return self.requests[route]

    def approve(self, payment_id: str) -> None:
        with self._lock:
            self.payments[payment_id]["approved"] = True

    def reset(self) -> None:
        with self._lock:
            self.tokens.clear()
            self.refresh_tokens.clear()
            self.payments.clear()
            self.invoices.clear()
            self.requests.clear()
            self._fail.clear()
            self._hang, self._tamper, self.expires_in = 0.0, None, 3600
            self._slow_refund = 0.0
            self._execute_delay = 0.0

    # --- WSGI -------------------------------------------------------------------------

    def __call__(self, environ: dict, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith(f"/{VERSION}/"):
            path = path[len(VERSION) + 1 :]
        method = environ.get("REQUEST_METHOD", "GET")
        if path.startswith("/pay/"):
            return self.pay_page(environ, start_response, path[5:], method)
        if path.startswith("/__sim/payments/") and method == "GET":
            return self.payment_report(start_response, path.removeprefix("/__sim/payments/"))
        if not path.startswith(PREFIX) or method != "POST":
            return json_response(start_response, 404, {"message": "Not Found"})
        route = path[len(PREFIX) :]
        self.requests[route] += 1
        try:
            size = int(environ.get("CONTENT_LENGTH") or 0)
            body = json.loads(environ["wsgi.input"].read(size) or b"{}")
        except ValueError:
            return json_response(start_response, 400, {"message": "Bad Request"})
        headers = {
            key[5:].lower().replace("_", "-"): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if route in ("token/grant", "token/refresh"):
            status, payload = self.token(route, body, headers)
        else:
            if headers.get("x-app-key") != self.app_key:
                return json_response(start_response, 403, {"message": "Forbidden"})
            token = headers.get("authorization", "")
            if self.tokens.get(token, 0) < time.time():
                return json_response(start_response, 401, {"message": "Unauthorized"})
            handler = {
                "create": self.create,
                "execute": self.execute,
                "payment/status": self.status,
                "general/searchTransaction": self.search,
                "payment/refund": self.refund,
            }.get(route)
            if handler is None:
                return json_response(start_response, 404, {"message": "Not Found"})
            if route == "execute":
                self.execute_counted(body)
            if route in self._fail:
                code, message = self._fail.pop(route)
                status, payload = 200, err(code, message)
            else:
                status, payload = 200, handler(body)
        return json_response(start_response, status, payload)

    def token(self, route: str, body: dict, headers: dict) -> tuple[int, dict]:
        if (
            headers.get("username") != self.username
            or headers.get("password") != self.password
            or body.get("app_key") != self.app_key
            or body.get("app_secret") != self.app_secret
        ):
            return 403, {"message": "Forbidden"}
        if route == "token/refresh" and body.get("refresh_token") not in self.refresh_tokens:
            return 200, err("2079", "Invalid refresh token")
        token, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        with self._lock:
            self.tokens[token] = time.time() + self.expires_in
            self.refresh_tokens.add(refresh)
        return 200, ok(
            id_token=token,
            refresh_token=refresh,
            expires_in=self.expires_in,
            token_type="Bearer",  # noqa: S106
        )

    def create(self, body: dict) -> dict:
        required = ("mode", "payerReference", "callbackURL", "amount", "currency", "intent")
        if any(not body.get(field) for field in (*required, "merchantInvoiceNumber")):
            return err("2065", "Mandatory field missing")
        if body["mode"] != "0011" or body["currency"] != "BDT" or body["intent"] != "sale":
            return err("2008", "Invalid mode/currency/intent")
        try:
            amount = Decimal(body["amount"])
        except (ArithmeticError, ValueError):
            return err("2007", "Invalid amount")
        if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
            return err("2007", "Invalid amount")
        with self._lock:
            if body["merchantInvoiceNumber"] in self.invoices:
                return err("2029", "Duplicate for all transactions")
            self.invoices.add(body["merchantInvoiceNumber"])
            payment_id = f"TR0011{next(self._ids):06d}{secrets.token_hex(4)}"
            recorded = self._tamper or body["amount"]
            self._tamper = None
            self.payments[payment_id] = {
                "paymentID": payment_id,
                "amount": recorded,
                "currency": "BDT",
                "intent": "sale",
                "merchantInvoiceNumber": body["merchantInvoiceNumber"],
                "payerReference": body["payerReference"],
                "callbackURL": body["callbackURL"],
                "transactionStatus": "Initiated",
                "approved": False,
                "trxID": "",
                "executions": 0,
                "executeCalls": 0,
                "statusQueries": 0,
                "refunds": [],
                "createTime": time.strftime("%Y-%m-%dT%H:%M:%S:000 GMT+0600"),
            }
        return ok(
            paymentID=payment_id,
            bkashURL=f"{self.url}/pay/{payment_id}",
            callbackURL=body["callbackURL"],
            successCallbackURL=f"{body['callbackURL']}?status=success",
            failureCallbackURL=f"{body['callbackURL']}?status=failure",
            cancelledCallbackURL=f"{body['callbackURL']}?status=cancel",
            amount=recorded,
            intent="sale",
            currency="BDT",
            paymentCreateTime=self.payments[payment_id]["createTime"],
            transactionStatus="Initiated",
            merchantInvoiceNumber=body["merchantInvoiceNumber"],
        )

    def payment_report(self, start_response, payment_id: str):
        payment = self.payments.get(payment_id)
        if payment is None:
            return json_response(start_response, 404, {"message": "Not Found"})
        with self._lock:
            report = {
                "paymentID": payment_id,
                "transactionStatus": payment["transactionStatus"],
                "executeCalls": payment["executeCalls"],
                "executions": payment["executions"],
                "statusQueries": payment["statusQueries"],
            }
        return json_response(start_response, 200, report)

    def execute_counted(self, body: dict) -> None:
        """Count an authorised execute request against the payment it names."""
        with self._lock:
            payment = self.payments.get(str(body.get("paymentID", "")))
            if payment is not None:
                payment["executeCalls"] += 1
        if self._execute_delay:
            time.sleep(self._execute_delay)

    def execute(self, body: dict) -> dict:
        with self._lock:
            payment = self.payments.get(body.get("paymentID", ""))
            if payment is None:
                return err("2056", "Invalid Payment State")
            if payment["transactionStatus"] == "Completed":
                return err("2062", "The payment has already been completed")
            if payment["transactionStatus"] != "Initiated" or not payment["approved"]:
                return err("2056", "Invalid Payment State")
            payment["executions"] += 1
            payment["transactionStatus"] = "Completed"
            payment["trxID"] = f"SIM{secrets.token_hex(5).upper()}"
            hang, self._hang = self._hang, 0.0
        if hang:
            time.sleep(hang)  # completed at bKash; the merchant just never hears it
        return ok(**self.describe(payment), customerMsisdn="01770618575")

    def describe(self, payment: dict) -> dict:
        return {
            key: payment[key]
            for key in (
                "paymentID",
                "trxID",
                "transactionStatus",
                "amount",
                "currency",
                "intent",
                "merchantInvoiceNumber",
                "payerReference",
            )
        } | {"paymentExecuteTime": payment["createTime"]}

    def status(self, body: dict) -> dict:
        payment = self.payments.get(body.get("paymentID", ""))
        if payment is None:
            return err("2056", "Invalid Payment State")
        with self._lock:
            payment["statusQueries"] += 1
        return ok(**self.describe(payment), verificationStatus="Complete")

    def search(self, body: dict) -> dict:
        for payment in self.payments.values():
            if payment["trxID"] and payment["trxID"] == body.get("trxID"):
                return ok(
                    trxID=payment["trxID"],
                    transactionStatus=payment["transactionStatus"],
                    amount=payment["amount"],
                    currency="BDT",
                    transactionType="bKash Tokenized Checkout via API",
                    customerMsisdn="01770618575",
                )
        return err("2117", "Transaction not found")

    def refund(self, body: dict) -> dict:
        if "amount" not in body:
            return self.refund_status(body)
        with self._lock:
            payment = self.payments.get(body.get("paymentID", ""))
            if payment is None or payment["transactionStatus"] != "Completed":
                return err("2056", "Invalid Payment State")
            if body.get("trxID") != payment["trxID"] or not body.get("sku"):
                return err("2065", "Mandatory field missing")
            try:
                amount = Decimal(body.get("amount", ""))
            except ArithmeticError:
                return err("2007", "Invalid amount")
            refunded = sum((Decimal(r["amount"]) for r in payment["refunds"]), Decimal(0))
            if amount <= 0 or refunded + amount > Decimal(payment["amount"]):
                return err("2071", "Refund amount exceeds the transaction amount")
            refund = {
                "refundTrxID": f"SIMR{secrets.token_hex(5).upper()}",
                "amount": body["amount"],
                "completedTime": time.strftime("%Y-%m-%dT%H:%M:%S:000 GMT+0600"),
            }
            payment["refunds"].append(refund)
            late, self._slow_refund = self._slow_refund, 0.0
        if late:
            time.sleep(late)  # refunded at bKash; the merchant has stopped listening
        return self.refund_answer(payment, refund)

    def refund_status(self, body: dict) -> dict:
        payment = self.payments.get(body.get("paymentID", ""))
        if payment is None or body.get("trxID") != payment["trxID"]:
            return err("2056", "Invalid Payment State")
        if not payment["refunds"]:
            return err("2080", "No refund found for this transaction")  # code: ours
        return self.refund_answer(payment, payment["refunds"][-1])

    @staticmethod
    def refund_answer(payment: dict, refund: dict) -> dict:
        return {
            "completedTime": refund["completedTime"],
            "transactionStatus": "Completed",
            "originalTrxID": payment["trxID"],
            "refundTrxID": refund["refundTrxID"],
            "amount": refund["amount"],
            "currency": "BDT",
            "charge": "0.00",
        }

    def pay_page(self, environ: dict, start_response, payment_id: str, method: str):
        payment = self.payments.get(payment_id)
        if payment is None:
            start_response(status_line(404), [("Content-Type", "text/plain")])
            return [b"unknown payment"]
        if method == "POST":
            size = int(environ.get("CONTENT_LENGTH") or 0)
            form = parse_qs(environ["wsgi.input"].read(size).decode())
            action = (form.get("action") or [""])[0]
            result = {"pay": "success", "fail": "failure", "cancel": "cancel"}.get(action)
            if result is None:
                start_response(status_line(400), [("Content-Type", "text/plain")])
                return [b"unknown action"]
            with self._lock:
                if payment["transactionStatus"] == "Initiated":
                    if result == "success":
                        payment["approved"] = True
                    else:
                        payment["transactionStatus"] = "Failed" if action == "fail" else "Cancelled"
            query = urlencode(
                {
                    "paymentID": payment_id,
                    "status": result,
                    "signature": secrets.token_hex(8),
                    "apiVersion": "1.2.0-beta",
                }
            )
            joiner = "&" if "?" in payment["callbackURL"] else "?"
            start_response(
                status_line(302), [("Location", payment["callbackURL"] + joiner + query)]
            )
            return [b""]
        page = f"""<!doctype html><html><head><meta charset="utf-8"><title>bKash (simulator)</title>
</head><body style="font-family:sans-serif;max-width:24rem;margin:3rem auto">
<h1 style="color:#e2136e">bKash</h1>
<p>Merchant invoice {html.escape(payment["merchantInvoiceNumber"])}</p>
<p>Amount <strong>৳{html.escape(payment["amount"])}</strong></p>
<form method="post"><button name="action" value="pay">Pay</button>
<button name="action" value="fail">Fail</button>
<button name="action" value="cancel">Cancel</button></form></body></html>"""
        data = page.encode()
        start_response(
            status_line(200),
            [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(data)))],
        )
        return [data]


class BkashSimulatorServer(SimulatorServer[BkashSimulator]):
    """A running simulator: `.url` (BKASH_BASE_URL), `.sim`, its hooks read off the handle."""


def start_bkash_simulator(host: str = "127.0.0.1", port: int = 0) -> BkashSimulatorServer:
    """Serve a fresh simulator on a daemon thread; `.url` is the BKASH_BASE_URL to use."""
    return BkashSimulatorServer(BkashSimulator(), host, port, name="bkash-simulator")


def env(url: str) -> dict[str, str]:
    """The BKASH_* variables that point the API at a simulator at `url`."""
    return {
        "BKASH_BASE_URL": url,
        "BKASH_APP_KEY": APP_KEY,
        "BKASH_APP_SECRET": APP_SECRET,
        "BKASH_USERNAME": USERNAME,
        "BKASH_PASSWORD": PASSWORD,
    }


def main() -> None:
    args = command_line(__doc__, port=8793).parse_args()
    running = start_bkash_simulator(args.host, args.port)
    serve_until_interrupted(
        running, f"bKash simulator on {running.url}", *assignments(env(running.url))
    )


if __name__ == "__main__":
    main()
