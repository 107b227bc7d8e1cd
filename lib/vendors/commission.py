"""Commission: the store's cut of each vendor sale, from `CommissionRule`s.

The most specific rule in force when the order is placed wins, per line:
vendor+category (the nearest category up the product's category chain), then vendor, then
category (nearest first), then global; among rules of the same place, the latest start wins.
No rule at all means 0%. The rate and amount are frozen on `VendorOrderLine` at placement:
later rule changes never touch placed orders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from db.models import Category, CommissionRule, CommissionScope, Vendor
from lib.errors import ApiError, NotFound
from lib.money import quantize_bdt

HUNDRED = Decimal(100)
ZERO_RATE = Decimal("0.00")
RULE_FIELDS = ("scope", "vendor_id", "category_id", "rate", "starts_at", "ends_at", "note")


@dataclass(frozen=True, slots=True)
class Commission:
    rate: Decimal
    amount: Decimal
    rule: CommissionRule | None


def commission_rules_in_force(*, at: datetime | None = None) -> list[CommissionRule]:
    """Rules in force at `at` (now), latest start first: one query."""
    at = at or timezone.now()
    rules = CommissionRule.objects.filter(starts_at__lte=at).filter(
        Q(ends_at__isnull=True) | Q(ends_at__gt=at)
    )
    return list(rules.order_by("-starts_at", "-created_at"))


class CommissionBook:
    """The rules in force, indexed for picking per line without further queries."""

    def __init__(self, rules: list[CommissionRule], category_chain: Any = None) -> None:
        self.by_key: dict[tuple[str, str | None, str | None], CommissionRule] = {}
        for rule in rules:  # latest start first: keep the first seen per key
            key = (
                rule.scope,
                str(rule.vendor_id) if rule.vendor_id else None,
                str(rule.category_id) if rule.category_id else None,
            )
            self.by_key.setdefault(key, rule)
        self.category_chain = category_chain  # category id -> [it, parent, ...]

    @property
    def needs_categories(self) -> bool:
        return any(scope in CATEGORY_SCOPES for scope, _, _ in self.by_key)

    def pick(self, *, vendor_id: Any, category_id: Any) -> CommissionRule | None:
        vendor = str(vendor_id)
        chain = self.category_chain(str(category_id)) if self.category_chain else []
        candidates = [(CommissionScope.VENDOR_CATEGORY, vendor, c) for c in chain]
        candidates.append((CommissionScope.VENDOR, vendor, None))
        candidates += [(CommissionScope.CATEGORY, None, c) for c in chain]
        candidates.append((CommissionScope.GLOBAL, None, None))
        return next((self.by_key[k] for k in candidates if k in self.by_key), None)

    def commission(self, *, vendor_id: Any, category_id: Any, amount: Decimal) -> Commission:
        rule = self.pick(vendor_id=vendor_id, category_id=category_id)
        rate = rule.rate if rule else ZERO_RATE
        return Commission(rate=rate, amount=quantize_bdt(amount * rate / HUNDRED), rule=rule)


CATEGORY_SCOPES = frozenset({CommissionScope.CATEGORY, CommissionScope.VENDOR_CATEGORY})


def commission_book(*, at: datetime | None = None) -> CommissionBook:
    """The rules in force at `at`; the category index is read only when a rule needs it."""
    book = CommissionBook(commission_rules_in_force(at=at))
    if book.needs_categories:
        from lib.catalog.selectors import category_index

        book.category_chain = category_index().ancestors
    return book


# --- staff managing rules ------------------------------------------------------------------


def commission_rule_list(*, scope: str | None = None, vendor_id: Any = None) -> QuerySet:
    rules = CommissionRule.objects.select_related("vendor", "category")
    if scope:
        rules = rules.filter(scope=scope)
    if vendor_id:
        rules = rules.filter(vendor_id=vendor_id)
    return rules.order_by("scope", "-starts_at", "-created_at")


def commission_rule_get(*, rule_id: Any) -> CommissionRule:
    rule = commission_rule_list().filter(pk=rule_id).first()
    if rule is None:
        raise NotFound(fields={"id": [str(rule_id)]})
    return rule


def rule_validate(rule: CommissionRule) -> None:
    """422 naming the field when the scope and its targets do not fit, or a target is
    unknown."""
    needs_vendor = rule.scope in (CommissionScope.VENDOR, CommissionScope.VENDOR_CATEGORY)
    needs_category = rule.scope in CATEGORY_SCOPES
    fields: dict[str, list[str]] = {}
    if needs_vendor != bool(rule.vendor_id):
        fields["vendor_id"] = ["required" if needs_vendor else f"not used by scope {rule.scope}"]
    elif rule.vendor_id and not Vendor.objects.filter(pk=rule.vendor_id).exists():
        fields["vendor_id"] = ["unknown vendor"]
    if needs_category != bool(rule.category_id):
        fields["category_id"] = [
            "required" if needs_category else f"not used by scope {rule.scope}"
        ]
    elif rule.category_id and not Category.objects.filter(pk=rule.category_id).exists():
        fields["category_id"] = ["unknown category"]
    if rule.ends_at is not None and rule.ends_at <= rule.starts_at:
        fields["ends_at"] = ["must be after starts_at"]
    if fields:
        raise ApiError("validation_error", status=422, fields=fields)


def commission_rule_create(**values: Any) -> CommissionRule:
    values = {k: v for k, v in values.items() if v is not None or k == "ends_at"}
    rule = CommissionRule(**values)
    rule_validate(rule)
    rule.save()
    return commission_rule_get(rule_id=rule.pk)


def commission_rule_update(*, rule_id: Any, changes: dict[str, Any]) -> CommissionRule:
    rule = commission_rule_get(rule_id=rule_id)
    for name, value in changes.items():
        setattr(rule, name, value)
    rule_validate(rule)
    rule.save()
    return commission_rule_get(rule_id=rule.pk)


def commission_rule_delete(*, rule_id: Any) -> None:
    """Placed orders keep their frozen rate; the rule stops applying to new ones."""
    commission_rule_get(rule_id=rule_id).delete()
