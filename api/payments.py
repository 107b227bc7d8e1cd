"""Online payments: start one for an order awaiting payment, see its status; staff refunds
and cash-on-delivery collection. /api/v1/payments/... and /api/v1/admin/payments/...

Provider callbacks do not come here: each provider has its own function at
/api/webhooks/<provider>.
"""

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from lib.runtime import make_app

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from db.models import Order, Payment, PaymentEvent, Refund
from lib.access.context import get_access
from lib.access.permissions import Require
from lib.errors import NotFound
from lib.money import Money
from lib.orders import selectors
from lib.payments import refunds, services, starts
from lib.payments import selectors as payment_selectors
from lib.schemas import ErrorOut, IdempotencyKey, InputSchema

public = Router(tags=["payments"], auth=Require(scope="storefront:write", user=False))
admin = Router(tags=["admin: payments"], auth=Require("orders:manage", scope="orders:manage"))


class StartIn(InputSchema):
    phone: str = Field("", max_length=32, description="Guests: the phone the order was placed with")


class StartOut(Schema):
    payment_id: UUID
    redirect_url: str
    provider: str
    amount: Money
    status: str


class PaymentOut(Schema):
    id: UUID
    provider: str
    amount: Money
    status: str
    created_at: datetime


class OrderPaymentsOut(Schema):
    order_number: str
    order_status: str
    payment_method: str
    payment_status: str
    payments: list[PaymentOut]


class EventOut(Schema):
    event_type: str
    provider_reference: str
    amount: Money
    created_at: datetime
    payload: dict[str, Any]


class RefundOut(Schema):
    id: UUID
    amount: Money
    status: str = Field(
        ..., description="requested, pending (provider not sure yet), refunded, failed"
    )
    provider_refund_id: str
    reason: str
    created_at: datetime


class AdminPaymentOut(PaymentOut):
    order_number: str
    transaction_id: str
    captured: Money
    refunded: Money
    events: list[EventOut]
    refunds: list[RefundOut]
    needs_refund: Money = Field(
        ..., description="What the order holds beyond its total (two captures): to refund"
    )


class OverpaidOrderOut(Schema):
    order_number: str
    total_amount: Money
    kept: Money = Field(..., description="Captured minus refunded over its payments")
    needs_refund: Money
    payment_ids: list[UUID]


class RefundResolveIn(InputSchema):
    outcome: Literal["refunded", "failed"] = Field(
        ..., description="What the provider's merchant panel shows for this refund"
    )
    note: str = Field("", max_length=1000)


class RefundIn(InputSchema):
    amount: Decimal = Field(..., gt=0, max_digits=12, decimal_places=2)
    reason: str = Field("", max_length=255)


def order_for_payer(request: HttpRequest, number: str, phone: str) -> Order:
    """The signed-in owner's order, or (guests) the order matching number and phone; 404
    for any mismatch."""
    claims = get_access(request).claims
    if claims is not None:
        order = Order.objects.filter(number=number, user_id=claims.user_id).first()
        if order is not None:
            return order
    if phone:
        return selectors.order_track(number=number, phone=phone)
    raise NotFound()


def payment_out(payment: Payment) -> dict[str, Any]:
    return {
        "id": payment.pk,
        "provider": payment.provider,
        "amount": payment.amount,
        "status": payment.status,
        "created_at": payment.created_at,
    }


def admin_payment_out(payment: Payment) -> dict[str, Any]:
    captured, refunded = services.payment_totals(payment)
    events = PaymentEvent.objects.filter(payment=payment).order_by("created_at")
    return {
        **payment_out(payment),
        "order_number": payment.order.number,
        "transaction_id": payment.transaction_id,
        "captured": captured,
        "refunded": refunded,
        "refunds": list(Refund.objects.filter(payment=payment).order_by("created_at")),
        "needs_refund": payment_selectors.order_overpaid(payment.order),
        "events": [
            {
                "event_type": e.event_type,
                "provider_reference": e.provider_reference,
                "amount": e.amount,
                "created_at": e.created_at,
                "payload": e.payload,
            }
            for e in events
        ],
    }


@public.post("/{order_number}/start", response={200: StartOut, 409: ErrorOut})
def start_payment(
    request, order_number: str, idempotency_key: IdempotencyKey, payload: StartIn | None = None
):
    """Start paying an order awaiting payment with its wallet method. `Idempotency-Key`
    (8-128 characters) required: a retry returns the same payment and redirect, and the
    provider is called once."""
    order = order_for_payer(request, order_number, payload.phone if payload else "")
    outcome = starts.payment_start(order=order, idempotency_key=idempotency_key)
    payment = outcome.payment
    return {
        "payment_id": payment.pk,
        "redirect_url": outcome.redirect_url,
        "provider": payment.provider,
        "amount": payment.amount,
        "status": payment.status,
    }


@public.get("/{order_number}", response=OrderPaymentsOut)
def payment_status(request, order_number: str, phone: str = ""):
    """An order's payment status and its payment attempts (owner, or guests with `phone`)."""
    order = order_for_payer(request, order_number, phone)
    return {
        "order_number": order.number,
        "order_status": order.status,
        "payment_method": order.payment_method,
        "payment_status": order.payment_status,
        "payments": [payment_out(p) for p in order.payments.order_by("-created_at")],
    }


@admin.post("/cod/{order_number}", response=AdminPaymentOut)
def cod_paid(request, order_number: str):
    """Record the cash collected for a cash-on-delivery order (repeats change nothing)."""
    order = Order.objects.filter(number=order_number).first()
    if order is None:
        raise NotFound()
    payment = refunds.cod_mark_paid(order=order, actor_id=request.auth.user_id)
    return admin_payment_out(Payment.objects.select_related("order").get(pk=payment.pk))


@admin.get("/overpaid", response=list[OverpaidOrderOut])
def overpaid_orders(request):
    """Orders holding more than their total (a second capture happened at the provider):
    refund `needs_refund` of one of their payments."""
    return [
        {
            "order_number": order.number,
            "total_amount": order.total_amount,
            "kept": order.kept,
            "needs_refund": order.overpaid,
            "payment_ids": [p.pk for p in order.payments.all()],
        }
        for order in payment_selectors.orders_overpaid().prefetch_related("payments")[:200]
    ]


@admin.get("/{payment_id}", response=AdminPaymentOut)
def admin_payment(request, payment_id: UUID):
    """One payment with its event log (secrets redacted) and derived totals."""
    payment = Payment.objects.select_related("order").filter(pk=payment_id).first()
    if payment is None:
        raise NotFound()
    return admin_payment_out(payment)


@admin.post(
    "/{payment_id}/refund",
    response={200: AdminPaymentOut, 202: AdminPaymentOut, 409: ErrorOut},
)
def refund_payment(request, payment_id: UUID, payload: RefundIn, idempotency_key: IdempotencyKey):
    """Refund part or all of a payment, at most what was captured minus what was refunded
    or is pending (409 `refund_exceeds_captured`). `Idempotency-Key` (8-128 characters)
    required: a retry answers the same refund and never sends a second one. 200 once the
    provider confirmed it; 202 while it is pending (the provider did not answer in time or
    has not confirmed yet: it is asked again on a retry and by the reconciliation cron);
    409 `refund_refused` when the provider refused it, `refund_pending` while another refund
    of the payment waits for its provider."""
    payment = Payment.objects.filter(pk=payment_id).first()
    if payment is None:
        raise NotFound()
    outcome = refunds.payment_refund(
        payment=payment,
        amount=payload.amount,
        reason=payload.reason,
        actor_id=request.auth.user_id,
        idempotency_key=idempotency_key,
    )
    body = admin_payment_out(Payment.objects.select_related("order").get(pk=outcome.payment.pk))
    return Status(200 if outcome.refund.status == "refunded" else 202, body)


@admin.post("/{payment_id}/refunds/{refund_id}/resolve", response=AdminPaymentOut)
def resolve_refund(request, payment_id: UUID, refund_id: UUID, payload: RefundResolveIn):
    """Settle a refund that stays pending because its provider cannot tell us its outcome
    (checked in the provider's merchant panel). The provider is asked once more first; 409
    `refund_not_pending` once the refund is settled."""
    refund = Refund.objects.filter(pk=refund_id, payment_id=payment_id).first()
    if refund is None:
        raise NotFound()
    outcome = refunds.refund_resolve(
        refund=refund, outcome=payload.outcome, note=payload.note, actor_id=request.auth.user_id
    )
    return admin_payment_out(Payment.objects.select_related("order").get(pk=outcome.payment.pk))


app = make_app(
    "payments",
    [("/payments", public), ("/admin/payments", admin)],
    title="Zest Store payments",
)
