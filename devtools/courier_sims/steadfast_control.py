"""The JSON control endpoints of the Steadfast simulator, for tests in any process:
`GET /__sim/parcels` and the `POST /__sim/...` moves and failure injections listed in
devtools/courier_sims/steadfast.py."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from devtools.wsgi_server import json_response


def read_json(environ: dict) -> dict | None:
    try:
        size = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(size) if size else b""
        data = json.loads(raw) if raw.strip() else {}
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


class ControlMixin:
    def control(self, environ: dict, start_response, route: str, method: str):
        body = read_json(environ) or {}
        parts = route.strip("/").split("/")
        if method == "GET" and parts == ["parcels"]:
            report = {
                "parcels": list(self.parcels.values()),
                "requests": dict(self.requests),
                "webhooks": self.webhooks,
                "payments": list(self.payments.values()),
            }
            return json_response(start_response, 200, report)
        if method != "POST":
            return json_response(start_response, 405, {"message": "POST only"})
        try:
            answer = self.control_post(parts, body)
        except (KeyError, ValueError, InvalidOperation) as exc:
            return json_response(start_response, 400, {"message": str(exc)})
        return json_response(start_response, 200, answer)

    def control_post(self, parts: list[str], body: dict) -> Any:
        if len(parts) == 3 and parts[0] == "parcels" and parts[2] in ("advance", "message"):
            consignment_id = int(parts[1])
            if consignment_id not in self.parcels:
                raise KeyError(f"no parcel {consignment_id}")
            if parts[2] == "message":
                return self.tracking_message(consignment_id, str(body.get("message") or ""))
            collected = body.get("cod_amount")
            return self.advance(
                consignment_id,
                str(body.get("status") or ""),
                collected=None if collected is None else Decimal(str(collected)),
                message=str(body.get("message") or ""),
                spelling=str(body.get("spelling") or "doc"),
            )
        if parts == ["fail"]:
            self.fail_next(body["route"], int(body.get("status", 500)), int(body.get("times", 1)))
        elif parts == ["slow"]:
            self.slow_next(body["route"], float(body["seconds"]))
        elif parts == ["create-then-timeout"]:
            self.create_then_timeout(float(body.get("seconds", 2)))
        elif parts == ["payouts"]:
            return {"payment": self.pay_out(body.get("adjust"))}
        elif parts == ["webhook"]:
            self.webhook_url = str(body.get("url") or "")
            self.webhook_token = str(body.get("token") or self.webhook_token)
        elif parts == ["reset"]:
            self.reset()
        else:
            raise KeyError(f"unknown control {'/'.join(parts)}")
        return {"ok": True}
