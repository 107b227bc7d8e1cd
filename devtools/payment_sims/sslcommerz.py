"""A local SSLCommerz: session init, pay page, signed browser returns and IPN, validation,
transaction query and refunds, kept in memory.

Paths and fields as SSLCommerz's v4 API: `POST /gwprocess/v4/api.php`, the pay page
`/pay/<sessionkey>` (Pay / Fail / Cancel), `GET /validator/api/validationserverAPI.php`,
`GET /validator/api/merchantTransIDvalidationAPI.php` (query by tran_id, refund by bank_tran_id,
refund status by refund_ref_id). Pay answers the browser with an auto-submitting form POST to
the success URL and server-POSTs the IPN to the ipn URL; Fail and Cancel likewise.

Test hooks (`simulator.hooks`): `tamper_amount` (the amount "paid", a Decimal string),
`break_signature`, `hang_validation` (seconds the validation API waits), `fail_init`,
`deliver_ipn` (False: only record the IPN in `simulator.ipns`), `refunds_processing` (True: the
refund query answers `processing` instead of `refunded`, as while SSLCommerz's bank works on it).
"""

from __future__ import annotations

import contextlib
import html
import threading
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs

import httpx

from devtools.sim_runner import SimulatorServer
from devtools.wsgi_server import Environ, StartResponse, json_response, status_line
from lib.conf import SslcommerzConfig
from lib.payments.sslcommerz import sign

SIGNED_FIELDS = (
    "amount,bank_tran_id,base_fair,card_brand,card_issuer,card_no,card_type,currency,"
    "currency_amount,currency_type,status,store_amount,store_id,tran_date,tran_id,val_id,"
    "value_a,value_b,value_c,value_d"
)
REQUIRED = (
    "store_id",
    "store_passwd",
    "total_amount",
    "currency",
    "tran_id",
    "success_url",
    "fail_url",
    "cancel_url",
    "cus_name",
    "cus_email",
    "cus_phone",
    "cus_add1",
    "cus_city",
    "cus_country",
    "shipping_method",
    "product_name",
    "product_category",
    "product_profile",
)


@dataclass
class Hooks:
    tamper_amount: str | None = None
    break_signature: bool = False
    hang_validation: float = 0.0
    fail_init: bool = False
    deliver_ipn: bool = True
    refunds_processing: bool = False


@dataclass
class State:
    sessions: dict[str, dict[str, str]] = field(default_factory=dict)
    transactions: dict[str, dict[str, str]] = field(default_factory=dict)  # by val_id
    refunds: dict[str, dict[str, str]] = field(default_factory=dict)  # by refund_ref_id
    ipns: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class SslcommerzSim:
    """The WSGI app."""

    def __init__(self, *, store_id: str | None = None, store_password: str | None = None):
        defaults = SslcommerzConfig()
        self.store_id = store_id or defaults.store_id
        self.store_password = store_password or defaults.store_password
        self.hooks = Hooks()
        self.state = State()
        self.released = threading.Event()  # set on stop: ends a hanging validation
        self.url = ""

    # --- WSGI -----------------------------------------------------------------------------

    def __call__(self, environ: Environ, start_response: StartResponse):
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        form: dict[str, str] = {}
        if method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length).decode()
            form = {k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()}
        base = self.url or f"http://{environ.get('HTTP_HOST', 'localhost')}"
        if method == "POST" and path == "/gwprocess/v4/api.php":
            return json_response(start_response, 200, self.init(form, base))
        if method == "GET" and path == "/validator/api/validationserverAPI.php":
            if self.hooks.hang_validation:
                self.released.wait(self.hooks.hang_validation)
            return json_response(start_response, 200, self.validate(query))
        if method == "GET" and path == "/validator/api/merchantTransIDvalidationAPI.php":
            return json_response(start_response, 200, self.merchant_trans(query))
        parts = path.strip("/").split("/")
        if parts[0] == "pay" and len(parts) == 2 and method == "GET":
            return self.page(start_response, parts[1])
        if parts[0] == "pay" and len(parts) == 3 and method == "POST":
            return self.act(start_response, parts[1], parts[2])
        return json_response(start_response, 404, {"status": "FAILED", "failedreason": "Not found"})

    def authorised(self, data: dict[str, str]) -> bool:
        return (
            data.get("store_id") == self.store_id
            and data.get("store_passwd") == self.store_password
        )

    # --- API --------------------------------------------------------------------------------

    def init(self, form: dict[str, str], base: str) -> dict[str, Any]:
        def failed(reason: str) -> dict[str, Any]:
            return {"status": "FAILED", "failedreason": reason, "sessionkey": "", "gw": {}}

        if self.hooks.fail_init:
            return failed("Forced failure (test hook)")
        if not self.authorised(form):
            return failed("Store Credential Error Or Store is De-active")
        missing = [name for name in REQUIRED if not form.get(name)]
        if missing:
            return failed(f"Invalid data imputed to call the API: {', '.join(missing)}")
        try:
            amount = Decimal(form["total_amount"])
        except InvalidOperation:
            return failed("Invalid total_amount")
        if not Decimal("10.00") <= amount <= Decimal("500000.00") or len(form["tran_id"]) > 30:
            return failed("Invalid amount or tran_id")
        key = uuid.uuid4().hex.upper()
        with self.state.lock:
            self.state.sessions[key] = dict(form)
        return {
            "status": "SUCCESS",
            "failedreason": "",
            "sessionkey": key,
            "gw": {"mobilebanking": "dbblmobilebanking,bkash,nagad,upay"},
            "redirectGatewayURL": f"{base}/pay/{key}",
            "GatewayPageURL": f"{base}/pay/{key}",
            "storeBanner": "",
            "storeLogo": "",
            "desc": [],
        }

    def validate(self, query: dict[str, str]) -> dict[str, Any]:
        if not self.authorised(query):
            return {"status": "INVALID_TRANSACTION", "error": "Store credential mismatch"}
        with self.state.lock:
            txn = self.state.transactions.get(query.get("val_id", ""))
            if txn is None or txn["status"] not in ("VALID", "VALIDATED"):
                return {"status": "INVALID_TRANSACTION"}
            answer = {**txn}
            txn["status"] = "VALIDATED"
        return {**answer, "risk_level": "0", "risk_title": "Safe", "APIConnect": "DONE"}

    def merchant_trans(self, query: dict[str, str]) -> dict[str, Any]:
        if not self.authorised(query):
            return {"APIConnect": "INVALID_REQUEST", "errorReason": "Store credential mismatch"}
        if query.get("refund_amount") and query.get("bank_tran_id"):
            return self.refund(query)
        if query.get("refund_ref_id"):
            refund = self.state.refunds.get(query["refund_ref_id"])
            if refund is None:
                return {"APIConnect": "DONE", "status": "failed", "errorReason": "Not found"}
            status = "processing" if self.hooks.refunds_processing else "refunded"
            return {"APIConnect": "DONE", **refund, "status": status}
        tran_id = query.get("tran_id", "")
        with self.state.lock:
            found = [dict(t) for t in self.state.transactions.values() if t["tran_id"] == tran_id]
        return {"APIConnect": "DONE", "no_of_trans_found": len(found), "element": found}

    def refund(self, query: dict[str, str]) -> dict[str, Any]:
        bank_tran_id = query["bank_tran_id"]
        with self.state.lock:
            txn = next(
                (t for t in self.state.transactions.values() if t["bank_tran_id"] == bank_tran_id),
                None,
            )
            if txn is None or txn["status"] not in ("VALID", "VALIDATED"):
                return {"APIConnect": "DONE", "status": "failed", "errorReason": "No transaction"}
            refunded = sum(
                (
                    Decimal(r["amount"])
                    for r in self.state.refunds.values()
                    if r["bank_tran_id"] == bank_tran_id
                ),
                Decimal("0"),
            )
            amount = Decimal(query["refund_amount"])
            if amount <= 0 or refunded + amount > Decimal(txn["amount"]):
                return {
                    "APIConnect": "DONE",
                    "status": "failed",
                    "errorReason": "Refund amount exceeds the transaction amount",
                }
            ref = f"RF{uuid.uuid4().hex[:12].upper()}"
            self.state.refunds[ref] = {
                "bank_tran_id": bank_tran_id,
                "tran_id": txn["tran_id"],
                "refund_ref_id": ref,
                "amount": str(amount),
            }
        return {
            "APIConnect": "DONE",
            "bank_tran_id": bank_tran_id,
            "trans_id": txn["tran_id"],
            "refund_ref_id": ref,
            "status": "success",
            "errorReason": "",
        }

    # --- the pay page -----------------------------------------------------------------------

    def page(self, start_response: StartResponse, key: str):
        session = self.state.sessions.get(key)
        if session is None:
            return html_response(start_response, 404, "<p>Session expired or unknown.</p>")
        method = session.get("multi_card_name") or "any method"
        buttons = "".join(
            f'<form method="post" action="/pay/{key}/{action}"><button>{label}</button></form>'
            for action, label in (("pay", "Pay"), ("fail", "Fail"), ("cancel", "Cancel"))
        )
        body = (
            f"<h1>SSLCommerz simulator</h1><p>{html.escape(session['tran_id'])}: "
            f"{html.escape(session['total_amount'])} {html.escape(session['currency'])} "
            f"via <b>{html.escape(method)}</b></p>{buttons}"
        )
        return html_response(start_response, 200, body)

    def act(self, start_response: StartResponse, key: str, action: str):
        session = self.state.sessions.get(key)
        if session is None or action not in ("pay", "fail", "cancel"):
            return html_response(start_response, 404, "<p>Session expired or unknown.</p>")
        fields = self.complete(session, action)
        target = session[{"pay": "success_url", "fail": "fail_url", "cancel": "cancel_url"}[action]]
        ipn_url = session.get("ipn_url", "")
        if ipn_url:
            self.state.ipns.append((ipn_url, dict(fields)))
            if self.hooks.deliver_ipn:
                threading.Thread(target=post_ipn, args=(ipn_url, dict(fields)), daemon=True).start()
        return html_response(start_response, 200, auto_post(target, fields))

    def complete(self, session: dict[str, str], action: str) -> dict[str, str]:
        """The transaction the payer's action makes, as the signed fields SSLCommerz posts."""
        amount = self.hooks.tamper_amount if action == "pay" and self.hooks.tamper_amount else None
        amount = str(Decimal(amount or session["total_amount"]).quantize(Decimal("0.01")))
        status = {"pay": "VALID", "fail": "FAILED", "cancel": "CANCELLED"}[action]
        val_id = uuid.uuid4().hex[:16].upper() if action == "pay" else ""
        fields = {
            "tran_id": session["tran_id"],
            "val_id": val_id,
            "amount": amount,
            "store_amount": str((Decimal(amount) * Decimal("0.975")).quantize(Decimal("0.01"))),
            "currency": "BDT",
            "currency_type": session["currency"],
            "currency_amount": amount,
            "bank_tran_id": uuid.uuid4().hex[:20].upper() if action == "pay" else "",
            "card_type": session.get("multi_card_name", "") or "VISA-Dutch Bangla",
            "card_no": "",
            "card_issuer": "",
            "card_brand": "MOBILEBANKING" if session.get("multi_card_name") else "VISA",
            "base_fair": "0.00",
            "status": status,
            "tran_date": "2026-01-01 12:00:00",
            "store_id": self.store_id,
            "value_a": session.get("value_a", ""),
            "value_b": session.get("value_b", ""),
            "value_c": session.get("value_c", ""),
            "value_d": session.get("value_d", ""),
        }
        if action != "pay":
            fields["error"] = "Payment failed" if action == "fail" else "Cancelled by the customer"
        with self.state.lock:
            self.state.transactions[val_id or f"{action}-{uuid.uuid4().hex}"] = dict(fields)
        fields["verify_key"] = SIGNED_FIELDS
        fields["verify_sign"] = sign(fields, self.store_password)
        if self.hooks.break_signature:
            fields["verify_sign"] = "0" * 32
        return fields


def post_ipn(url: str, fields: dict[str, str]) -> None:
    # Undelivered: the browser return or reconciliation settles the payment instead.
    with contextlib.suppress(httpx.HTTPError):
        httpx.post(url, data=fields, timeout=5)


def auto_post(target: str, fields: dict[str, str]) -> str:
    inputs = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in fields.items()
    )
    return (
        f'<form id="back" method="post" action="{html.escape(target)}">{inputs}'
        "<noscript><button>Continue</button></noscript></form>"
        "<script>document.getElementById('back').submit()</script>"
    )


def html_response(start_response: StartResponse, status: int, body: str) -> list[bytes]:
    data = f"<!doctype html><meta charset=utf-8><title>SSLCommerz</title>{body}".encode()
    start_response(
        status_line(status),
        [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(data)))],
    )
    return [data]


class SslcommerzSimulator(SimulatorServer[SslcommerzSim]):
    def stop(self) -> None:
        self.sim.released.set()
        super().stop()


def start_sslcommerz_simulator(
    host: str = "127.0.0.1", port: int = 0, **credentials: str
) -> SslcommerzSimulator:
    """Serve the simulator on a daemon thread (`port=0` picks a free one); `.url`, `.hooks`,
    `.state`, `.stop()`."""
    return SslcommerzSimulator(SslcommerzSim(**credentials), host, port, name="sslcommerz-sim")
