"""What the Pathao simulator serves besides parcels: its place lists, prices, the webhook
events with their panel labels, and its HTML pages."""

from __future__ import annotations

import html
from decimal import Decimal

# (city_id, city_name): Dhaka = 1 and Chittagong = 2 as in Pathao's samples; Pathao's list
# keeps the older spellings.
CITIES = [
    (1, "Dhaka"),
    (2, "Chittagong"),
    (3, "Gazipur"),
    (4, "Narayanganj"),
    (5, "Sylhet"),
    (6, "Rajshahi"),
    (7, "Khulna"),
    (8, "Barisal"),
    (9, "Rangpur"),
    (10, "Comilla"),
    (11, "Bogra"),
    (12, "Jessore"),
    (13, "Mymensingh"),
]
DHAKA_ZONES = ["Banani", "Gulshan", "Dhanmondi", "Mirpur", "Uttara", "Mohammadpur", "Motijheel"]


def zone_rows(city_id: int) -> list[dict]:
    names = DHAKA_ZONES if city_id == 1 else [f"{dict(CITIES)[city_id]} Sadar", "Other"]
    return [
        {"zone_id": city_id * 100 + index, "zone_name": name}
        for index, name in enumerate(names, start=1)
    ]


def area_rows(zone_id: int) -> list[dict]:
    # Area names carry the stray spaces Pathao's samples show (" Bonolota").
    return [
        {
            "area_id": zone_id * 100 + index,
            "area_name": f" {name}",
            "home_delivery_available": True,
            "pickup_available": index == 1,
        }
        for index, name in enumerate(("Block A", "Block B", "Bonolota"), start=1)
    ]


def price_plan(city_id: int, weight_kg: Decimal) -> dict:
    """Inside Dhaka 60 for the first kg, else 110; each further (started) kg 15 more."""
    base = Decimal(60) if city_id == 1 else Decimal(110)
    extra_kg = max(int((weight_kg - 1).to_integral_value(rounding="ROUND_CEILING")), 0)
    price = base + 15 * extra_kg
    return {
        "price": int(price),
        "discount": 0,
        "promo_discount": 0,
        "plan_id": 1 if city_id == 1 else 2,
        "cod_enabled": 1,
        "cod_percentage": 0.01,
        "additional_charge": 0,
        "final_price": int(price),
    }


# event slug -> (panel label, what polling then shows as order_status)
EVENTS: dict[str, tuple[str, str]] = {
    "order.created": ("Order Created", "Pending"),
    "order.updated": ("Order Updated", "Pending"),
    "order.pickup-requested": ("Pickup Requested", "Pickup Requested"),
    "order.assigned-for-pickup": ("Assigned For Pickup", "Assigned For Pickup"),
    "order.picked": ("Pickup", "Pickup"),
    "order.pickup-failed": ("Pickup Failed", "Pickup Failed"),
    "order.pickup-cancelled": ("Pickup Cancelled", "Pickup Cancelled"),
    "order.at-the-sorting-hub": ("At the Sorting Hub", "At the Sorting Hub"),
    "order.in-transit": ("In Transit", "In Transit"),
    "order.received-at-last-mile-hub": ("Received at Last Mile Hub", "Received at Last Mile Hub"),
    "order.assigned-for-delivery": ("Assigned for Delivery", "Assigned for Delivery"),
    "order.delivered": ("Delivered", "Delivered"),
    "order.partial-delivery": ("Partial Delivery", "Partial Delivery"),
    "order.returned": ("Return", "Return"),
    "order.delivery-failed": ("Delivery Failed", "Delivery Failed"),
    "order.on-hold": ("On Hold", "On Hold"),
    "order.paid": ("Payment Invoice", "Payment Invoice"),
    "order.paid-return": ("Paid Return", "Paid Return"),
    "order.exchanged": ("Exchange", "Exchange"),
    "order.return-id-created": ("Return ID Created", "Return"),
    "order.return-in-transit": ("Return In Transit", "Return"),
    "order.returned-to-merchant": ("Returned to Merchant", "Returned to Merchant"),
}
FEE_EVENTS = {"order.created", "order.updated", "order.pickup-requested"}
CASH_EVENTS = {"order.delivered", "order.partial-delivery", "order.paid-return", "order.exchanged"}
REASON_EVENTS = {
    "order.partial-delivery",
    "order.returned",
    "order.delivery-failed",
    "order.on-hold",
    "order.paid-return",
    "order.exchanged",
}

STYLE = (
    "body{font-family:sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}"
    "h1{color:#e21b23}table{border-collapse:collapse;width:100%}"
    "td,th{border-bottom:1px solid #ddd;padding:.3rem;text-align:left}"
    "form{display:inline}button{margin:.15rem}"
)


def page(title: str, body: str) -> bytes:
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}'
        f"</title><style>{STYLE}</style></head><body>{body}</body></html>"
    ).encode()


def list_page(parcels: list[dict]) -> bytes:
    rows = "".join(
        f'<tr><td><a href="/parcels/{html.escape(p["consignment_id"])}">'
        f"{html.escape(p['consignment_id'])}</a></td>"
        f"<td>{html.escape(p['merchant_order_id'])}</td>"
        f"<td>{html.escape(p['recipient_name'])}</td>"
        f"<td>৳{p['amount_to_collect']}</td><td>{html.escape(p['order_status'])}</td></tr>"
        for p in parcels
    )
    return page(
        "Pathao (simulator)",
        "<h1>Pathao Courier (simulator)</h1><table><tr><th>Consignment</th><th>Order</th>"
        f"<th>Recipient</th><th>COD</th><th>Status</th></tr>{rows}</table>",
    )


def parcel_page(parcel: dict, deliveries: list[dict]) -> bytes:
    buttons = "".join(
        f'<form method="post"><button name="event" value="{slug}">{html.escape(label)}'
        "</button></form>"
        for slug, (label, _status) in EVENTS.items()
    )
    sent = "".join(
        f"<li>{html.escape(d['event'])}: HTTP {d['status']} "
        f"{'accepted' if d['accepted'] else 'NOT accepted: ' + html.escape(d['problem'])}</li>"
        for d in deliveries
    )
    return page(
        f"Pathao {parcel['consignment_id']}",
        f'<p><a href="/">All parcels</a></p><h1>Consignment {html.escape(parcel["consignment_id"])}'
        f"</h1><p>Order {html.escape(parcel['merchant_order_id'])} for "
        f"{html.escape(parcel['recipient_name'])}, {html.escape(parcel['recipient_phone'])}<br>"
        f"{html.escape(parcel['recipient_address'])}</p><p>Cash to collect "
        f"<strong>৳{parcel['amount_to_collect']}</strong>, delivery fee ৳{parcel['delivery_fee']}"
        f"</p><p>Status <strong>{html.escape(parcel['order_status'])}</strong></p>"
        f"<h2>Send a webhook</h2>{buttons}<h2>Webhooks sent</h2><ul>{sent}</ul>",
    )
