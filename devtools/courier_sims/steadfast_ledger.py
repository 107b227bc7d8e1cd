"""Money and returns of the Steadfast simulator (devtools/courier_sims/steadfast.py): the
balance, payouts of delivered parcels (`/payments`) and return requests."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENTS = Decimal("0.01")
PAYABLE = {"delivered", "partial_delivered"}


def money(value: Decimal) -> float:
    return float(Decimal(value).quantize(CENTS, rounding=ROUND_HALF_UP))


class LedgerMixin:
    """Needs the simulator's `parcels`, `payments`, `returns`, `lock`, `find`, `_payment_ids`,
    `_return_ids` and `now` (its clock)."""

    parcels: dict[int, dict]
    payments: dict[int, dict]
    returns: dict[int, dict]

    # --- money --------------------------------------------------------------------------

    @staticmethod
    def payable(parcel: dict) -> Decimal:
        collected = Decimal(str(parcel["collected"] or 0))
        cod_charge = (collected / 100).quantize(CENTS, rounding=ROUND_HALF_UP)
        return collected - Decimal(str(parcel["delivery_charge"])) - cod_charge

    def balance(self) -> Decimal:
        due = [p for p in self.parcels.values() if p["status"] in PAYABLE and not p["paid_in"]]
        return sum((self.payable(p) for p in due), Decimal("0"))

    def pay_out(self, adjust: dict[str, Any] | None = None) -> dict | None:
        """One payout of every delivered parcel not paid yet (None when there is none);
        `adjust` reports some lines' cash differently (consignment id -> amount)."""
        adjust = {str(k): v for k, v in (adjust or {}).items()}
        with self.lock:
            due = [p for p in self.parcels.values() if p["status"] in PAYABLE and not p["paid_in"]]
            if not due:
                return None
            payment_id = next(self._payment_ids)
            lines = []
            for parcel in due:
                parcel["paid_in"] = payment_id
                cash = Decimal(str(adjust.get(str(parcel["consignment_id"]), parcel["collected"])))
                lines.append(
                    {
                        "consignment_id": parcel["consignment_id"],
                        "invoice": parcel["invoice"],
                        "tracking_code": parcel["tracking_code"],
                        "cod_amount": money(cash),
                        "delivery_charge": parcel["delivery_charge"],
                        "cod_charge": money((cash / 100).quantize(CENTS)),
                        "payable": money(self.payable({**parcel, "collected": cash})),
                    }
                )
            payment = {
                "id": payment_id,
                "amount": money(sum((Decimal(str(line["payable"])) for line in lines), Decimal(0))),
                "status": "paid",
                "method": "bank",
                "consignment_count": len(lines),
                "created_at": self.now(),
                "consignments": lines,
            }
            self.payments[payment_id] = payment
        return payment

    # --- returns --------------------------------------------------------------------------

    def return_create(self, body: dict) -> tuple[int, dict]:
        parcel = None
        for by, key in (
            ("cid", "consignment_id"),
            ("invoice", "invoice"),
            ("trackingcode", "tracking_code"),
        ):
            if body.get(key) not in (None, ""):
                parcel = self.find(by, str(body[key]))
                break
        if parcel is None:
            return 422, {
                "status": 422,
                "message": "Consignment not found",
                "errors": {"consignment_id": ["The selected consignment is invalid."]},
            }
        with self.lock:
            request_id = next(self._return_ids)
            stamp = self.now()
            found = {
                "id": request_id,
                "consignment_id": parcel["consignment_id"],
                "reason": str(body.get("reason") or ""),
                "status": "pending",
                "created_at": stamp,
                "updated_at": stamp,
            }
            self.returns[request_id] = found
        return 200, found
