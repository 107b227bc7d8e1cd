"""Which discounts a cart gets, and how much they take off.

One query reads the active discounts matching the given codes (case-insensitively) and the
active automatic promotions (code NULL), with their scopes and, for a known customer, how
often that customer has used each. Rules, per discount:

- window: `starts_at <= now < ends_at` (either may be open);
- scope: a discount with categories, products or vendors applies only to the lines whose
  product, the product's own category or its vendor is listed; its amount and `min_order`
  use those lines' subtotal;
- limits: `times_used < usage_limit`, and the customer's redemptions < the per-customer limit;
- kinds: percentage (capped by `max_discount`), fixed (never more than the eligible
  subtotal), free shipping (the whole shipping charge).

Stacking: at most one non-stackable discount (the best for the customer by amount, then by
priority) plus every stackable one; the items discount never exceeds the subtotal, nor the
shipping discount the shipping charge. Codes that cannot be used are reported in `errors`,
keyed by the code as entered, with the message codes of `lib.errors.MESSAGES`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db.models import CharField, Count, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce, Upper
from django.utils import timezone

from db.models import Discount, DiscountKind, DiscountRedemption
from lib.errors import translate
from lib.i18n import Language
from lib.money import quantize_bdt

ZERO = Decimal("0.00")
HUNDRED = Decimal(100)
MAX_CODES = 10


@dataclass(frozen=True)
class AppliedDiscount:
    discount_id: UUID
    code: str | None
    name: str
    amount: Decimal
    kind: str = DiscountKind.FIXED


@dataclass
class DiscountResult:
    items_discount: Decimal = ZERO
    shipping_discount: Decimal = ZERO
    applied: list[AppliedDiscount] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Candidate:
    discount: Discount
    entered: str | None  # the code as the customer typed it; None for a promotion
    amount: Decimal

    @property
    def rank(self) -> tuple[Decimal, int]:
        return (self.amount, self.discount.priority)


def normalize_codes(codes: Iterable[str]) -> dict[str, str]:
    """Upper-cased code -> the code as first entered; blanks and repeats dropped."""
    wanted: dict[str, str] = {}
    for raw in codes:
        code = (raw or "").strip()
        if code and code.upper() not in wanted and len(wanted) < MAX_CODES:
            wanted[code.upper()] = code
    return wanted


def discounts_fetch(*, codes: Iterable[str], customer_key: str | None) -> list[Discount]:
    """Active discounts with one of `codes`, plus active automatic promotions, each with its
    scope ids and the customer's use count: two queries (one when nothing matches)."""
    queryset = (
        Discount.objects.filter(is_active=True)
        .annotate(code_upper=Upper("code"))
        .filter(Q(code__isnull=True) | Q(code_upper__in=list(codes)))
    )
    if customer_key:
        uses = (
            DiscountRedemption.objects.filter(discount=OuterRef("pk"), customer_key=customer_key)
            .values("discount")
            .annotate(n=Count("pk"))
            .values("n")
        )
        queryset = queryset.annotate(
            customer_uses=Coalesce(Subquery(uses, output_field=IntegerField()), 0)
        )
    else:
        queryset = queryset.annotate(customer_uses=Value(0, output_field=IntegerField()))
    discounts = list(queryset.order_by("-priority", "created_at"))
    scopes_attach(discounts)
    return discounts


SCOPES = (("categories", "category_id"), ("products", "product_id"), ("vendors", "vendor_id"))


def scopes_attach(discounts: list[Discount]) -> None:
    """Set `scope_categories`, `scope_products` and `scope_vendors` (sets of ids) on each
    discount, reading the three link tables in one UNION query."""
    by_id = {discount.pk: discount for discount in discounts}
    for discount in discounts:
        for name, _column in SCOPES:
            setattr(discount, f"scope_{name}", set())
    if not by_id:
        return
    parts = [
        getattr(Discount, name)
        .through.objects.filter(discount_id__in=list(by_id))
        .annotate(scope=Value(name, output_field=CharField()))
        .values_list("discount_id", column, "scope")
        for name, column in SCOPES
    ]
    for discount_id, target_id, scope in parts[0].union(*parts[1:], all=True):
        getattr(by_id[discount_id], f"scope_{scope}").add(target_id)


def line_sellable(line: Any) -> bool:
    """Lines flagged by pricing (`problem`: unavailable, out of stock) take no discount."""
    return not getattr(line, "problem", "")


def line_product_id(line: Any) -> Any:
    product = line.product
    return getattr(product, "pk", product)


def eligible_subtotal(discount: Discount, lines: Sequence[Any]) -> Decimal:
    categories = discount.scope_categories
    products = discount.scope_products
    vendors = discount.scope_vendors
    scoped = bool(categories or products or vendors)
    total = ZERO
    for line in lines:
        if not line_sellable(line):
            continue
        if scoped and not (
            line_product_id(line) in products
            or line.category_id in categories
            or line.vendor_id in vendors
        ):
            continue
        total += Decimal(line.line_total)
    return quantize_bdt(total)


def discount_amount(discount: Discount, base: Decimal, shipping: Decimal) -> Decimal:
    if discount.kind == DiscountKind.FREE_SHIPPING:
        return quantize_bdt(shipping)
    if discount.kind == DiscountKind.PERCENTAGE:
        amount = quantize_bdt(base * Decimal(discount.value) / HUNDRED)
        if discount.max_discount is not None:
            amount = min(amount, quantize_bdt(discount.max_discount))
        return amount
    return min(quantize_bdt(discount.value), base)


def discount_problem(discount: Discount, *, now, base: Decimal) -> str | None:
    """The message code saying why `discount` cannot be used, or None."""
    if discount.starts_at is not None and now < discount.starts_at:
        return "coupon_not_started"
    if discount.ends_at is not None and now >= discount.ends_at:
        return "coupon_expired"
    if discount.usage_limit is not None and discount.times_used >= discount.usage_limit:
        return "coupon_used_up"
    limit = discount.usage_limit_per_customer
    if limit is not None and discount.customer_uses >= limit:
        return "coupon_customer_limit"
    if base <= ZERO:
        return "coupon_not_applicable"
    if base < discount.min_order:
        return "coupon_min_order"
    return None


def candidates_stack(candidates: list[Candidate]) -> tuple[list[Candidate], list[Candidate]]:
    """(chosen, left out): the best non-stackable discount plus every stackable one."""
    exclusive = sorted(
        (c for c in candidates if not c.discount.stackable), key=lambda c: c.rank, reverse=True
    )
    stackable = sorted(
        (c for c in candidates if c.discount.stackable), key=lambda c: c.rank, reverse=True
    )
    return exclusive[:1] + stackable, exclusive[1:]


def discounts_apply(
    *, lines: list[Any], shipping: Decimal, codes: list[str], customer_key: str | None
) -> DiscountResult:
    shipping = quantize_bdt(shipping or ZERO)
    wanted = normalize_codes(codes)
    result = DiscountResult()
    now = timezone.now()
    found: set[str] = set()
    candidates: list[Candidate] = []
    for discount in discounts_fetch(codes=wanted, customer_key=customer_key):
        entered = wanted.get(discount.code_upper) if discount.code else None
        if discount.code:
            found.add(discount.code_upper)
        base = eligible_subtotal(discount, lines)
        problem = discount_problem(discount, now=now, base=base)
        if problem is None:
            candidates.append(
                Candidate(discount, entered, discount_amount(discount, base, shipping))
            )
        elif entered is not None:
            result.errors[entered] = [problem]
    for upper, entered in wanted.items():
        if upper not in found:
            result.errors[entered] = ["coupon_invalid"]

    chosen, left_out = candidates_stack(candidates)
    for candidate in left_out:
        if candidate.entered is not None:
            result.errors[candidate.entered] = ["coupon_not_combinable"]
    subtotal = eligible_subtotal_all(lines)
    for candidate in chosen:
        discount = candidate.discount
        if discount.kind == DiscountKind.FREE_SHIPPING:
            amount = min(candidate.amount, shipping - result.shipping_discount)
            result.shipping_discount += amount
        else:
            amount = min(candidate.amount, subtotal - result.items_discount)
            result.items_discount += amount
        result.applied.append(
            AppliedDiscount(
                discount_id=discount.pk,
                code=discount.code,
                name=discount.name,
                amount=quantize_bdt(amount),
                kind=discount.kind,
            )
        )
    result.items_discount = quantize_bdt(result.items_discount)
    result.shipping_discount = quantize_bdt(result.shipping_discount)
    return result


def eligible_subtotal_all(lines: Sequence[Any]) -> Decimal:
    return quantize_bdt(
        sum(
            (Decimal(line.line_total) for line in lines if line_sellable(line)),
            ZERO,
        )
    )


def discount_errors_translate(
    errors: dict[str, list[str]], language: Language
) -> dict[str, list[str]]:
    """`{"EID10": ["coupon_expired"]}` -> the same with the messages in `language`."""
    return {code: [translate(item, language) for item in items] for code, items in errors.items()}
