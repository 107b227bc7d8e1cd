"""The clickable pages of the Steadfast simulator (devtools/courier_sims/steadfast.py).

`/` (and `/parcels`): every parcel, with the "pay out delivered parcels" button; `/parcels/{id}`:
one parcel, a button per Steadfast status (each sends the webhook), a collected-amount field for
partial deliveries and a free-text tracking message; `/t/{tracking_code}`: the customer's
tracking page; `/payouts`: the payouts made.
"""

from __future__ import annotations

import html
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote

from devtools.wsgi_server import status_line

if TYPE_CHECKING:
    from devtools.courier_sims.steadfast import SteadfastSimulator

STYLE = (
    "body{font-family:sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem}"
    "table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3rem;"
    "text-align:left}button{margin:.15rem}h1{color:#00a651}.note{background:#f3f8f3;padding:.5rem}"
)


def page(start_response, title: str, body: str, status: int = 200) -> list[bytes]:
    data = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>Steadfast (simulator)</h1>{body}</body></html>"
    ).encode()
    start_response(
        status_line(status),
        [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(data)))],
    )
    return [data]


def redirect(start_response, location: str) -> list[bytes]:
    start_response(status_line(303), [("Location", location), ("Content-Length", "0")])
    return [b""]


def form_of(environ: dict) -> dict[str, str]:
    size = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(size).decode() if size else ""
    return {key: values[0] for key, values in parse_qs(raw).items()}


def serve(sim: SteadfastSimulator, environ: dict, start_response, path: str, method: str) -> Any:
    parts = [part for part in path.split("/") if part]
    if parts in ([], ["parcels"]):
        return parcel_list(sim, start_response)
    if parts == ["payouts"]:
        if method == "POST":
            sim.pay_out()
            return redirect(start_response, "/payouts")
        return payout_list(sim, start_response)
    if len(parts) == 2 and parts[0] == "t":
        found = sim.find("trackingcode", parts[1])
        if found is None:
            return page(start_response, "Not found", "<p>No parcel has this code.</p>", 404)
        return page(
            start_response,
            "Tracking",
            f"<p>Parcel {html.escape(found['tracking_code'])}: "
            f"<strong>{html.escape(found['status'])}</strong> ({found['updated_at']})</p>",
        )
    if len(parts) == 2 and parts[0] == "parcels" and parts[1].isdigit():
        consignment_id = int(parts[1])
        if consignment_id not in sim.parcels:
            return page(start_response, "Not found", "<p>No such parcel.</p>", 404)
        if method == "POST":
            return parcel_move(sim, environ, start_response, consignment_id)
        return parcel_page(sim, start_response, consignment_id)
    return page(start_response, "Not found", "<p>Nothing here.</p>", 404)


def parcel_list(sim: SteadfastSimulator, start_response) -> list[bytes]:
    rows = "".join(
        f"<tr><td><a href='/parcels/{p['consignment_id']}'>{p['consignment_id']}</a></td>"
        f"<td>{html.escape(p['invoice'])}</td><td>{html.escape(p['tracking_code'])}</td>"
        f"<td>{html.escape(p['recipient_name'])}</td><td>৳{p['cod_amount']}</td>"
        f"<td>{html.escape(p['status'])}</td><td>{p['paid_in'] or ''}</td></tr>"
        for p in sorted(sim.parcels.values(), key=lambda p: -p["consignment_id"])
    )
    body = (
        f"<p>Webhooks go to <code>{html.escape(sim.webhook_url or '(none set)')}</code>. "
        f"Balance ৳{sim.balance():.2f}. <a href='/payouts'>Payouts</a></p>"
        "<form method='post' action='/payouts'><button>Pay out delivered parcels</button></form>"
        "<table><tr><th>Consignment</th><th>Invoice</th><th>Tracking</th><th>Recipient</th>"
        f"<th>COD</th><th>Status</th><th>Paid in</th></tr>{rows}</table>"
    )
    return page(start_response, "Steadfast parcels", body)


def parcel_page(sim: SteadfastSimulator, start_response, consignment_id: int) -> list[bytes]:
    from devtools.courier_sims.steadfast import STATUSES

    p = sim.parcels[consignment_id]
    buttons = "".join(
        f"<button name='status' value='{s}'>{html.escape(s)}</button>" for s in STATUSES
    )
    sent = [w for w in sim.webhooks if w["payload"].get("consignment_id") == consignment_id]
    history = "".join(
        f"<li><code>{html.escape(str(w['payload'].get('status') or 'tracking_update'))}</code> "
        f"{html.escape(str(w['payload'].get('tracking_message', '')))} → "
        f"{w['status'] or 'not delivered'}</li>"
        for w in sent
    )
    body = (
        f"<p><a href='/'>All parcels</a></p><h2>Consignment {consignment_id}</h2>"
        f"<p>Invoice {html.escape(p['invoice'])} · tracking "
        f"<a href='/t/{quote(p['tracking_code'])}'>{html.escape(p['tracking_code'])}</a> · "
        f"{html.escape(p['recipient_name'])}, {html.escape(p['recipient_phone'])}<br>"
        f"{html.escape(p['recipient_address'])}<br>COD ৳{p['cod_amount']} · charge "
        f"৳{p['delivery_charge']} · status <strong>{html.escape(p['status'])}</strong></p>"
        f"<form method='post' class='note'><p>Collected (partial delivery): "
        f"<input name='collected' size='8' placeholder='half'></p>"
        f"<p>Tracking message: <input name='message' size='40'></p>{buttons}"
        "<button name='status' value='tracking_update'>Send message only</button></form>"
        f"<h3>Webhooks sent</h3><ul>{history}</ul>"
    )
    return page(start_response, f"Parcel {consignment_id}", body)


def parcel_move(sim: SteadfastSimulator, environ: dict, start_response, consignment_id: int):
    form = form_of(environ)
    status = form.get("status", "")
    message = form.get("message", "").strip()
    if status == "tracking_update":
        sim.tracking_message(consignment_id, message or "Parcel is on its way")
    else:
        try:
            collected = Decimal(form["collected"]) if form.get("collected") else None
            sim.advance(consignment_id, status, collected=collected, message=message)
        except (ValueError, InvalidOperation) as exc:
            return page(start_response, "Bad move", f"<p>{html.escape(str(exc))}</p>", 400)
    return redirect(start_response, f"/parcels/{consignment_id}")


def payout_list(sim: SteadfastSimulator, start_response) -> list[bytes]:
    rows = "".join(
        f"<tr><td>{p['id']}</td><td>{p['created_at']}</td><td>৳{p['amount']}</td>"
        f"<td>{', '.join(str(line['consignment_id']) for line in p['consignments'])}</td></tr>"
        for p in sim.payments.values()
    )
    body = (
        "<p><a href='/'>All parcels</a></p>"
        "<form method='post'><button>Pay out delivered parcels</button></form>"
        f"<table><tr><th>Payment</th><th>Date</th><th>Amount</th><th>Consignments</th></tr>"
        f"{rows}</table>"
    )
    return page(start_response, "Steadfast payouts", body)
