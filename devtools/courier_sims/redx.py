"""A local stand-in for the RedX OpenAPI (v1.0.0-beta), in memory.

API routes (an optional `/v1.0.0-beta` prefix is accepted), each needing
`API-ACCESS-TOKEN: Bearer <token>` (401 otherwise):

* `GET /areas` (`?district_name=`, `?post_code=`) -> `areas:[{id, name, post_code,
  division_name, zone_id}]`, seeded with a few districts' areas (`redx_pages.AREAS`).
* `GET /charge/charge_calculator?delivery_area_id=&pickup_area_id=&cash_collection_amount=
  &weight=` (all four required, grams) -> `{deliveryCharge, codCharge}`.
* `POST /parcel` -> `{tracking_id}`; `GET /parcel/info/{id}` -> `parcel:{...}`;
  `GET /parcel/track/{id}` -> `tracking:[{message_en, message_bn, time}]`.
* `PATCH /parcels` (`entity_type: parcel-tracking-id`, `update_details: {property_name:
  status, new_value: cancelled}`) cancels a parcel still waiting for pickup.
* `GET /pickup/stores`, `GET /pickup/store/info/{id}`, `POST /pickup/store`.

Pages: `/` lists the parcels; `/parcels/{id}` shows one with a button per status. A move
POSTs RedX's webhook `{tracking_number, timestamp, status, message_en, message_bn,
invoice_number}` to the configured webhook URL with `?token=<webhook token>`.

Control for tests (JSON): `POST /__sim/parcels/{id}/advance {"status", "token"?}` (moves the
parcel and sends the webhook; answers what our webhook replied), `GET /__sim/parcels/{id}`,
`POST /__sim/fail {"route", "status"?, "times"?}` (the next calls of a route answer that
HTTP status, 500 by default), `POST /__sim/slow {"route", "seconds", "times"?}`,
`GET /__sim/hits`, `POST /__sim/reset`, `POST /__sim/webhook {"url", "token"?}` (where moves
post, e.g. once the dev server's port is known). Routes: `areas`, `charge`, `parcel`, `parcel/info`,
`parcel/track`, `parcels`, `pickup/stores`, `pickup/store`, or `*` for any.

Run it standalone: `python -m devtools.courier_sims.redx [--port 8796] [--webhook-url URL]`.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import Counter
from typing import Any
from urllib.parse import parse_qs, unquote

import httpx

from devtools.courier_sims import redx_pages as pages
from devtools.courier_sims.redx_api import RedxApi, now_iso
from devtools.sim_runner import (
    SimulatorServer,
    assignments,
    command_line,
    serve_until_interrupted,
)
from devtools.wsgi_server import json_response, status_line

VERSION = "/v1.0.0-beta"
ACCESS_TOKEN = "sim-redx-access-token"  # noqa: S105 - the simulator's, not a real secret
WEBHOOK_TOKEN = "sim-redx-webhook-token"  # noqa: S105


class RedxSimulator(RedxApi):
    def __init__(
        self, *, access_token: str = ACCESS_TOKEN, webhook_url: str = "", webhook_token: str = ""
    ) -> None:
        self.access_token = access_token
        self.webhook_url = webhook_url
        self.webhook_token = webhook_token or WEBHOOK_TOKEN
        self.url = ""  # set once serving
        self.parcels: dict[str, dict] = {}
        self.tracking: dict[str, list[dict]] = {}
        self.webhooks: list[dict] = []  # every webhook sent, with our reply
        self.stores: list[dict] = [dict(pages.PICKUP_STORE)]
        self.requests: Counter[str] = Counter()
        self._fail: dict[str, list[int]] = {}  # route -> [status, times]
        self._slow: dict[str, list[float]] = {}  # route -> [seconds, times]
        self._lock = threading.Lock()

    # --- hooks ------------------------------------------------------------------------

    def fail_next(self, route: str, status: int = 500, times: int = 1) -> None:
        self._fail[route] = [status, times]

    def slow_next(self, route: str, seconds: float, times: int = 1) -> None:
        self._slow[route] = [seconds, times]

    def hits(self, route: str) -> int:
        return self.requests[route]

    def webhook_to(self, url: str, token: str | None = None) -> None:
        """Where moves POST the webhook (our /api/webhooks/redx), and the token it carries."""
        self.webhook_url = url
        if token is not None:
            self.webhook_token = token

    def reset(self) -> None:
        with self._lock:
            self.parcels.clear()
            self.tracking.clear()
            self.webhooks.clear()
            self.requests.clear()
            self._fail.clear()
            self._slow.clear()
            self.stores = [dict(pages.PICKUP_STORE)]

    def _injected(self, route: str) -> int:
        """Sleep as told for `route`; the HTTP status to fail with, or 0."""
        status = 0
        with self._lock:
            for key in (route, "*"):
                slow = self._slow.get(key)
                if slow and slow[1] > 0:
                    slow[1] -= 1
                    delay = slow[0]
                    break
            else:
                delay = 0.0
            for key in (route, "*"):
                fail = self._fail.get(key)
                if fail and fail[1] > 0:
                    fail[1] -= 1
                    status = fail[0]
                    break
        if delay:
            time.sleep(delay)
        return status

    # --- moves and webhooks -----------------------------------------------------------

    def advance(self, tracking_id: str, status: str, *, token: str | None = None) -> dict:
        """Move a parcel to `status` and POST RedX's webhook; what our webhook answered."""
        with self._lock:
            parcel = self.parcels[tracking_id]
            parcel["status"] = status
            self._track_line(tracking_id, status)
        english, bangla = pages.MESSAGES.get(status, (f"Parcel status: {status}", status))
        payload = {
            "tracking_number": tracking_id,
            "timestamp": now_iso(),
            "status": status,
            "message_en": english,
            "message_bn": bangla,
            "invoice_number": parcel["merchant_invoice_id"],
        }
        record: dict[str, Any] = {"status": status, "payload": payload, "reply_status": None}
        if self.webhook_url:
            joiner = "&" if "?" in self.webhook_url else "?"
            carried = self.webhook_token if token is None else token
            target = f"{self.webhook_url}{joiner}token={carried}"
            try:
                reply = httpx.post(target, json=payload, timeout=10)
                record["reply_status"], record["reply_body"] = reply.status_code, reply.text
            except httpx.HTTPError as exc:
                record["reply_status"], record["reply_body"] = 0, type(exc).__name__
        with self._lock:
            self.webhooks.append(record)
        return record

    # --- WSGI -------------------------------------------------------------------------

    def __call__(self, environ: dict, start_response):
        path = unquote(environ.get("PATH_INFO", ""))
        if path.startswith(VERSION + "/"):
            path = path[len(VERSION) :]
        method = environ.get("REQUEST_METHOD", "GET")
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        if path == "/" and method == "GET":
            return self.html(
                start_response, pages.list_page(list(self.parcels.values()), self.webhook_url)
            )
        if path.startswith("/parcels/") and method in ("GET", "POST"):
            return self.parcel_view(start_response, path.removeprefix("/parcels/"), method, raw)
        if path.startswith("/__sim/"):
            return self.control(start_response, path.removeprefix("/__sim/"), method, raw)
        route, handler = self.route(method, path)
        if handler is None:
            return json_response(start_response, 404, {"message": "Not Found"})
        self.requests[route] += 1
        header = environ.get("HTTP_API_ACCESS_TOKEN", "")
        if not secrets.compare_digest(header.encode(), f"Bearer {self.access_token}".encode()):
            return json_response(start_response, 401, {"message": "Unauthorized"})
        failure = self._injected(route)
        if failure:
            return json_response(start_response, failure, {"message": "Simulated failure"})
        try:
            body = json.loads(raw or b"{}") if method in ("POST", "PATCH") else {}
        except ValueError:
            return json_response(start_response, 400, {"message": "Invalid JSON"})
        if not isinstance(body, dict):
            return json_response(start_response, 400, {"message": "Invalid JSON"})
        status, payload = handler(path, query, body)
        return json_response(start_response, status, payload)

    def route(self, method: str, path: str) -> tuple[str, Any]:
        table = {
            ("GET", "/areas"): ("areas", self.areas),
            ("GET", "/charge/charge_calculator"): ("charge", self.charge),
            ("POST", "/parcel"): ("parcel", self.create),
            ("PATCH", "/parcels"): ("parcels", self.cancel),
            ("GET", "/pickup/stores"): ("pickup/stores", self.store_list),
            ("POST", "/pickup/store"): ("pickup/store", self.store_create),
        }
        if (method, path) in table:
            return table[(method, path)]
        for prefix, route, handler in (
            ("/parcel/info/", "parcel/info", self.info),
            ("/parcel/track/", "parcel/track", self.track),
            ("/pickup/store/info/", "pickup/store", self.store_info),
        ):
            if method == "GET" and path.startswith(prefix) and len(path) > len(prefix):
                return route, handler
        return "", None

    # --- pages and control ------------------------------------------------------------

    @staticmethod
    def html(start_response, data: bytes, status: int = 200):
        start_response(
            status_line(status),
            [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(data)))],
        )
        return [data]

    def parcel_view(self, start_response, tracking_id: str, method: str, raw: bytes):
        if tracking_id not in self.parcels:
            return self.html(start_response, pages.page("Not found", "<p>Unknown parcel</p>"), 404)
        if method == "POST":
            status = (parse_qs(raw.decode()).get("status") or [""])[0].strip()
            if status:
                self.advance(tracking_id, status)
            start_response(status_line(303), [("Location", f"/parcels/{tracking_id}")])
            return [b""]
        last = next(
            (w for w in reversed(self.webhooks) if w["payload"]["tracking_number"] == tracking_id),
            None,
        )
        return self.html(
            start_response,
            pages.parcel_page(self.parcels[tracking_id], self.tracking[tracking_id], last),
        )

    def control(self, start_response, path: str, method: str, raw: bytes):
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return json_response(start_response, 400, {"message": "Invalid JSON"})
        if method == "GET" and path == "hits":
            return json_response(start_response, 200, dict(self.requests))
        if method == "POST" and path == "webhook" and str(body.get("url", "")).strip():
            self.webhook_to(str(body["url"]).strip(), body.get("token"))
            return json_response(start_response, 200, {"ok": True})
        if method == "POST" and path == "reset":
            self.reset()
            return json_response(start_response, 200, {"ok": True})
        if method == "POST" and path == "fail":
            self.fail_next(
                str(body.get("route", "*")), int(body.get("status", 500)), int(body.get("times", 1))
            )
            return json_response(start_response, 200, {"ok": True})
        if method == "POST" and path == "slow":
            self.slow_next(
                str(body.get("route", "*")),
                float(body.get("seconds", 1)),
                int(body.get("times", 1)),
            )
            return json_response(start_response, 200, {"ok": True})
        if path.startswith("parcels/"):
            tracking_id, _, action = path.removeprefix("parcels/").partition("/")
            if tracking_id not in self.parcels:
                return json_response(start_response, 404, {"message": "Parcel not found"})
            if method == "GET" and not action:
                parcel = {**self.parcels[tracking_id], "tracking": self.tracking[tracking_id]}
                return json_response(start_response, 200, parcel)
            if method == "POST" and action == "advance" and str(body.get("status", "")).strip():
                token = body.get("token")
                record = self.advance(tracking_id, str(body["status"]).strip(), token=token)
                return json_response(start_response, 200, record)
        return json_response(start_response, 404, {"message": "Not Found"})


class RedxSimulatorServer(SimulatorServer[RedxSimulator]):
    def env(self) -> dict[str, str]:
        return env(self.url)


def start_redx_simulator(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    webhook_url: str = "",
    webhook_token: str = WEBHOOK_TOKEN,
) -> RedxSimulatorServer:
    """Serve a fresh simulator on a daemon thread; `.url` is the REDX_BASE_URL to use. Moves
    POST the webhook to `webhook_url` (e.g. http://127.0.0.1:8000/api/webhooks/redx)."""
    sim = RedxSimulator(webhook_url=webhook_url, webhook_token=webhook_token)
    return RedxSimulatorServer(sim, host, port, name="redx-simulator")


def env(url: str) -> dict[str, str]:
    """The REDX_* variables that point the API at a simulator at `url`."""
    return {
        "REDX_BASE_URL": url,
        "REDX_ACCESS_TOKEN": ACCESS_TOKEN,
        "REDX_PICKUP_STORE_ID": str(pages.PICKUP_STORE["id"]),
        "REDX_PICKUP_AREA_ID": str(pages.PICKUP_STORE["area_id"]),
        "REDX_WEBHOOK_TOKEN": WEBHOOK_TOKEN,
        "REDX_TRACKING_URL": f"{url}/parcels/{{code}}",  # the simulator's page stands in
    }


def main() -> None:
    parser = command_line(__doc__, port=8796)
    parser.add_argument("--webhook-url", default="http://127.0.0.1:8000/api/webhooks/redx")
    args = parser.parse_args()
    running = start_redx_simulator(args.host, args.port, webhook_url=args.webhook_url)
    heading = f"RedX simulator on {running.url} (webhooks to {args.webhook_url})"
    serve_until_interrupted(running, heading, *assignments(env(running.url)))


if __name__ == "__main__":
    main()
