"""Spending points at checkout: priced by the quote (the same code placement charges), written
to the ledger in the placement's transaction under the account's lock, so two concurrent
placements cannot spend the same points."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from db.models import ZERO, LoyaltyAccount, Order, PointsKind
from lib import conf
from lib.errors import ApiError
from lib.loyalty.ledger import loyalty_account_lock, points_entry_add
from lib.money import quantize_bdt

FIELD = "redeem_points"  # the checkout body's field


@dataclass(frozen=True, slots=True)
class PointsRedemption:
    points: int
    amount: Decimal


NO_REDEMPTION = PointsRedemption(points=0, amount=ZERO)


def point_value() -> Decimal:
    return Decimal(conf.loyalty_config.point_value)


def points_worth(points: int) -> Decimal:
    return quantize_bdt(Decimal(max(points, 0)) * point_value())


def points_max_for(base: Decimal) -> int:
    """The most points an order whose item subtotal after discounts is `base` may use."""
    cap = Decimal(base) * conf.loyalty_config.redeem_max_percent / 100
    value = point_value()
    return max(math.floor(cap / value), 0) if value > 0 else 0


def points_balance(*, user_id: Any) -> int:
    balance = LoyaltyAccount.objects.filter(user_id=user_id).values_list("balance", flat=True)
    return int(balance.first() or 0)


def redemption_check(*, balance: int, points: int) -> None:
    """422 `points_below_minimum` or `points_insufficient` unless `balance` covers `points`."""
    minimum = conf.loyalty_config.redeem_min_balance
    if balance < minimum:
        raise ApiError(
            "points_below_minimum",
            status=422,
            fields={FIELD: [f"balance {balance}, minimum {minimum}"]},
        )
    if points > balance:
        raise ApiError("points_insufficient", status=422, fields={FIELD: [f"balance {balance}"]})


def points_redemption_price(*, user_id: Any, points: int, base: Decimal) -> PointsRedemption:
    """What `points` take off an order (`base`: its item subtotal after discounts). 401 for a
    guest; 422 `points_below_minimum`, `points_insufficient` or `points_over_limit`."""
    if points <= 0:
        return NO_REDEMPTION
    if not user_id:
        raise ApiError("points_sign_in_required", status=401)
    redemption_check(balance=points_balance(user_id=user_id), points=points)
    most = points_max_for(base)
    if points > most:
        raise ApiError("points_over_limit", status=422, fields={FIELD: [f"at most {most}"]})
    return PointsRedemption(points=points, amount=points_worth(points))


def order_points_redeem(*, order: Order, points: int) -> None:
    """The redemption's ledger entry (`redeem:order:<id>`), inside the placement, after its
    stock is allocated (rows are locked stock first, then the account, as status changes
    do). The quote read the balance unlocked: it is checked again under the account's lock,
    held until commit, so concurrent placements cannot spend the same points."""
    if points > 0 and order.user_id:
        account = loyalty_account_lock(user_id=order.user_id)
        redemption_check(balance=account.balance, points=points)
        points_entry_add(
            user_id=order.user_id,
            kind=PointsKind.REDEEM,
            points=-points,
            reference=f"redeem:order:{order.pk}",
            order_id=order.pk,
        )
