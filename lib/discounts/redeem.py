"""Counting discount use when an order is placed, inside the placement's transaction.

The discounts are locked in primary-key order (concurrent placements queue instead of
deadlocking), their limits are checked again, `times_used` goes up by one with an F()
expression and a `DiscountRedemption` row records the use. A retried placement of the same
order counts once: a discount already redeemed by the order is skipped. When a limit has been
reached meanwhile, a 409 with the reason (`coupon_used_up`, `coupon_customer_limit`,
`coupon_invalid` for a discount switched off) is raised and the caller rolls back.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from django.db.models import Count, F

from db.models import Discount, DiscountRedemption
from lib.discounts.apply import AppliedDiscount
from lib.errors import Conflict


def redeem_problem(discount: Discount, customer_uses: int) -> str | None:
    """Why `discount` (locked) can no longer be redeemed, as a message code, or None."""
    if not discount.is_active:
        return "coupon_invalid"
    if discount.usage_limit is not None and discount.times_used >= discount.usage_limit:
        return "coupon_used_up"
    limit = discount.usage_limit_per_customer
    if limit is not None and customer_uses >= limit:
        return "coupon_customer_limit"
    return None


def discounts_redeem(
    *,
    order,
    applied: Sequence[AppliedDiscount],
    customer_key: str | None,
    user_id: UUID | str | None,
) -> None:
    amounts = {item.discount_id: item.amount for item in applied}
    if not amounts:
        return
    locked = list(Discount.objects.select_for_update().filter(pk__in=list(amounts)).order_by("pk"))
    done = set(
        DiscountRedemption.objects.filter(order=order, discount_id__in=list(amounts)).values_list(
            "discount_id", flat=True
        )
    )
    fresh = [discount for discount in locked if discount.pk not in done]
    if not fresh:
        return
    customer_uses: dict[UUID, int] = {}
    if customer_key and any(d.usage_limit_per_customer is not None for d in fresh):
        customer_uses = dict(
            DiscountRedemption.objects.filter(discount__in=fresh, customer_key=customer_key)
            .values_list("discount_id")
            .annotate(n=Count("pk"))
        )
    for discount in fresh:
        reason = redeem_problem(discount, customer_uses.get(discount.pk, 0))
        if reason is not None:
            label = discount.code or discount.name
            raise Conflict(reason, fields={"coupon_codes": [f"{label}: {reason}"]})
    Discount.objects.filter(pk__in=[d.pk for d in fresh]).update(times_used=F("times_used") + 1)
    DiscountRedemption.objects.bulk_create(
        [
            DiscountRedemption(
                discount=discount,
                order=order,
                user_id=user_id,
                customer_key=customer_key or "",
                amount=amounts[discount.pk],
            )
            for discount in fresh
        ],
        ignore_conflicts=True,
    )
