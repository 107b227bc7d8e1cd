"""A local stand-in for Pathao Courier's merchant API ("aladdin"), parcels in memory.

Merchant API (JSON, under `/aladdin/api/v1/`), as Pathao documents it:

* `POST issue-token`: `{client_id, client_secret, grant_type: "password", username, password}`
  or `{..., grant_type: "refresh_token", refresh_token}` -> `{token_type, expires_in,
  access_token, refresh_token}`; `POST external/login` `{client_id, client_secret}` -> the same.
  Refresh tokens are single use. Bad credentials: 401.
* every other route needs `Authorization: Bearer <access_token>` (401 when unknown or
  expired): `GET city-list` (also `countries/1/city-list`), `cities/{id}/zone-list`,
  `zones/{id}/area-list`, `GET|POST stores`, `POST merchant/price-plan`, `POST orders`
  (Pathao's field rules; 422 `{message, errors}`), `POST orders/bulk` (202, consignment ids
  only through `order.created` webhooks), `GET orders/{consignment_id}/info`.

Pages: `GET /` lists the parcels, `GET /parcels/{consignment_id}` shows one with a button per
webhook event. A button (or the control route below) moves the parcel and POSTs Pathao's
webhook to the configured URL: header `X-PATHAO-Signature: <secret>`, body `{consignment_id,
merchant_order_id, updated_at (Dhaka time), timestamp (UTC ISO), store_id, event, ...extras}`.
The reply is accepted only when it is HTTP 202 with `X-Pathao-Merchant-Webhook-Integration-
Secret: f3992ecc-...` within 10 s; every delivery is recorded with that verdict.

Control routes for tests (JSON):
* `POST /__sim/parcels/{id}/advance {"event": "order.delivered", ...extra payload fields}`
  (`status` is accepted for `event`) -> the delivery record `{event, status, accepted, problem,
  payload}`; `POST /__sim/webhook/handshake` sends `{"event": "webhook_integration"}`;
  `POST /__sim/webhook/replay {"index": n}` sends delivery n again, unchanged.
* `POST /__sim/config {"webhook_url", "webhook_secret", "expires_in"}`,
  `POST /__sim/fail {"route": "orders", "status": 503, "times": 1, "delay": 0}` (route `*`
  = any), `POST /__sim/tokens/revoke {"access": true, "refresh": false}` (those tokens
  Pathao no longer knows: a 401 for access tokens, a refused refresh grant),
  `POST /__sim/reset`, `GET /__sim/state` (hits per route, token issues, deliveries, parcels).

Run it standalone: `python -m devtools.courier_sims.pathao [--port 8796] [--webhook-url URL]`.
"""

from __future__ import annotations

import itertools
import json
import re
import secrets
import string
import threading
import time
from collections import Counter
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from devtools.courier_sims import pathao_data as data
from devtools.courier_sims.pathao_webhooks import DHAKA, PathaoWebhooks
from devtools.sim_runner import (
    SimulatorServer,
    assignments,
    command_line,
    serve_until_interrupted,
)
from devtools.wsgi_server import json_response

API = "/aladdin/api/v1/"
CLIENT_ID = "sim-pathao-client"
CLIENT_SECRET = "sim-pathao-client-secret"  # noqa: S105
USERNAME = "merchant@zest.test"
PASSWORD = "sim-pathao-password"  # noqa: S105
STORE_ID = 10001
WEBHOOK_SECRET = "sim-pathao-webhook-secret"  # noqa: S105
PHONE = re.compile(r"^01\d{9}$")


def ok(payload: Any, message: str = "Success", code: int = 200) -> dict:
    return {"message": message, "type": "success", "code": code, "data": payload}


def invalid(errors: dict[str, str]) -> tuple[int, dict]:
    body = {"message": "Please fix the given errors", "type": "error", "code": 422}
    return 422, body | {"errors": {field: [text] for field, text in errors.items()}}


def unauthorized() -> tuple[int, dict]:
    return 401, {"message": "Unauthorized", "type": "error", "code": 401}


class PathaoSimulator(PathaoWebhooks):
    def __init__(self, *, webhook_url: str = "", webhook_secret: str = WEBHOOK_SECRET) -> None:
        self.url = ""
        self.webhook_url, self.webhook_secret = webhook_url, webhook_secret
        self.expires_in = 432000  # 5 days, as Pathao's sample says
        self.tokens: dict[str, float] = {}
        self.refresh_tokens: set[str] = set()
        self.parcels: dict[str, dict] = {}
        self.stores = [self.store_row(STORE_ID, "Zest Store Warehouse", "House 12, Road 5, Banani")]
        self.deliveries: list[dict] = []
        self.requests: Counter[str] = Counter()
        self.token_issues: Counter[str] = Counter()  # grant -> count
        self.failures: list[dict] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    @staticmethod
    def store_row(store_id: int, name: str, address: str) -> dict:
        return {
            "store_id": store_id,
            "store_name": name,
            "store_address": address,
            "is_active": 1,
            "city_id": 1,
            "zone_id": 101,
            "hub_id": 1,
            "is_default_store": True,
            "is_default_return_store": True,
        }

    def reset(self) -> None:
        with self._lock:
            self.tokens.clear()
            self.refresh_tokens.clear()
            self.parcels.clear()
            self.deliveries.clear()
            self.requests.clear()
            self.token_issues.clear()
            self.failures.clear()
            self.expires_in = 432000
            self.webhook_secret = WEBHOOK_SECRET

    def hits(self, route: str) -> int:
        return self.requests[route]

    # --- WSGI -------------------------------------------------------------------------------

    def __call__(self, environ: dict, start_response):
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        if path == "/" or path.startswith("/parcels/"):
            return self.pages(start_response, path, method, raw)
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return json_response(start_response, 400, {"message": "Bad Request"})
        if not isinstance(body, dict):
            return json_response(start_response, 400, {"message": "Bad Request"})
        if path.startswith("/__sim/"):
            status, payload = self.control(path.removeprefix("/__sim/"), method, body)
            return json_response(start_response, status, payload)
        if not path.startswith(API):
            return json_response(start_response, 404, {"message": "Not Found"})
        route = path.removeprefix(API)
        self.requests[route] += 1
        failure = self.failure_for(route)
        if failure:
            time.sleep(failure.get("delay") or 0)
            if failure.get("status"):
                return json_response(start_response, failure["status"], {"message": "Sim error"})
        status, payload = self.api(route, method, body, environ.get("HTTP_AUTHORIZATION", ""))
        return json_response(start_response, status, payload)

    def failure_for(self, route: str) -> dict | None:
        with self._lock:
            for failure in self.failures:
                if failure["route"] in (route, "*") and failure["times"] > 0:
                    failure["times"] -= 1
                    return failure
        return None

    def api(self, route: str, method: str, body: dict, authorization: str) -> tuple[int, dict]:
        if route in ("issue-token", "external/login") and method == "POST":
            return self.issue(route, body)
        scheme, _, token = authorization.partition(" ")
        if scheme != "Bearer" or self.tokens.get(token, 0) < time.time():
            return unauthorized()
        parts = route.split("/")
        if method == "GET" and route in ("city-list", "countries/1/city-list"):
            rows = [{"city_id": cid, "city_name": name} for cid, name in data.CITIES]
            return 200, ok({"data": rows})
        if method == "GET" and len(parts) == 3 and parts[0] == "cities" and parts[1].isdigit():
            if parts[2] != "zone-list" or int(parts[1]) not in dict(data.CITIES):
                return 404, {"message": "City not found"}
            return 200, ok({"data": data.zone_rows(int(parts[1]))})
        if method == "GET" and len(parts) == 3 and parts[0] == "zones" and parts[1].isdigit():
            return 200, ok({"data": data.area_rows(int(parts[1]))})
        if route == "stores":
            return self.store_create(body) if method == "POST" else self.store_list()
        if route == "merchant/price-plan" and method == "POST":
            return self.price(body)
        if route == "orders" and method == "POST":
            return self.order_create(body)
        if route == "orders/bulk" and method == "POST":
            return self.order_bulk(body)
        if method == "GET" and len(parts) == 3 and parts[0] == "orders" and parts[2] == "info":
            return self.order_info(parts[1])
        return 404, {"message": "Not Found"}

    # --- tokens -----------------------------------------------------------------------------

    def issue(self, route: str, body: dict) -> tuple[int, dict]:
        if body.get("client_id") != CLIENT_ID or body.get("client_secret") != CLIENT_SECRET:
            return unauthorized()
        grant = "client_credentials" if route == "external/login" else body.get("grant_type")
        with self._lock:
            if grant == "password":
                if body.get("username") != USERNAME or body.get("password") != PASSWORD:
                    return unauthorized()
            elif grant == "refresh_token":
                if body.get("refresh_token") not in self.refresh_tokens:
                    return 400, {"message": "The refresh token is invalid.", "type": "error"}
                self.refresh_tokens.discard(body["refresh_token"])
            elif grant != "client_credentials":
                return 400, {"message": "Unsupported grant type", "type": "error"}
            access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            self.tokens[access] = time.time() + self.expires_in
            self.refresh_tokens.add(refresh)
            self.token_issues[str(grant)] += 1
        return 200, {
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "access_token": access,
            "refresh_token": refresh,
        }

    # --- stores, prices, orders -------------------------------------------------------------

    def store_list(self) -> tuple[int, dict]:
        page = {"data": self.stores, "total": len(self.stores), "current_page": 1}
        return 200, ok(page | {"per_page": 1000, "total_in_page": len(self.stores)})

    def store_create(self, body: dict) -> tuple[int, dict]:
        name, address = str(body.get("name") or ""), str(body.get("address") or "")
        if not 3 <= len(name) <= 50 or not 15 <= len(address) <= 120:
            return invalid({"name": "3-50 characters", "address": "15-120 characters"})
        with self._lock:
            self.stores.append(self.store_row(STORE_ID + len(self.stores), name, address))
        return 200, ok({"store_name": name}, "Store created successfully, Please wait one hour")

    def price(self, body: dict) -> tuple[int, dict]:
        required = ("store_id", "item_type", "delivery_type", "item_weight")
        errors = {f: "required" for f in (*required, "recipient_city", "recipient_zone")}
        errors = {f: e for f, e in errors.items() if body.get(f) in (None, "")}
        if errors:
            return invalid(errors)
        city = body["recipient_city"]
        if city not in dict(data.CITIES):
            return invalid({"recipient_city": "The selected recipient city is invalid."})
        weight = Decimal(str(body["item_weight"]))
        return 200, ok(data.price_plan(int(city), weight))

    def order_errors(self, body: dict) -> dict[str, str]:
        errors: dict[str, str] = {}
        if body.get("store_id") not in [s["store_id"] for s in self.stores]:
            errors["store_id"] = "The selected store id is invalid."
        if not 3 <= len(str(body.get("recipient_name") or "")) <= 100:
            errors["recipient_name"] = "The recipient name must be 3-100 characters."
        if not PHONE.match(str(body.get("recipient_phone") or "")):
            errors["recipient_phone"] = "The recipient phone must be 11 characters."
        if not 10 <= len(str(body.get("recipient_address") or "")) <= 220:
            errors["recipient_address"] = "The recipient address must be 10-220 characters."
        if body.get("delivery_type") not in (48, 12):
            errors["delivery_type"] = "The selected delivery type is invalid."
        if body.get("item_type") not in (1, 2):
            errors["item_type"] = "The selected item type is invalid."
        if not isinstance(body.get("item_quantity"), int) or body["item_quantity"] < 1:
            errors["item_quantity"] = "The item quantity must be an integer."
        try:
            weight = Decimal(str(body.get("item_weight")))
            if not Decimal("0.5") <= weight <= 10:
                errors["item_weight"] = "The item weight must be between 0.5 and 10."
        except InvalidOperation:
            errors["item_weight"] = "The item weight must be a number."
        cash = body.get("amount_to_collect")
        if not isinstance(cash, int) or isinstance(cash, bool) or cash < 0:
            errors["amount_to_collect"] = "The amount to collect must be an integer."
        for field in ("recipient_city", "recipient_zone", "recipient_area"):
            if field in body and not isinstance(body[field], int):
                errors[field] = f"The {field.replace('_', ' ')} must be an integer."
        return errors

    def order_add(self, body: dict) -> dict:
        suffix = "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(6))
        consignment_id = f"DL{datetime.now(DHAKA):%d%m%y}{suffix}"
        city = body.get("recipient_city") or 1
        fee = data.price_plan(city, Decimal(str(body["item_weight"])))["final_price"]
        parcel = {
            "consignment_id": consignment_id,
            "merchant_order_id": str(body.get("merchant_order_id") or ""),
            "store_id": body["store_id"],
            "recipient_name": body["recipient_name"],
            "recipient_phone": body["recipient_phone"],
            "recipient_address": body["recipient_address"],
            "amount_to_collect": body["amount_to_collect"],
            "item_weight": body["item_weight"],
            "delivery_fee": fee,
            "order_status": "Pending",
            "order_status_slug": "pending",
            "updated_at": datetime.now(DHAKA).strftime("%Y-%m-%d %H:%M:%S"),
            "invoice_id": None,
            "body": body,
        }
        with self._lock:
            self.parcels[consignment_id] = parcel
        return parcel

    def order_create(self, body: dict) -> tuple[int, dict]:
        errors = self.order_errors(body)
        if errors:
            return invalid(errors)
        parcel = self.order_add(body)
        answer = {k: parcel[k] for k in ("consignment_id", "merchant_order_id", "delivery_fee")}
        return 200, ok(answer | {"order_status": "Pending"}, "Order Created Successfully")

    def order_bulk(self, body: dict) -> tuple[int, dict]:
        orders = body.get("orders")
        if not isinstance(orders, list) or not orders:
            return invalid({"orders": "The orders field is required."})
        for index, order in enumerate(orders):
            errors = self.order_errors(order if isinstance(order, dict) else {})
            if errors:
                return invalid({f"orders.{index}.{k}": v for k, v in errors.items()})
        parcels = [self.order_add(order) for order in orders]

        def announce() -> None:  # asynchronous, as at Pathao
            time.sleep(0.2)
            for parcel in parcels:
                self.advance(parcel["consignment_id"], "order.created")

        threading.Thread(target=announce, daemon=True).start()
        return 202, {
            "message": "Your bulk request is queued",
            "type": "success",
            "code": 202,
            "data": True,
        }

    def order_info(self, consignment_id: str) -> tuple[int, dict]:
        parcel = self.parcels.get(consignment_id)
        if parcel is None:
            return 404, {"message": "Order not found", "type": "error", "code": 404}
        fields = ("consignment_id", "merchant_order_id", "order_status", "order_status_slug")
        answer = {k: parcel[k] for k in (*fields, "updated_at", "invoice_id")}
        return 200, ok(answer)


class PathaoSimulatorServer(SimulatorServer[PathaoSimulator]):
    def env(self) -> dict[str, str]:
        return env(self.url)


def start_pathao_simulator(
    host: str = "127.0.0.1", port: int = 0, *, webhook_url: str = ""
) -> PathaoSimulatorServer:
    """Serve a fresh simulator on a daemon thread; `.url` is the PATHAO_BASE_URL to use and
    `webhook_url` where its webhooks go (settable later through `/__sim/config`)."""
    sim = PathaoSimulator(webhook_url=webhook_url)
    return PathaoSimulatorServer(sim, host, port, name="pathao-simulator")


def env(url: str) -> dict[str, str]:
    """The PATHAO_* variables that point the API at a simulator at `url`."""
    return {
        "PATHAO_BASE_URL": url,
        "PATHAO_CLIENT_ID": CLIENT_ID,
        "PATHAO_CLIENT_SECRET": CLIENT_SECRET,
        "PATHAO_USERNAME": USERNAME,
        "PATHAO_PASSWORD": PASSWORD,
        "PATHAO_STORE_ID": str(STORE_ID),
        "PATHAO_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "PATHAO_TRACKING_URL": f"{url}/parcels/{{code}}",
    }


def main() -> None:
    parser = command_line(__doc__, port=8796)
    parser.add_argument("--webhook-url", default="http://127.0.0.1:8000/api/webhooks/pathao")
    args = parser.parse_args()
    running = start_pathao_simulator(args.host, args.port, webhook_url=args.webhook_url)
    heading = f"Pathao simulator on {running.url}, webhooks to {args.webhook_url}"
    serve_until_interrupted(running, heading, *assignments(env(running.url)))


if __name__ == "__main__":
    main()
