"""Low stock: the report, and the alerts the cron opens once per crossing and emails.

An item for sale (a product without variations, or a variation) deserves a `low_stock`
alert while its available stock is at or below its threshold, and an `out_of_stock` alert
too while nothing is available. The scan opens the alerts an item deserves and has not got
open, and resolves the open ones it no longer deserves; staff and the owning vendor's
members get one email per newly alerting item (the most severe new alert), through the
outbox with a key per alert and recipient, so a rerun never emails twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import CharField, Exists, F, OuterRef, Q, QuerySet, UUIDField, Value
from django.utils import timezone

from db.models import (
    InventoryAlert,
    InventoryAlertKind,
    OutboxMessage,
    Product,
    ProductVariation,
    User,
    UserRole,
    VendorMember,
)
from lib.email import EMAIL_TOPIC, email_render
from lib.errors import Conflict, NotFound
from lib.inventory import of_vendors, with_available
from lib.money import BANGLA_DIGITS
from lib.outbox import noted_ids
from lib.pagination import PageParams, paginate

ALERT_RECIPIENT_ROLES = (UserRole.STAFF, UserRole.ADMIN)
SEVERITY = {InventoryAlertKind.LOW_STOCK: 1, InventoryAlertKind.OUT_OF_STOCK: 2}

# The columns of a stock item, in the same order for products and variations (a UNION).
STOCK_ITEM_COLUMNS = (
    "item_product_id",
    "item_variation_id",
    "item_vendor_id",
    "item_sku",
    "item_name_en",
    "item_name_bn",
    "item_value_en",
    "item_value_bn",
    "item_quantity",
    "item_allocated",
    "item_available",
    "item_threshold",
)


def watched_products() -> QuerySet[Product]:
    """Products sold as they are (active, without variations), with `available`."""
    no_variations = ~Exists(ProductVariation.objects.filter(product=OuterRef("pk")))
    return with_available(Product.objects.filter(no_variations, is_active=True))


def watched_variations() -> QuerySet[ProductVariation]:
    """Active variations of active products, with `available`."""
    variations = ProductVariation.objects.filter(is_active=True, product__is_active=True)
    return with_available(variations, variation=True)


AT_OR_BELOW_THRESHOLD = Q(available__lte=F("low_stock_threshold"))


def low_stock_items(*, vendor_ids: tuple[str, ...] | None = None) -> QuerySet:
    """Items for sale whose available stock is at or below their threshold: one UNION
    query of `STOCK_ITEM_COLUMNS` rows, the emptiest first."""
    products = of_vendors(
        watched_products().filter(AT_OR_BELOW_THRESHOLD), vendor_ids, path="vendor_id"
    )
    variations = of_vendors(
        watched_variations().filter(AT_OR_BELOW_THRESHOLD), vendor_ids, path="product__vendor_id"
    )
    product_rows = products.values(
        item_product_id=F("id"),
        item_variation_id=Value(None, output_field=UUIDField()),
        item_vendor_id=F("vendor_id"),
        item_sku=F("sku"),
        item_name_en=F("name_en"),
        item_name_bn=F("name_bn"),
        item_value_en=Value("", output_field=CharField()),
        item_value_bn=Value("", output_field=CharField()),
        item_quantity=F("quantity"),
        item_allocated=F("allocated"),
        item_available=F("available"),
        item_threshold=F("low_stock_threshold"),
    )
    variation_rows = variations.values(
        item_product_id=F("product_id"),
        item_variation_id=F("id"),
        item_vendor_id=F("product__vendor_id"),
        item_sku=F("sku"),
        item_name_en=F("product__name_en"),
        item_name_bn=F("product__name_bn"),
        item_value_en=F("variation_value_en"),
        item_value_bn=F("variation_value_bn"),
        item_quantity=F("quantity"),
        item_allocated=F("allocated"),
        item_available=F("available"),
        item_threshold=F("low_stock_threshold"),
    )
    return product_rows.union(variation_rows, all=True).order_by("item_available", "item_sku")


def low_stock_report(
    *, page: PageParams, vendor_ids: tuple[str, ...] | None = None
) -> dict[str, Any]:
    """A page of `low_stock_items` as `StockItem`s (two queries: the count and the page)."""
    result = paginate(low_stock_items(vendor_ids=vendor_ids), page)
    result["items"] = [StockItem.from_row(row) for row in result["items"]]
    return result


@dataclass(frozen=True, slots=True)
class StockItem:
    product_id: UUID
    variation_id: UUID | None
    vendor_id: UUID | None
    sku: str
    name_en: str
    name_bn: str
    variation_value_en: str
    variation_value_bn: str
    quantity: int
    allocated: int
    available: int
    low_stock_threshold: int

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> StockItem:
        values = [row[column] for column in STOCK_ITEM_COLUMNS]
        return cls(*values)

    @property
    def status(self) -> str:
        if self.available <= 0:
            return InventoryAlertKind.OUT_OF_STOCK
        return InventoryAlertKind.LOW_STOCK

    def alert_kinds(self) -> set[str]:
        """The alerts this item deserves: low stock at or below the threshold, out of stock
        too at zero."""
        kinds = {InventoryAlertKind.LOW_STOCK.value}
        if self.available <= 0:
            kinds.add(InventoryAlertKind.OUT_OF_STOCK.value)
        return kinds

    def display_name(self, language: str) -> str:
        bangla = language == "bn"
        name = (self.name_bn if bangla else "") or self.name_en
        value = (self.variation_value_bn if bangla else "") or self.variation_value_en
        return f"{name} / {value}" if value else name


def stock_item_key(product_id: Any, variation_id: Any) -> tuple[str, str | None]:
    return str(product_id), str(variation_id) if variation_id else None


def stock_item_is_low(*, product_id: Any, variation_id: Any | None, kind: str) -> bool:
    """Whether a product (without variations) or a variation still deserves an alert of
    `kind` (one query)."""
    if variation_id:
        rows = watched_variations().filter(pk=variation_id)
    else:
        rows = watched_products().filter(pk=product_id)
    if kind == InventoryAlertKind.OUT_OF_STOCK:
        return rows.filter(available__lte=0).exists()
    return rows.filter(AT_OR_BELOW_THRESHOLD).exists()


# --- the cron scan -----------------------------------------------------------------------

AlertKey = tuple[tuple[str, str | None], str]  # ((product id, variation id), kind)


def inventory_alerts_scan() -> dict[str, int]:
    """Open the alerts items deserve, resolve those they no longer do, email the new ones.

    Idempotent (a rerun finds the alerts open and does nothing) and safe next to another
    run (opening is INSERT ... ON CONFLICT DO NOTHING against the one-open-alert
    constraints, and only the alerts this run inserted are emailed). A constant number of
    queries whatever the number of items.
    """
    items = {}
    for row in low_stock_items():
        item = StockItem.from_row(row)
        items[stock_item_key(item.product_id, item.variation_id)] = item
    deserved = {(key, kind) for key, item in items.items() for kind in item.alert_kinds()}
    with transaction.atomic():
        open_alerts: dict[AlertKey, Any] = {
            (stock_item_key(product_id, variation_id), kind): pk
            for pk, product_id, variation_id, kind in InventoryAlert.objects.filter(
                resolved_at__isnull=True
            ).values_list("pk", "product_id", "variation_id", "kind")
        }
        recovered = [pk for key, pk in open_alerts.items() if key not in deserved]
        resolved = 0
        if recovered:
            resolved = InventoryAlert.objects.filter(
                pk__in=recovered, resolved_at__isnull=True
            ).update(resolved_at=timezone.now())
        # In a fixed order, so two runs inserting the same alerts wait instead of deadlocking.
        missing = sorted(
            (key for key in deserved if key not in open_alerts),
            key=lambda key: (key[0][0], key[0][1] or "", key[1]),
        )
        opened = inventory_alerts_open([(items[key], kind) for key, kind in missing])
        if opened:
            inventory_alerts_notify(opened)
    return {"alerts_opened": len(opened), "alerts_resolved": resolved}


def inventory_alerts_open(
    wanted: list[tuple[StockItem, str]],
) -> list[tuple[InventoryAlert, StockItem]]:
    """Insert the alerts, skipping any that another run opened meanwhile; returns the
    ones this call inserted (two queries)."""
    if not wanted:
        return []
    candidates = [
        (
            InventoryAlert(
                product_id=item.product_id,
                variation_id=item.variation_id,
                kind=kind,
                quantity_at_alert=item.available,
            ),
            item,
        )
        for item, kind in wanted
    ]
    InventoryAlert.objects.bulk_create([alert for alert, _ in candidates], ignore_conflicts=True)
    inserted = set(
        InventoryAlert.objects.filter(pk__in=[alert.pk for alert, _ in candidates]).values_list(
            "pk", flat=True
        )
    )
    return [(alert, item) for alert, item in candidates if alert.pk in inserted]


@dataclass(frozen=True, slots=True)
class Recipient:
    user_id: str
    email: str
    language: str


def inventory_alerts_notify(opened: list[tuple[InventoryAlert, StockItem]]) -> int:
    """Queue one email per newly alerting item (its most severe new alert) to every active
    staff member and administrator and to the owning vendor's active members (three
    queries); returns how many were queued."""
    worst: dict[tuple[str, str | None], tuple[InventoryAlert, StockItem]] = {}
    for alert, item in opened:
        key = stock_item_key(item.product_id, item.variation_id)
        if key not in worst or SEVERITY[alert.kind] > SEVERITY[worst[key][0].kind]:
            worst[key] = (alert, item)
    staff = [
        Recipient(str(pk), email, language)
        for pk, email, language in User.objects.filter(
            role__in=ALERT_RECIPIENT_ROLES, is_active=True, email__isnull=False
        ).values_list("pk", "email", "preferred_language")
    ]
    vendor_ids = {item.vendor_id for _, item in worst.values() if item.vendor_id}
    members: dict[Any, list[Recipient]] = {}
    if vendor_ids:
        for vendor_id, pk, email, language in VendorMember.objects.filter(
            vendor_id__in=vendor_ids, user__is_active=True, user__email__isnull=False
        ).values_list("vendor_id", "user_id", "user__email", "user__preferred_language"):
            members.setdefault(vendor_id, []).append(Recipient(str(pk), email, language))
    messages = []
    for alert, item in worst.values():
        recipients = {r.user_id: r for r in [*staff, *members.get(item.vendor_id, [])]}
        for recipient in recipients.values():
            content = alert_email(alert=alert, item=item, language=recipient.language)
            messages.append(
                OutboxMessage(
                    topic=EMAIL_TOPIC,
                    payload={"to": [recipient.email], **content},
                    dedupe_key=f"inventory-alert:{alert.pk}:{recipient.user_id}",
                )
            )
    if messages:
        OutboxMessage.objects.bulk_create(messages, ignore_conflicts=True)
        queued = [message.pk for message in messages]
        # Delivered right after the cron's response, like `outbox_enqueue`'s messages.
        transaction.on_commit(lambda: noted_ids().extend(queued))
    return len(messages)


def alert_email(*, alert: InventoryAlert, item: StockItem, language: str) -> dict[str, str]:
    """The alert's email (template `stock_alert`) in the recipient's language."""
    available = str(max(alert.quantity_at_alert, 0))
    threshold = str(item.low_stock_threshold)
    email = email_render(
        "stock_alert",
        language="bn" if language == "bn" else "en",
        context={
            "out": alert.kind == InventoryAlertKind.OUT_OF_STOCK,
            "name_en": item.display_name("en"),
            "name_bn": item.display_name("bn"),
            "sku": item.sku,
            "available": available,
            "available_bn": available.translate(BANGLA_DIGITS),
            "threshold": threshold,
            "threshold_bn": threshold.translate(BANGLA_DIGITS),
        },
    )
    return {"subject": email.subject, "body": email.text, "html": email.html}


# --- the alerts admin ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlertFilters:
    status: str = "open"  # "open", "resolved" or "all"
    kind: str | None = None
    product_id: UUID | None = None


def inventory_alert_list(
    *, filters: AlertFilters, vendor_ids: tuple[str, ...] | None = None
) -> QuerySet[InventoryAlert]:
    """Alerts newest first, with their product and variation (joined)."""
    alerts = InventoryAlert.objects.select_related("product", "variation")
    if filters.status != "all":
        alerts = alerts.filter(resolved_at__isnull=filters.status == "open")
    if filters.kind:
        alerts = alerts.filter(kind=filters.kind)
    if filters.product_id:
        alerts = alerts.filter(product_id=filters.product_id)
    return of_vendors(alerts, vendor_ids, path="product__vendor_id").order_by("-created_at", "-id")


def inventory_alert_resolve(
    *, alert_id: UUID, authorize: Callable[[Product], None] | None = None
) -> InventoryAlert:
    """Close an alert by hand once its item has recovered (409 `stock_still_low` while
    it has not: the next scan would only open it again). Resolving twice changes nothing."""
    alert = InventoryAlert.objects.select_related("product", "variation").filter(pk=alert_id)
    alert = alert.first()
    if alert is None:
        raise NotFound(fields={"alert_id": [str(alert_id)]})
    if authorize is not None:
        authorize(alert.product)
    if alert.resolved_at is not None:
        return alert
    if stock_item_is_low(
        product_id=alert.product_id, variation_id=alert.variation_id, kind=alert.kind
    ):
        raise Conflict("stock_still_low", fields={"alert_id": [str(alert_id)]})
    now = timezone.now()
    InventoryAlert.objects.filter(pk=alert.pk, resolved_at__isnull=True).update(resolved_at=now)
    alert.resolved_at = now
    return alert
