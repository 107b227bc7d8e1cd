"""The Pathao simulator's outgoing side: moving a parcel sends Pathao's webhook (and judges
our reply), the JSON control routes for tests and the clickable pages. Mixed into
`devtools.courier_sims.pathao.PathaoSimulator`, whose docstring describes the routes."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import httpx

from devtools.courier_sims import pathao_data as data
from devtools.wsgi_server import status_line

DHAKA = ZoneInfo("Asia/Dhaka")
INTEGRATION_HEADER = "X-Pathao-Merchant-Webhook-Integration-Secret"
INTEGRATION_SECRET = "f3992ecc-59da-4cbe-a049-a13da2018d51"  # noqa: S105
REPLY_DEADLINE = 10.0  # seconds Pathao waits for our reply


class PathaoWebhooks:
    parcels: dict[str, dict]
    deliveries: list[dict]
    failures: list[dict]
    tokens: dict[str, float]
    refresh_tokens: set[str]
    webhook_url: str
    webhook_secret: str
    expires_in: int
    _lock: threading.Lock
    _ids: Any
    requests: Any
    token_issues: Any
    reset: Callable[[], None]

    # --- webhooks ---------------------------------------------------------------------------

    def advance(self, consignment_id: str, event: str, extra: dict | None = None) -> dict:
        """Move a parcel and send Pathao's webhook for `event`; the delivery record."""
        parcel = self.parcels[consignment_id]
        now = datetime.now(UTC)
        payload: dict[str, Any] = {
            "consignment_id": consignment_id,
            "merchant_order_id": parcel["merchant_order_id"],
            "updated_at": now.astimezone(DHAKA).strftime("%Y-%m-%d %H:%M:%S"),
            "timestamp": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "store_id": parcel["store_id"],
            "event": event,
        }
        if event in data.FEE_EVENTS:
            payload["delivery_fee"] = parcel["delivery_fee"]
        if event in data.CASH_EVENTS:
            cash = parcel["amount_to_collect"]
            payload["collected_amount"] = cash // 2 if event == "order.partial-delivery" else cash
        if event in data.REASON_EVENTS:
            payload["reason"] = "Customer asked to come back later"
        if event == "order.paid":
            payload["invoice_id"] = parcel["invoice_id"] or f"INV{next(self._ids):08d}"
        payload.update(extra or {})
        with self._lock:
            label = data.EVENTS.get(event, (event, event))[1]
            parcel["order_status"] = label
            parcel["order_status_slug"] = event.removeprefix("order.")
            parcel["updated_at"] = payload["updated_at"]
            if payload.get("invoice_id"):
                parcel["invoice_id"] = payload["invoice_id"]
        return self.deliver(payload)

    def deliver(self, payload: dict) -> dict:
        """POST one webhook as Pathao does and judge the reply."""
        record: dict[str, Any] = {"event": payload.get("event"), "payload": payload}
        if not self.webhook_url:
            record.update(status=0, accepted=False, problem="no webhook URL configured")
        else:
            started = time.monotonic()
            try:
                reply = httpx.post(
                    self.webhook_url,
                    json=payload,
                    headers={"X-PATHAO-Signature": self.webhook_secret},
                    timeout=REPLY_DEADLINE,
                )
            except httpx.HTTPError as exc:
                record.update(status=0, accepted=False, problem=type(exc).__name__)
            else:
                elapsed = time.monotonic() - started
                header = reply.headers.get(INTEGRATION_HEADER)
                problem = ""
                if reply.status_code != 202:
                    problem = f"expected HTTP 202, got {reply.status_code}"
                elif header != INTEGRATION_SECRET:
                    problem = f"missing or wrong {INTEGRATION_HEADER}"
                elif elapsed > REPLY_DEADLINE:
                    problem = "answered after 10 s"
                record.update(status=reply.status_code, accepted=not problem, problem=problem)
                record["reply"] = reply.text[:500]
        with self._lock:
            self.deliveries.append(record)
        return record

    # --- control routes and pages -------------------------------------------------------------

    def control(self, route: str, method: str, body: dict) -> tuple[int, dict]:
        if route == "state" and method == "GET":
            with self._lock:
                return 200, {
                    "hits": dict(self.requests),
                    "token_issues": dict(self.token_issues),
                    "deliveries": list(self.deliveries),
                    "parcels": dict(self.parcels),
                }
        if method != "POST":
            return 404, {"message": "Not Found"}
        match = re.fullmatch(r"parcels/([^/]+)/advance", route)
        if match:
            event = str(body.pop("event", "") or body.pop("status", ""))
            if match.group(1) not in self.parcels or not event:
                return 404, {"message": "unknown parcel or no event"}
            return 200, self.advance(match.group(1), event, body)
        if route == "webhook/handshake":
            return 200, self.deliver({"event": "webhook_integration"})
        if route == "webhook/replay":
            return 200, self.deliver(dict(self.deliveries[int(body.get("index", -1))]["payload"]))
        if route == "config":
            for name in ("webhook_url", "webhook_secret", "expires_in"):
                if name in body:
                    setattr(self, name, body[name])
            return 200, {"webhook_url": self.webhook_url, "expires_in": self.expires_in}
        if route == "fail":
            failure = {"route": "*", "status": 0, "times": 1, "delay": 0.0} | body
            with self._lock:
                self.failures.append(failure)
            return 200, failure
        if route == "tokens/revoke":
            access, refresh = body.get("access", True), body.get("refresh", False)
            with self._lock:
                if access:
                    self.tokens.clear()
                if refresh:
                    self.refresh_tokens.clear()
            return 200, {"access": bool(access), "refresh": bool(refresh)}
        if route == "reset":
            self.reset()
            return 200, {"reset": True}
        return 404, {"message": "Not Found"}

    def pages(self, start_response, path: str, method: str, raw: bytes):
        consignment_id = path.removeprefix("/parcels/").strip("/")
        if path == "/":
            body, status = data.list_page(list(self.parcels.values())), 200
        elif consignment_id not in self.parcels:
            body, status = data.page("Not found", "<p>Unknown consignment</p>"), 404
        elif method == "POST":
            event = (parse_qs(raw.decode()).get("event") or [""])[0]
            if event in data.EVENTS:
                self.advance(consignment_id, event)
            start_response(status_line(303), [("Location", path)])
            return [b""]
        else:
            sent = [
                d for d in self.deliveries if d["payload"].get("consignment_id") == consignment_id
            ]
            body, status = data.parcel_page(self.parcels[consignment_id], sent), 200
        headers = [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))]
        start_response(status_line(status), headers)
        return [body]
