"""Managing discounts (staff): create, update, deactivate, list.

Codes are unique case-insensitively (409 `discount_code_taken`); a percentage is at most 100;
a discount ends after it starts; scope ids must exist (422 otherwise).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet

from db.models import Category, Discount, DiscountKind, Product, Vendor
from lib.errors import ApiError, Conflict

SCOPE_MODELS = {"category_ids": Category, "product_ids": Product, "vendor_ids": Vendor}
SCOPE_FIELDS = {"category_ids": "categories", "product_ids": "products", "vendor_ids": "vendors"}
FIELDS = (
    "code",
    "name",
    "kind",
    "value",
    "max_discount",
    "min_order",
    "starts_at",
    "ends_at",
    "usage_limit",
    "usage_limit_per_customer",
    "stackable",
    "priority",
    "is_active",
)


def discount_queryset() -> QuerySet[Discount]:
    return Discount.objects.prefetch_related("categories", "products", "vendors")


def discount_list(*, active: bool | None = None, search: str = "") -> QuerySet[Discount]:
    queryset = discount_queryset().order_by("-created_at", "-pk")
    if active is not None:
        queryset = queryset.filter(is_active=active)
    if search:
        queryset = queryset.filter(Q(code__icontains=search) | Q(name__icontains=search))
    return queryset


def discount_get(*, discount_id: UUID) -> Discount:
    discount = discount_queryset().filter(pk=discount_id).first()
    if discount is None:
        raise ApiError("not_found", status=404)
    return discount


def invalid(field: str, message: str) -> ApiError:
    return ApiError("validation_error", status=422, fields={field: [message]})


def discount_check(discount: Discount) -> None:
    if discount.kind == DiscountKind.PERCENTAGE and discount.value > 100:
        raise invalid("value", "A percentage is at most 100.")
    if discount.kind != DiscountKind.FREE_SHIPPING and discount.value <= 0:
        raise invalid("value", "Enter an amount above 0.")
    if discount.starts_at and discount.ends_at and discount.ends_at <= discount.starts_at:
        raise invalid("ends_at", "The end must be after the start.")
    if discount.code is not None:
        taken = Discount.objects.filter(code__iexact=discount.code).exclude(pk=discount.pk)
        if taken.exists():
            raise Conflict("discount_code_taken", fields={"code": [discount.code]})


def scopes_resolve(changes: dict[str, Any]) -> dict[str, list]:
    resolved: dict[str, list] = {}
    for key, model in SCOPE_MODELS.items():
        if key not in changes:
            continue
        wanted = set(changes.pop(key) or ())
        found = list(model.objects.filter(pk__in=wanted))
        missing = wanted - {row.pk for row in found}
        if missing:
            raise ApiError("validation_error", status=422, fields={key: sorted(map(str, missing))})
        resolved[SCOPE_FIELDS[key]] = found
    return resolved


def discount_save(*, discount: Discount, changes: dict[str, Any]) -> Discount:
    changes = dict(changes)
    if "code" in changes:
        code = (changes["code"] or "").strip()
        changes["code"] = code or None
    scopes = scopes_resolve(changes)
    for name in FIELDS:
        if name in changes:
            setattr(discount, name, changes[name])
    discount_check(discount)
    try:
        with transaction.atomic():
            discount.save()
            for name, rows in scopes.items():
                getattr(discount, name).set(rows)
    except IntegrityError as error:
        if "discounts_code_ci_unique" in str(error):
            raise Conflict("discount_code_taken", fields={"code": [discount.code]}) from None
        raise
    return discount_get(discount_id=discount.pk)


def discount_create(*, data: dict[str, Any]) -> Discount:
    return discount_save(discount=Discount(), changes=data)


def discount_update(*, discount_id: UUID, changes: dict[str, Any]) -> Discount:
    discount = Discount.objects.filter(pk=discount_id).first()
    if discount is None:
        raise ApiError("not_found", status=404)
    return discount_save(discount=discount, changes=changes)


def discount_deactivate(*, discount_id: UUID) -> Discount:
    if not Discount.objects.filter(pk=discount_id).update(is_active=False):
        raise ApiError("not_found", status=404)
    return discount_get(discount_id=discount_id)
