"""The RedX simulator's seed data (areas, the pickup store, status messages) and its HTML pages."""

from __future__ import annotations

import html
from urllib.parse import quote

# (id, name, post_code, district, division_name, zone_id): English names as RedX lists them.
# zone 1 = Dhaka city, 2 = Dhaka suburbs, 3 = outside Dhaka (prices in `CHARGES`).
AREAS: tuple[tuple[int, str, str, str, str, int], ...] = (
    (1, "Mirpur 10", "1216", "Dhaka", "Dhaka", 1),
    (2, "Dhanmondi", "1209", "Dhaka", "Dhaka", 1),
    (3, "Gulshan 1", "1212", "Dhaka", "Dhaka", 1),
    (4, "Mohammadpur", "1207", "Dhaka", "Dhaka", 1),
    (5, "Uttara Sector 7", "1230", "Dhaka", "Dhaka", 1),
    (6, "Motijheel", "1000", "Dhaka", "Dhaka", 1),
    (7, "Savar", "1340", "Dhaka", "Dhaka", 2),
    (8, "Keraniganj", "1310", "Dhaka", "Dhaka", 2),
    (9, "Dhamrai", "1350", "Dhaka", "Dhaka", 2),
    (10, "Tongi", "1710", "Gazipur", "Dhaka", 2),
    (11, "Gazipur Sadar", "1700", "Gazipur", "Dhaka", 2),
    (12, "Narayanganj Sadar", "1400", "Narayanganj", "Dhaka", 2),
    (13, "Agrabad", "4100", "Chattogram", "Chattogram", 3),
    (14, "Halishahar", "4216", "Chattogram", "Chattogram", 3),
    (15, "Pahartali", "4202", "Chattogram", "Chattogram", 3),
    (16, "Hathazari", "4330", "Chattogram", "Chattogram", 3),
    (17, "Patiya", "4370", "Chattogram", "Chattogram", 3),
    (18, "Zindabazar", "3100", "Sylhet", "Sylhet", 3),
    (19, "Sylhet Sadar", "3100", "Sylhet", "Sylhet", 3),
    (20, "Comilla Sadar", "3500", "Cumilla", "Chattogram", 3),
    (21, "Boalia", "6000", "Rajshahi", "Rajshahi", 3),
    (22, "Khulna Sadar", "9100", "Khulna", "Khulna", 3),
    (23, "Bogra Sadar", "5800", "Bogura", "Rajshahi", 3),
)
# zone_id -> (BDT for the first kilogram, BDT per further kilogram started)
CHARGES = {1: (60, 15), 2: (80, 20), 3: (120, 25)}
COD_PERCENT = 1
PICKUP_STORE = {
    "id": 7401,
    "name": "Zest Store Warehouse",
    "address": "House 12, Road 5, Mirpur 10, Dhaka",
    "area_name": "Mirpur 10",
    "area_id": 1,
    "phone": "01700000000",
    "created_at": "2026-01-05T10:00:00.000Z",
}

# status -> (message_en, message_bn) as RedX words its tracking lines
MESSAGES: dict[str, tuple[str, str]] = {
    "pickup-pending": (
        "Parcel is created and waiting for pickup",
        "পার্সেলটি তৈরি হয়েছে, পিকআপের অপেক্ষায়",
    ),
    "ready-for-delivery": (
        "Parcel is picked up and ready for delivery",
        "পার্সেলটি পিকআপ হয়েছে, ডেলিভারির জন্য প্রস্তুত",
    ),
    "agent-area-change": (
        "Parcel is moving to the delivery area",
        "পার্সেলটি ডেলিভারি এলাকায় যাচ্ছে",
    ),
    "delivery-in-progress": ("Parcel is out for delivery", "পার্সেলটি ডেলিভারির পথে"),
    "delivered": ("Parcel is delivered", "পার্সেলটি ডেলিভারি হয়েছে"),
    "agent-hold": ("Parcel is on hold", "পার্সেলটি হোল্ডে আছে"),
    "agent-returning": ("Parcel is returning to the merchant", "পার্সেলটি ফেরত যাচ্ছে"),
    "returned": ("Parcel is returned to the merchant", "পার্সেলটি ফেরত দেওয়া হয়েছে"),
    "cancelled": ("Parcel is cancelled", "পার্সেলটি বাতিল হয়েছে"),
}
# The buttons of a parcel's page: the documented webhook statuses.
WEBHOOK_STATUSES = (
    "ready-for-delivery",
    "agent-area-change",
    "delivery-in-progress",
    "delivered",
    "agent-hold",
    "agent-returning",
    "returned",
)

STYLE = (
    "body{font-family:sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem}"
    "h1{color:#e3272e}table{border-collapse:collapse;width:100%}"
    "td,th{border-bottom:1px solid #ddd;padding:.3rem;text-align:left}"
    "button{margin:.2rem}"
)


def page(title: str, body: str) -> bytes:
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{STYLE}</style></head><body><h1>RedX (simulator)</h1>{body}</body></html>"
    ).encode()


def list_page(parcels: list[dict], webhook_url: str) -> bytes:
    rows = "".join(
        f'<tr><td><a href="/parcels/{quote(p["tracking_id"])}">{html.escape(p["tracking_id"])}</a>'
        f"</td><td>{html.escape(p['merchant_invoice_id'])}</td>"
        f"<td>{html.escape(p['customer_name'])}</td><td>{html.escape(p['status'])}</td></tr>"
        for p in parcels
    )
    target = html.escape(webhook_url or "(none: moves send no webhook)")
    return page(
        "RedX parcels",
        f"<p>Webhooks go to {target}</p><table><tr><th>Tracking id</th><th>Invoice</th>"
        f"<th>Customer</th><th>Status</th></tr>{rows}</table>",
    )


def parcel_page(parcel: dict, tracking: list[dict], last_webhook: dict | None) -> bytes:
    buttons = "".join(
        f'<button name="status" value="{status}">{status}</button>' for status in WEBHOOK_STATUSES
    )
    lines = "".join(
        f"<li>{html.escape(line['time'])}: {html.escape(line['message_en'])}</li>"
        for line in tracking
    )
    sent = ""
    if last_webhook:
        sent = (
            f"<p>Last webhook: {html.escape(last_webhook['status'])} answered "
            f"{html.escape(str(last_webhook['reply_status']))}</p>"
        )
    return page(
        f"RedX parcel {parcel['tracking_id']}",
        f'<p><a href="/">All parcels</a></p><h2>{html.escape(parcel["tracking_id"])}</h2>'
        f"<p>Invoice {html.escape(parcel['merchant_invoice_id'])}, "
        f"{html.escape(parcel['customer_name'])}, {html.escape(parcel['customer_address'])}, "
        f"{html.escape(parcel['delivery_area'])}</p>"
        f"<p>Cash to collect ৳{html.escape(parcel['cash_collection_amount'])}, "
        f"charge ৳{html.escape(str(parcel['charge']))}</p>"
        f"<p>Status <strong>{html.escape(parcel['status'])}</strong></p>{sent}"
        f'<form method="post">{buttons}</form>'
        '<form method="post"><input name="status" placeholder="another status">'
        "<button>Send</button></form>"
        f"<h3>Tracking</h3><ul>{lines}</ul>",
    )
