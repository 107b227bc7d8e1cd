"""Fraud review: /api/v1/admin/fraud (orders held at placement, and the staff decision).

Staff holding `orders:manage`, through a key with the `orders:manage` scope, list held orders
with their screening and approve (back to `placed` for cash on delivery, `awaiting_payment` for
wallets and cards) or reject (cancelled, stock released). Each decision is an audit row.
"""

from datetime import datetime
from uuid import UUID

from lib.runtime import make_app

from ninja import Field, Query, Router, Schema

from lib.access.permissions import Require
from lib.money import Money
from lib.orders import fraud_review
from lib.orders.fraud import reasons_labelled
from lib.pagination import PageParams, paginate
from lib.schemas import ErrorOut, InputSchema

router = Router(tags=["admin: fraud"])
ACCESS = Require("orders:manage", scope="orders:manage")


class ReasonOut(Schema):
    code: str
    label_en: str
    label_bn: str


class FraudReviewOut(Schema):
    id: UUID
    decision: str
    score: int
    reasons: list[ReasonOut]
    decided_by_id: UUID | None
    decided_by_email: str | None
    note: str
    created_at: datetime

    @staticmethod
    def resolve_reasons(review) -> list[dict[str, str]]:
        return reasons_labelled(list(review.reasons or []))

    @staticmethod
    def resolve_decided_by_email(review) -> str | None:
        return review.decided_by.email if review.decided_by else None


class HeldOrderOut(Schema):
    number: str
    status: str
    payment_method: str
    payment_status: str
    total_amount: Money
    currency: str
    customer_id: UUID | None = Field(None, alias="user_id")
    customer_email: str
    customer_phone: str
    client_ip: str | None
    device_id: str
    placed_at: datetime
    fraud_score: int
    fraud_reasons: list[ReasonOut]
    reviews: list[FraudReviewOut]

    @staticmethod
    def resolve_customer_email(order) -> str:
        return (order.user.email or "") if order.user else order.guest_email

    @staticmethod
    def resolve_customer_phone(order) -> str:
        snapshot = order.shipping_snapshot or {}
        return order.guest_phone or str(snapshot.get("phone", ""))

    @staticmethod
    def resolve_fraud_reasons(order) -> list[dict[str, str]]:
        return reasons_labelled(list(order.fraud_reasons or []))

    @staticmethod
    def resolve_reviews(order) -> list:
        return list(order.fraud_reviews.all())


class HeldPageOut(Schema):
    items: list[HeldOrderOut]
    count: int
    page: int
    page_size: int
    pages: int


class DecisionIn(InputSchema):
    note: str = Field("", max_length=2000)


@router.get("", response=HeldPageOut, auth=ACCESS)
def list_held(request, query: Query[PageParams]):
    """Orders held for fraud review, oldest first."""
    return paginate(fraud_review.fraud_held_orders(), query)


@router.get("/{number}", response=HeldOrderOut, auth=ACCESS)
def get_order(request, number: str):
    """One held order with its fraud score and reasons."""
    return fraud_review.fraud_order_get(number)


@router.post("/{number}/approve", response={200: HeldOrderOut, 409: ErrorOut}, auth=ACCESS)
def approve(request, number: str, payload: DecisionIn | None = None):
    """Release a held order (409 `fraud_not_on_hold` when it is not held)."""
    note = payload.note if payload else ""
    return fraud_review.fraud_approve(number=number, actor_id=request.auth.user_id, note=note)


@router.post("/{number}/reject", response={200: HeldOrderOut, 409: ErrorOut}, auth=ACCESS)
def reject(request, number: str, payload: DecisionIn | None = None):
    """Reject a held order: it is cancelled (409 `fraud_not_on_hold` when it is not held)."""
    note = payload.note if payload else ""
    return fraud_review.fraud_reject(number=number, actor_id=request.auth.user_id, note=note)


app = make_app("fraud", [("/admin/fraud", router)], title="Zest Store fraud review")
