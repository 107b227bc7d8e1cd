"""Placing an order: one transaction that re-prices, screens, allocates and records.

`order_place` re-runs the quote (`quote_compute`, the same code the customer was shown),
refuses a changed total (409 `price_changed`), screens for fraud, allocates stock (409
`out_of_stock`; never oversold), writes the order, its lines and its first status event,
redeems discounts, queues the "order placed" email and clears the cart on commit.

Idempotency: `orders.idempotency_key` is unique. A retry with the same key and body returns
the order already placed (`replayed=True`, nothing written); the same key with another body
is 409 `idempotency_key_reused`. Concurrent retries race on the unique index: the loser's
transaction rolls back whole and it returns the winner's order.
The number of queries does not depend on the number of lines.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from db.models import Address, Order, OrderItem, OrderStatus, OrderStatusEvent
from lib.checkout.pricing import OUT_OF_STOCK, UNAVAILABLE, VARIATION_REQUIRED, PricedLine
from lib.checkout.quote import Quote, quote_compute
from lib.conf import checkout_config
from lib.errors import ApiError, Conflict, NotFound
from lib.kv import get_kv
from lib.loyalty.redeem import order_points_redeem
from lib.orders.hooks import order_placed_hooks_run
from lib.orders.notifications import order_notify, order_placed_notify
from lib.orders.numbers import order_number_next, order_number_resync
from lib.orders.stock import order_stock_allocate
from lib.site.selectors import checkout_settings

IDEMPOTENCY_TTL = 7 * 24 * 3600
FINGERPRINT_KEY = "orders:idem:{key}"


@dataclass
class PlaceRequest:
    lines: list[Any]  # CartLine
    address: Any  # ValidAddress
    address_id: Any = None
    codes: list[str] = field(default_factory=list)
    payment_method: str = "cod"
    user_id: str | None = None
    email: str = ""
    guest_email: str = ""
    guest_phone: str = ""
    ip: str | None = None
    device_id: str = ""
    expected_total: Decimal | None = None
    idempotency_key: str = ""
    fingerprint: str = ""
    cart_key: str | None = None
    language: str = "en"
    phone_verification: str = ""  # a signed proof of the order's phone (guest checkout)
    redeem_points: int = 0  # loyalty points to spend (signed in)
    ref: str = ""  # a referral or affiliate code the customer came with
    ref_seen_at: datetime | None = None  # when the storefront first saw `ref`


@dataclass
class Placed:
    order: Order
    replayed: bool


def fingerprint_of(body: dict[str, Any], *, user_id: str | None) -> str:
    raw = json.dumps({"body": body, "user": user_id}, sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def customer_key_of(request: PlaceRequest) -> str | None:
    if request.user_id:
        return f"user:{request.user_id}"
    if request.guest_phone:
        return f"phone:{request.guest_phone}"
    return f"email:{request.guest_email.lower()}" if request.guest_email else None


def quote_for(request: PlaceRequest) -> Quote:
    return quote_compute(
        lines=request.lines,
        district_id=request.address.district_id,
        codes=request.codes,
        payment_method=request.payment_method,
        customer_key=customer_key_of(request),
        redeem_points=request.redeem_points,
        user_id=request.user_id,
    )


def existing_order(request: PlaceRequest) -> Order | None:
    """The order already placed with this key, or 409 if it was placed with another body."""
    order = Order.objects.filter(idempotency_key=request.idempotency_key).first()
    if order is None:
        return None
    stored = get_kv().get(FINGERPRINT_KEY.format(key=request.idempotency_key))
    same_owner = str(order.user_id or "") == str(request.user_id or "")
    if not same_owner or (stored is not None and stored != request.fingerprint):
        raise Conflict("idempotency_key_reused")
    return order


def order_place(request: PlaceRequest) -> Placed:
    order = existing_order(request)
    if order is not None:
        return Placed(order, replayed=True)
    for attempt in range(3):
        try:
            return Placed(order_place_once(request), replayed=False)
        except IntegrityError:
            order = existing_order(request)
            if order is not None:
                return Placed(order, replayed=True)
            if attempt == 2:
                raise
            order_number_resync()  # the KV counter was reset: move it past the database
    raise AssertionError("unreachable")


def lines_refuse_unsellable(lines: list[PricedLine]) -> None:
    """Refuse the order if any line cannot be sold as asked: 422 `variation_required` or
    `product_unavailable`, 409 `out_of_stock` (never charge for fewer lines than placed)."""
    by_problem: dict[str, list[PricedLine]] = {}
    for line in lines:
        if line.problem:
            by_problem.setdefault(line.problem, []).append(line)
    if missing := by_problem.get(VARIATION_REQUIRED):
        skus = sorted(line.sku for line in missing)
        choose = [f"Choose a variation of {sku}." for sku in skus]
        raise ApiError(
            "variation_required", status=422, fields={"sku": skus, "variation_id": choose}
        )
    if gone := by_problem.get(UNAVAILABLE):
        raise ApiError(
            "product_unavailable", status=422, fields={"sku": sorted(line.sku for line in gone)}
        )
    if short := by_problem.get(OUT_OF_STOCK):
        counts = {
            line.sku: [f"{line.quantity} requested, {line.available} available."] for line in short
        }
        raise Conflict("out_of_stock", fields={"sku": sorted(counts), **counts})


def status_of(payment_method: str, hold: bool) -> str:
    if hold:
        return OrderStatus.ON_HOLD
    return OrderStatus.PLACED if payment_method == "cod" else OrderStatus.AWAITING_PAYMENT


def order_phone_verified(request: PlaceRequest) -> str:
    """The order's phone when `phone_verification` proves it, else ""; 422
    `phone_verification_invalid` for a forged or expired proof or one of another number."""
    if not request.phone_verification:
        return ""
    from lib.access.phone_sign_in import phone_verification_check

    phone = request.guest_phone or request.address.phone
    language = "bn" if request.language == "bn" else "en"
    phone_verification_check(token=request.phone_verification, phone=phone, language=language)
    return phone


def cod_allowed(total: Decimal) -> None:
    """422 `cod_unavailable` while the store has cash on delivery off, `cod_limit` above its
    limit (`lib.site.selectors.checkout_settings`)."""
    charges = checkout_settings()
    if not charges.cod_enabled:
        raise ApiError("cod_unavailable", status=422, fields={"payment_method": ["cod"]})
    if total > charges.cod_max_total:
        raise ApiError("cod_limit", status=422, fields={"total": [str(total)]})


def order_place_once(request: PlaceRequest) -> Order:
    from lib.discounts import discounts_redeem
    from lib.orders.fraud import FraudSignals, fraud_record, fraud_screen

    verified_phone = order_phone_verified(request)
    with transaction.atomic():
        quote = quote_for(request)
        lines_refuse_unsellable(quote.lines)
        if request.expected_total is not None and request.expected_total != quote.total:
            raise Conflict(
                "price_changed", fields={"total": [str(quote.total)], "quote": quote.out()}
            )
        if request.payment_method == "cod":
            cod_allowed(quote.total)
        customer = Order.objects.filter(
            **(
                {"user_id": request.user_id}
                if request.user_id
                else {"guest_phone": request.guest_phone}
            )
        )
        signals = FraudSignals(
            user_id=request.user_id,
            phone=request.address.phone or request.guest_phone,
            email=request.email or request.guest_email,
            ip=request.ip,
            device_id=request.device_id,
            total=quote.total,
            payment_method=request.payment_method,
            district_id=request.address.district_id,
            is_new_customer=not customer.exists(),
            phone_verified=bool(verified_phone),
        )
        verdict = fraud_screen(signals=signals)
        status = status_of(request.payment_method, verdict.hold)
        now = timezone.now()
        order = Order(
            number=order_number_next(),
            user_id=request.user_id,
            guest_email=request.guest_email,
            guest_phone=request.guest_phone,
            status=status,
            payment_method=request.payment_method,
            subtotal=quote.subtotal,
            discount_total=quote.discount_total,
            shipping_total=quote.shipping_total,
            cod_fee=quote.cod_fee,
            total_amount=quote.total,
            shipping_address_id=request.address_id,
            shipping_snapshot=(
                {**request.address.snapshot(), "verified_phone": verified_phone}
                if verified_phone
                else request.address.snapshot()
            ),
            idempotency_key=request.idempotency_key,
            placed_at=now,
            payment_due_at=(
                now + timedelta(minutes=checkout_config.payment_timeout_minutes)
                if status == OrderStatus.AWAITING_PAYMENT
                else None
            ),
            delivery_estimate=quote.delivery_estimate(),
            fraud_score=verdict.score,
            fraud_reasons=list(verdict.reasons),
            client_ip=request.ip or None,
            device_id=request.device_id[:64],
        )
        order.save(force_insert=True)
        # The key's unique index is ours until commit (a concurrent retry waits on it), so
        # the body's fingerprint can be recorded now; if this rolls back, the next placement
        # with the key overwrites it.
        get_kv().set(
            FINGERPRINT_KEY.format(key=request.idempotency_key),
            request.fingerprint,
            ex=IDEMPOTENCY_TTL,
        )
        # Locks the stock rows until commit: everything slow (KV round trips, the fraud
        # screen) comes before.
        order_stock_allocate(lines=quote.lines)
        OrderItem.objects.bulk_create(
            [
                OrderItem(
                    order=order,
                    product=line.product,
                    variation=line.variation,
                    vendor_id=line.vendor_id,
                    product_name=line.product.name_en,
                    product_name_bn=line.product.name_bn,
                    sku=line.sku,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    total_price=line.line_total,
                )
                for line in quote.lines
            ]
        )
        event = OrderStatusEvent.objects.create(order=order, from_status="", to_status=status)
        if quote.applied:
            discounts_redeem(
                order=order,
                applied=quote.applied,
                customer_key=customer_key_of(request),
                user_id=request.user_id,
            )
        order_points_redeem(order=order, points=quote.points_redeemed)
        fraud_record(order=order, result=verdict)
        order_placed_hooks_run(order, request)
        placed_email(order, request)
        order_notify(order, event, channels=("sms",))  # the email is placed_email's
        if request.cart_key:
            cart = request.cart_key
            transaction.on_commit(lambda: cart_clear_quietly(cart))
    return order


def cart_clear_quietly(key: str) -> None:
    from lib.cart.store import cart_clear

    cart_clear(key=key)


def placed_email(order: Order, request: PlaceRequest) -> None:
    """The order-placed news: email (guests in the checkout's language), feed entry, push."""
    order_placed_notify(order, language=request.language)


def saved_address(*, user_id: str, address_id: Any = None) -> Address:
    """The customer's address `address_id`, or their default (else latest) one."""
    rows = Address.objects.filter(user_id=user_id)
    address = (
        rows.filter(pk=address_id).first()
        if address_id
        else rows.order_by("-is_default", "-created_at").first()
    )
    if address is None:
        raise (
            NotFound(fields={"address_id": [str(address_id or "")]})
            if address_id
            else ApiError("address_required", status=422)
        )
    return address


def address_of_saved(address: Address) -> Any:
    from lib.checkout.addresses import AddressInput, address_validate

    data = AddressInput(
        full_name=address.full_name,
        phone=address.phone,
        address_line1=address.address_line1,
        address_line2=address.address_line2,
        division=address.division,
        district=address.city,
        area=address.area,
        postal_code=address.postal_code,
    )
    return address_validate(data=data)


def order_timeouts_sweep(*, batch: int = 200) -> dict[str, int]:
    """Cancel wallet orders whose payment did not arrive in time, releasing their stock
    (`order_transition`). Safe to run twice: an order already moved on is skipped."""
    from lib.orders.state import order_transition

    due = list(
        Order.objects.filter(
            status=OrderStatus.AWAITING_PAYMENT, payment_due_at__lte=timezone.now()
        ).order_by("payment_due_at")[:batch]
    )
    cancelled = 0
    for order in due:
        try:
            order_transition(order=order, to_status=OrderStatus.CANCELLED, note="payment timeout")
            cancelled += 1
        except Conflict:
            continue
    return {"cancelled": cancelled}
