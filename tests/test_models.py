"""The data model's rules hold in the database itself, not only in Python validation."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, ProtectedError
from django.test.utils import CaptureQueriesContext
from django.urls import path, reverse
from django.utils import timezone

from db.models import (
    Address,
    Affiliate,
    AffiliateAttribution,
    AffiliateClick,
    AffiliateCommission,
    AffiliatePayout,
    ApiKey,
    ApiKeySecret,
    Category,
    CategoryPointsMultiplier,
    ChatMessage,
    CommissionRule,
    Consignment,
    ConsignmentEvent,
    Conversation,
    CourierPayout,
    CourierPayoutLine,
    DailyProductSales,
    DailySales,
    Discount,
    DiscountRedemption,
    District,
    Division,
    FeaturedCollection,
    FraudReview,
    FunnelSnapshot,
    HomeBanner,
    InventoryAlert,
    InventoryAlertKind,
    LedgerKind,
    LoyaltyAccount,
    LoyaltyTier,
    Notification,
    NotificationDelivery,
    NotificationPreference,
    Order,
    OrderItem,
    OrderStatus,
    OrderStatusEvent,
    OutboxMessage,
    OutboxStatus,
    Payment,
    PaymentEvent,
    PaymentEventType,
    PaymentProvider,
    PointsEntry,
    Product,
    ProductImage,
    ProductVariation,
    PushSubscription,
    Referral,
    ReferralCode,
    Refund,
    ShippingDistrictRate,
    ShippingZone,
    SitePage,
    SocialAccount,
    StockAdjustment,
    StockReservation,
    StoreSettings,
    Upazila,
    User,
    UserProfile,
    UserRole,
    VariationType,
    Vendor,
    VendorApplication,
    VendorLedgerEntry,
    VendorMember,
    VendorOrder,
    VendorOrderLine,
    VendorPayout,
    VendorRole,
)
from db.models.site import STORE_SETTINGS_ID

pytestmark = pytest.mark.django_db


@contextmanager
def rejected(*constraints: str) -> Iterator[None]:
    """The block must fail with an IntegrityError raised by one of `constraints`.

    PostgreSQL names the violated constraint; SQLite names it for CHECK constraints only.
    """
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        yield
    if not constraints:
        return
    if connection.vendor == "postgresql":
        assert caught.value.__cause__.diag.constraint_name in constraints
    elif "CHECK constraint failed" in str(caught.value):
        assert any(name in str(caught.value) for name in constraints), caught.value


def negative_stock_checks(table: str) -> tuple[str, ...]:
    """Any of these keeps stock from going negative: the column's own check (which SQLite
    reports by column), the named `>= 0` check, or `allocated <= quantity`."""
    return (
        f"{table}_quantity_check",
        f"{table}_quantity_gte_0",
        f"{table}_allocated_lte_quantity",
        "failed: quantity",
    )


def make_category(slug: str = "phones", **fields: Any) -> Category:
    return Category.objects.create(name_en=slug.title(), name_bn="ফোন", slug=slug, **fields)


def make_product(sku: str = "SKU-1", **fields: Any) -> Product:
    fields.setdefault("category", make_category(f"cat-{sku.lower()}"))
    fields.setdefault("price", Decimal("1200.00"))
    fields.setdefault("quantity", 5)
    return Product.objects.create(
        name_en="Walton Primo", name_bn="ওয়ালটন প্রিমো", slug=sku.lower(), sku=sku, **fields
    )


def make_order(number: str = "ZS-2611-000001", **fields: Any) -> Order:
    fields.setdefault("payment_method", PaymentProvider.BKASH)
    return Order.objects.create(number=number, **fields)


def make_payment(order: Order | None = None, **fields: Any) -> Payment:
    fields.setdefault("provider", PaymentProvider.BKASH)
    fields.setdefault("amount", Decimal("1260.00"))
    return Payment.objects.create(order=order or make_order(), **fields)


# Users ------------------------------------------------------------------------------------


def test_create_user_hashes_the_password_and_normalises_the_email():
    user = User.objects.create_user("  Rahim.Uddin@Example.COM ", "s3cret-Pass!")

    user.refresh_from_db()
    assert user.email == "rahim.uddin@example.com"
    assert user.password != "s3cret-Pass!"
    assert user.password.startswith("scrypt$")
    assert user.check_password("s3cret-Pass!")
    assert user.role == UserRole.CUSTOMER
    assert not user.is_staff
    assert not user.is_superuser


def test_create_user_without_password_cannot_sign_in_with_one():
    user = User.objects.create_user("oauth@example.com")

    assert not user.has_usable_password()


def test_create_user_requires_an_email():
    with pytest.raises(ValueError, match="email"):
        User.objects.create_user("   ", "pw")
    assert User.objects.count() == 0


def test_create_superuser_is_an_admin():
    user = User.objects.create_superuser("owner@example.com", "pw")

    assert (user.is_staff, user.is_superuser, user.role) == (True, True, UserRole.ADMIN)


def test_natural_key_lookup_ignores_case():
    user = User.objects.create_user("nadia@example.com", "pw")

    assert User.objects.get_by_natural_key("NADIA@Example.com ") == user


def test_email_is_unique_regardless_of_case():
    # Saved directly, bypassing the manager's normalisation, as a raw insert would.
    User.objects.create(email="Karim@Example.com")

    with rejected("users_email_ci_unique"):
        User.objects.create(email="karim@example.com")
    assert User.objects.count() == 1


def test_email_case_duplicate_is_a_validation_error_for_forms():
    User.objects.create(email="Karim@Example.com")

    with pytest.raises(ValidationError, match="already exists"):
        User(email="KARIM@example.com").validate_constraints()


def test_a_user_has_at_most_one_default_address():
    user = User.objects.create_user("home@example.com")
    fields = {"full_name": "Rahim", "phone": "+8801712345678", "address_line1": "Road 1"}
    Address.objects.create(user=user, city="Dhaka", is_default=True, **fields)
    Address.objects.create(user=user, city="Sylhet", is_default=False, **fields)

    with rejected("addresses_one_default_per_user"):
        Address.objects.create(user=user, city="Khulna", is_default=True, **fields)

    # Guest addresses have no user, so each may be the default of its own order.
    Address.objects.create(user=None, city="Rajshahi", is_default=True, **fields)
    Address.objects.create(user=None, city="Barishal", is_default=True, **fields)
    assert user.addresses.filter(is_default=True).count() == 1
    assert Address.objects.get(user=user, is_default=True).country == "BD"


def test_profile_preferences_default_to_an_empty_dict():
    profile = UserProfile.objects.create(user=User.objects.create_user("p@example.com"))

    profile.refresh_from_db()
    assert profile.preferences == {}
    assert profile.user.profile == profile


# Vendors ----------------------------------------------------------------------------------


def test_vendor_commission_is_a_percentage():
    with rejected("vendors_commission_rate_0_100"):
        Vendor.objects.create(name="Too greedy", slug="greedy", commission_rate=Decimal("100.01"))

    vendor = Vendor.objects.create(name="Fair", slug="fair", commission_rate=Decimal("12.50"))
    vendor.refresh_from_db()
    assert vendor.commission_rate == Decimal("12.50")


def test_a_user_joins_a_vendor_once():
    vendor = Vendor.objects.create(name="Aarong", slug="aarong")
    user = User.objects.create_user("staff@example.com")
    VendorMember.objects.create(vendor=vendor, user=user, role=VendorRole.OWNER)

    with rejected("vendor_members_unique_user"):
        VendorMember.objects.create(vendor=vendor, user=user, role=VendorRole.STAFF)
    assert list(user.vendors.all()) == [vendor]


# Catalog ----------------------------------------------------------------------------------


def test_categories_nest():
    electronics = make_category("electronics")
    phones = make_category("phones", parent=electronics)
    make_category("feature-phones", parent=phones)

    assert list(electronics.children.values_list("slug", flat=True)) == ["phones"]
    assert phones.children.get().parent.parent == electronics
    assert Category.objects.filter(parent__isnull=True).get() == electronics


def test_a_category_cannot_be_its_own_parent():
    category = make_category("loop")

    with rejected("categories_parent_not_self"):
        Category.objects.filter(pk=category.pk).update(parent=category)


def test_category_clean_rejects_deeper_cycles():
    top = make_category("top")
    child = make_category("child", parent=top)
    top.parent = child

    with pytest.raises(ValidationError, match="nested inside itself"):
        top.full_clean()


def test_category_slug_is_unique():
    make_category("fashion")

    with rejected("categories_slug_key"):
        make_category("fashion")


def test_stock_never_goes_below_zero():
    product = make_product(quantity=3)

    with rejected(*negative_stock_checks("products")):
        Product.objects.filter(pk=product.pk).update(quantity=F("quantity") - 4)

    product.refresh_from_db()
    assert product.quantity == 3


def test_allocated_never_exceeds_on_hand():
    product = make_product(quantity=3)

    with rejected("products_allocated_lte_quantity"):
        Product.objects.filter(pk=product.pk).update(allocated=F("allocated") + 4)
    Product.objects.filter(pk=product.pk).update(allocated=F("allocated") + 3)

    product.refresh_from_db()
    assert (product.quantity, product.allocated) == (3, 3)


def test_product_sku_and_slug_are_unique():
    category = make_category("shoes")
    make_product("BATA-1", category=category)

    with rejected("products_sku_key"):
        Product.objects.create(
            category=category, name_en="Other", slug="other", sku="BATA-1", price=Decimal(1)
        )
    with rejected("products_slug_key"):
        Product.objects.create(
            category=category, name_en="Other", slug="bata-1", sku="BATA-2", price=Decimal(1)
        )
    assert Product.objects.count() == 1


def test_prices_are_exact_decimals_and_compare_price_is_not_below_price():
    product = make_product(price=Decimal("1999.99"), compare_price=Decimal("2499.50"))
    product.refresh_from_db()
    assert product.price == Decimal("1999.99")
    assert product.compare_price - product.price == Decimal("499.51")

    with rejected("products_compare_price_gte_price"):
        make_product("SKU-2", price=Decimal("100.00"), compare_price=Decimal("99.99"))
    with rejected("products_price_gte_0"):
        make_product("SKU-3", price=Decimal("-0.01"))


def test_a_product_has_one_primary_image():
    product = make_product()
    ProductImage.objects.create(
        product=product, image_url="https://blob.test/a.jpg", is_primary=True
    )
    ProductImage.objects.create(product=product, image_url="https://blob.test/b.jpg", sort_order=1)

    with rejected("product_images_one_primary"):
        ProductImage.objects.create(
            product=product, image_url="https://blob.test/c.jpg", is_primary=True
        )

    other = make_product("SKU-2")
    ProductImage.objects.create(product=other, image_url="https://blob.test/d.jpg", is_primary=True)
    assert product.images.filter(is_primary=True).count() == 1
    assert [image.image_url[-5:] for image in product.images.all()] == ["a.jpg", "b.jpg"]


def test_variations_have_their_own_stock_rules():
    product = make_product()
    variation = ProductVariation.objects.create(
        product=product,
        variation_type=VariationType.SIZE,
        variation_value_en="XL",
        variation_value_bn="এক্সএল",
        sku="SKU-1-XL",
        quantity=2,
    )

    with rejected("product_variations_unique_value"):
        ProductVariation.objects.create(
            product=product, variation_type=VariationType.SIZE, variation_value_en="XL", sku="X2"
        )
    with rejected("product_variations_allocated_lte_quantity"):
        ProductVariation.objects.filter(pk=variation.pk).update(allocated=3)
    with rejected(*negative_stock_checks("product_variations")):
        ProductVariation.objects.filter(pk=variation.pk).update(quantity=F("quantity") - 3)

    variation.refresh_from_db()
    assert (variation.quantity, variation.allocated, variation.price_adjustment) == (2, 0, 0)


# Inventory --------------------------------------------------------------------------------


def test_reservations_hold_a_positive_quantity_once_per_checkout_line():
    product = make_product()
    expires_at = timezone.now() + timedelta(minutes=15)
    StockReservation.objects.create(
        product=product, token="cart-1", quantity=2, expires_at=expires_at
    )

    with rejected("stock_reservations_quantity_gt_0"):
        StockReservation.objects.create(
            product=product, token="cart-2", quantity=0, expires_at=expires_at
        )
    with rejected("stock_reservations_unique_product_line"):
        StockReservation.objects.create(
            product=product, token="cart-1", quantity=1, expires_at=expires_at
        )
    assert product.reservations.get().quantity == 2


def test_one_open_alert_per_product_and_kind():
    product = make_product()
    variation = ProductVariation.objects.create(
        product=product, variation_type=VariationType.COLOR, variation_value_en="Red", sku="R"
    )
    low = {"kind": InventoryAlertKind.LOW_STOCK, "quantity_at_alert": 2}
    first = InventoryAlert.objects.create(product=product, **low)
    InventoryAlert.objects.create(product=product, variation=variation, **low)

    with rejected("inventory_alerts_one_open_per_product"):
        InventoryAlert.objects.create(product=product, **low)
    with rejected("inventory_alerts_one_open_per_variation"):
        InventoryAlert.objects.create(product=product, variation=variation, **low)

    # Once resolved, the same condition may raise a new alert.
    InventoryAlert.objects.filter(pk=first.pk).update(resolved_at=timezone.now())
    InventoryAlert.objects.create(product=product, **low)
    InventoryAlert.objects.create(
        product=product, kind=InventoryAlertKind.OUT_OF_STOCK, quantity_at_alert=0
    )
    assert InventoryAlert.objects.filter(resolved_at__isnull=True).count() == 3


# Orders -----------------------------------------------------------------------------------


def test_order_numbers_and_idempotency_keys_are_unique():
    make_order("ZS-2611-000001", idempotency_key="key-1")
    make_order("ZS-2611-000002")
    make_order("ZS-2611-000003")  # many orders without a key

    with rejected("orders_number_key"):
        make_order("ZS-2611-000001")
    with rejected("orders_idempotency_key_key"):
        make_order("ZS-2611-000004", idempotency_key="key-1")
    assert Order.objects.filter(idempotency_key__isnull=True).count() == 2


def test_order_totals_are_never_negative():
    with rejected("orders_total_amount_gte_0"):
        make_order(total_amount=Decimal("-1.00"))
    with rejected("orders_discount_within_subtotal"):
        make_order(subtotal=Decimal("100.00"), discount_total=Decimal("100.01"))

    order = make_order(
        subtotal=Decimal("1200.00"),
        discount_total=Decimal("100.00"),
        shipping_total=Decimal("60.00"),
        total_amount=Decimal("1160.00"),
    )
    order.refresh_from_db()
    assert order.total_amount == order.subtotal - order.discount_total + order.shipping_total
    assert (order.status, order.currency) == (OrderStatus.PLACED, "BDT")


def test_order_items_need_a_positive_quantity_and_keep_the_product():
    order = make_order()
    product = make_product()
    line = {"order": order, "product": product, "product_name": "Walton Primo", "sku": "SKU-1"}
    OrderItem.objects.create(
        quantity=2, unit_price=Decimal("1200.00"), total_price=Decimal("2400.00"), **line
    )

    with rejected("order_items_quantity_gt_0", "order_items_quantity_check"):
        OrderItem.objects.create(quantity=0, unit_price=Decimal(1), total_price=Decimal(0), **line)
    with rejected("order_items_total_price_gte_0"):
        OrderItem.objects.create(quantity=1, unit_price=Decimal(1), total_price=Decimal(-1), **line)

    with pytest.raises(ProtectedError):
        product.delete()
    assert order.items.get().total_price == Decimal("2400.00")


def test_status_events_record_the_order_history():
    order = make_order()
    OrderStatusEvent.objects.create(order=order, to_status=OrderStatus.PLACED)
    OrderStatusEvent.objects.create(
        order=order, from_status=OrderStatus.PLACED, to_status=OrderStatus.PROCESSING
    )

    assert [str(event) for event in order.status_events.all()] == [
        "- -> placed",
        "placed -> processing",
    ]


# Payments ---------------------------------------------------------------------------------


def test_a_provider_notification_is_recorded_once():
    payment = make_payment(transaction_id="TRX8A7B6C")
    captured = {
        "payment": payment,
        "provider": PaymentProvider.BKASH,
        "provider_reference": "TRX8A7B6C",
        "event_type": PaymentEventType.CAPTURED,
        "amount": Decimal("1260.00"),
    }
    PaymentEvent.objects.create(**captured)

    with rejected("payment_events_unique_provider_reference"):
        PaymentEvent.objects.create(**captured)

    # The same reference may carry other kinds of event, and events without one are kept.
    PaymentEvent.objects.create(**{**captured, "event_type": PaymentEventType.REFUNDED})
    PaymentEvent.objects.create(**{**captured, "provider_reference": "", "event_type": "callback"})
    PaymentEvent.objects.create(**{**captured, "provider_reference": "", "event_type": "callback"})
    assert payment.events.filter(event_type=PaymentEventType.CAPTURED).count() == 1
    assert payment.events.count() == 4


def test_payment_events_are_append_only():
    event = PaymentEvent.objects.create(
        payment=make_payment(),
        provider=PaymentProvider.NAGAD,
        provider_reference="N-1",
        event_type=PaymentEventType.INITIATED,
    )
    event.amount = Decimal("5.00")

    with pytest.raises(ValueError, match="append-only"):
        event.save()
    event.refresh_from_db()
    assert event.amount == Decimal("0.00")


def test_a_provider_transaction_belongs_to_one_payment():
    order = make_order()
    make_payment(order, transaction_id="TRX1", idempotency_key="pay-1")
    make_payment(order, status="failed")  # no provider reference yet
    make_payment(order, status="cancelled")

    with rejected("payments_unique_provider_transaction"):
        make_payment(order, transaction_id="TRX1", status="failed")
    with rejected("payments_idempotency_key_key"):
        make_payment(order, transaction_id="TRX2", idempotency_key="pay-1", status="failed")
    with rejected("payments_amount_gte_0"):
        make_payment(order, amount=Decimal("-5.00"), status="failed")
    with rejected("payments_one_open_per_order"):  # TRX1 is still open at the provider
        make_payment(order, transaction_id="TRX3", status="pending")
    assert order.payments.count() == 3


# Outbox -----------------------------------------------------------------------------------


def test_outbox_messages_wait_until_sent():
    message = OutboxMessage.objects.create(topic="email.order_confirmation", payload={"n": 1})
    assert (message.status, message.attempts) == (OutboxStatus.PENDING, 0)
    assert message.available_at <= timezone.now()

    with rejected("outbox_messages_sent_has_sent_at"):
        OutboxMessage.objects.filter(pk=message.pk).update(status=OutboxStatus.SENT)
    with rejected("outbox_messages_dedupe_key_key"):
        OutboxMessage.objects.bulk_create(
            [
                OutboxMessage(topic="push", dedupe_key="k"),
                OutboxMessage(topic="push", dedupe_key="k"),
            ]
        )
    OutboxMessage.objects.filter(pk=message.pk).update(status="sent", sent_at=timezone.now())
    assert OutboxMessage.objects.get().status == OutboxStatus.SENT


# Admin ------------------------------------------------------------------------------------

admin_urls = types.ModuleType("zest_test_admin_urls")
admin_urls.urlpatterns = [path("admin/", admin.site.urls)]
sys.modules[admin_urls.__name__] = admin_urls


@pytest.fixture
def store_admin_client(client, settings):
    """A signed-in superuser on a URLconf and middleware holding only the admin."""
    settings.ROOT_URLCONF = admin_urls.__name__
    settings.MIDDLEWARE = [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
    ]
    client.force_login(User.objects.create_superuser("admin@example.com", "pw"))
    return client


def build_store(n: int) -> Order:
    """One of everything the admin shows, all linked together."""
    user = User.objects.create_user(f"buyer{n}@example.com", "pw")
    UserProfile.objects.create(user=user)
    SocialAccount.objects.create(user=user, provider="google", subject=f"g{n}")
    api_key = ApiKey.objects.create(name=f"Key {n}", key_id=f"zk_sec_admin{n}", kind="secret")
    ApiKeySecret.objects.create(api_key=api_key, secret_hash=f"{n:064x}", prefix=f"p{n}")
    address = Address.objects.create(
        user=user, full_name="Rahim", phone="+8801712345678", address_line1="Road 1", city="Dhaka"
    )
    vendor = Vendor.objects.create(name=f"Vendor {n}", slug=f"vendor-{n}")
    VendorMember.objects.create(vendor=vendor, user=user)
    category = make_category(f"sub-{n}", parent=make_category(f"root-{n}"))
    product = make_product(f"SKU-{n}", category=category, vendor=vendor)
    ProductImage.objects.create(product=product, image_url="https://blob.test/a.jpg")
    variation = ProductVariation.objects.create(
        product=product, variation_type=VariationType.SIZE, variation_value_en="M", sku=f"V-{n}"
    )
    StockReservation.objects.create(
        product=product, variation=variation, token=f"t{n}", quantity=1, expires_at=timezone.now()
    )
    InventoryAlert.objects.create(product=product, kind="low_stock", quantity_at_alert=1)
    StockAdjustment.objects.create(product=product, delta=5, quantity_after=5, reason="received")
    division = Division.objects.create(name_en=f"Division {n}", name_bn="বিভাগ")
    district = District.objects.create(division=division, name_en=f"District {n}", name_bn="জেলা")
    Upazila.objects.create(district=district, name_en=f"Upazila {n}", name_bn="উপজেলা")
    zone = ShippingZone.objects.create(code=f"zone-{n}", name_en=f"Zone {n}", rate=Decimal("60"))
    ShippingDistrictRate.objects.create(district=district, zone=zone)
    discount = Discount.objects.create(name=f"Eid {n}", code=f"EID{n}", kind="fixed", value=50)
    order = make_order(f"ZS-2611-{n:06}", user=user, shipping_address=address)
    DiscountRedemption.objects.create(
        discount=discount, order=order, user=user, customer_key=str(user.pk), amount=Decimal("50")
    )
    FraudReview.objects.create(order=order, score=10, reasons=["new customer"], decision="accepted")
    OrderItem.objects.create(
        order=order,
        product=product,
        variation=variation,
        vendor=vendor,
        product_name="Walton Primo",
        sku=variation.sku,
        quantity=1,
        unit_price=Decimal(10),
        total_price=Decimal(10),
    )
    OrderStatusEvent.objects.create(order=order, to_status=OrderStatus.PLACED, actor=user)
    payment = make_payment(order, transaction_id=f"TRX{n}")
    PaymentEvent.objects.create(
        payment=payment, provider="bkash", provider_reference=f"TRX{n}", event_type="captured"
    )
    Refund.objects.create(payment=payment, amount=Decimal("5.00"), actor=user)
    OutboxMessage.objects.create(topic="email.order_confirmation")
    consignment = Consignment.objects.create(
        order=order, courier="steadfast", consignment_id=f"SF{n}", state="delivered"
    )
    ConsignmentEvent.objects.create(
        consignment=consignment, source="webhook", state="delivered", dedupe_key=f"sf-{n}"
    )
    payout = CourierPayout.objects.create(courier="steadfast", reference=f"P{n}")
    CourierPayoutLine.objects.create(
        payout=payout, consignment=consignment, consignment_ref=f"SF{n}", amount=Decimal(10)
    )
    # Notifications
    notification = Notification.objects.create(
        user=user,
        kind="order.placed",
        category="order",
        title_en="Order placed",
        title_bn="অর্ডার করা হয়েছে",
        dedupe_key=f"order.placed:{n}",
    )
    NotificationDelivery.objects.create(
        notification=notification,
        user=user,
        channel="email",
        kind="order.placed",
        recipient=user.email,
        dedupe_key=f"order.placed:{n}:email",
    )
    NotificationPreference.objects.create(
        user=user, channel="sms", category="marketing", enabled=False
    )
    PushSubscription.objects.create(
        user=user, endpoint=f"https://push.test/{n}", p256dh=f"key{n}", auth=f"auth{n}"
    )
    # Chat
    conversation = Conversation.objects.create(
        user=user, order=order, subject=f"Where is order {n}?", assigned_to=user
    )
    ChatMessage.objects.create(
        conversation=conversation, sender_kind="customer", sender_user=user, body="Hello"
    )
    # Loyalty
    PointsEntry.objects.create(
        user=user,
        kind="earn",
        points=12,
        order=order,
        reference=f"earn:order:{order.pk}",
        expires_at=timezone.now() + timedelta(days=365),
    )
    LoyaltyAccount.objects.create(user=user, balance=12, lifetime_earned=12)
    LoyaltyTier.objects.create(
        code=f"tier-{n}", name_en=f"Tier {n}", name_bn="স্তর", min_spend=Decimal(n * 1000 + 1)
    )
    CategoryPointsMultiplier.objects.create(category=category, multiplier=Decimal("1.50"))
    # Referrals and affiliates
    ReferralCode.objects.create(user=user, code=f"REF{n}")
    friend = User.objects.create_user(f"friend{n}@example.com", "pw")
    Referral.objects.create(
        referrer=user, referee=friend, code=f"REF{n}", source="signup", order=order
    )
    affiliate = Affiliate.objects.create(user=user, status="approved", approved_by=friend)
    AffiliateClick.objects.create(affiliate=affiliate, landing_path=f"/products/sku-{n}")
    AffiliateAttribution.objects.create(
        order=order, affiliate=affiliate, first_seen_at=timezone.now()
    )
    affiliate_payout = AffiliatePayout.objects.create(
        affiliate=affiliate, amount=Decimal("0.50"), reference=f"AP{n}", created_by=user
    )
    AffiliateCommission.objects.create(
        affiliate=affiliate,
        order=order,
        base_amount=Decimal(10),
        rate=Decimal(5),
        amount=Decimal("0.50"),
        status="paid",
        payout=affiliate_payout,
    )
    # The store itself (one settings row)
    StoreSettings.objects.get_or_create(pk=STORE_SETTINGS_ID)
    HomeBanner.objects.create(title_en=f"Banner {n}", position=n)
    collection = FeaturedCollection.objects.create(
        slug=f"picks-{n}", title_en=f"Picks {n}", category=category
    )
    collection.products.add(product)
    SitePage.objects.create(slug=f"page-{n}", title_en=f"Page {n}", is_published=True)
    # Analytics rollups (of the vendor)
    today = timezone.localdate()
    DailySales.objects.create(day=today, vendor=vendor, computed_at=timezone.now())
    DailyProductSales.objects.create(day=today, product=product, vendor=vendor)
    FunnelSnapshot.objects.create(day=today, vendor=vendor, taken_at=timezone.now())
    # Marketplace: onboarding, commission, the vendor's part of the order and its money
    VendorApplication.objects.create(
        applicant=user,
        business_name=f"Vendor {n}",
        slug=f"vendor-{n}",
        contact_email=f"vendor{n}@example.com",
        trade_licence_no=f"TL-{n}",
        payout_method="bkash",
        payout_account={"account_number": "01712345678"},
        status="approved",
        decided_by=friend,
        decided_at=timezone.now(),
        vendor=vendor,
    )
    rule = CommissionRule.objects.create(
        scope="vendor_category", vendor=vendor, category=category, rate=Decimal(10)
    )
    vendor_order = VendorOrder.objects.create(
        order=order,
        vendor=vendor,
        status=OrderStatus.PLACED,
        subtotal=Decimal(10),
        commission=Decimal(1),
        payout_amount=Decimal(9),
    )
    VendorOrderLine.objects.create(
        vendor_order=vendor_order,
        order_item=order.items.get(),
        rule=rule,
        commission_rate=Decimal(10),
        commission=Decimal(1),
    )
    vendor_payout = VendorPayout.objects.create(
        vendor=vendor,
        amount=Decimal(9),
        method="bkash",
        reference=f"VP{n}",
        idempotency_key=f"vendor-payout-{n}",
        recorded_by=user,
    )
    VendorLedgerEntry.objects.create(
        vendor=vendor, kind=LedgerKind.SALE, amount=Decimal(9), vendor_order=vendor_order
    )
    VendorLedgerEntry.objects.create(
        vendor=vendor, kind=LedgerKind.PAYOUT, amount=Decimal(-9), payout=vendor_payout
    )
    return order


def test_every_admin_page_renders_without_per_row_queries(store_admin_client):
    store_admins = [model for model in admin.site._registry if model._meta.app_label == "db"]
    assert set(store_admins) == set(apps.get_app_config("db").get_models())
    build_store(1)

    def changelist_queries() -> dict[str, int]:
        counts = {}
        for model in store_admins:
            url = reverse(f"admin:db_{model._meta.model_name}_changelist")
            with CaptureQueriesContext(connection) as queries:
                response = store_admin_client.get(url)
            if model is StoreSettings:  # the list of one row opens that row
                row_url = reverse("admin:db_storesettings_change", args=[STORE_SETTINGS_ID])
                assert (response.status_code, response.url) == (302, row_url)
            else:
                assert response.status_code == 200, url
            counts[url] = len(queries)
        return counts

    with_one_row = changelist_queries()
    build_store(2)
    build_store(3)
    assert changelist_queries() == with_one_row

    for model in store_admins:
        obj = model.objects.first()
        change_url = reverse(f"admin:db_{model._meta.model_name}_change", args=[obj.pk])
        assert store_admin_client.get(change_url).status_code == 200, change_url
    # Orders, payments and their histories are written by the store, never typed in.
    for name in ("order", "payment", "paymentevent", "refund", "orderstatusevent", "outboxmessage"):
        assert store_admin_client.get(reverse(f"admin:db_{name}_add")).status_code == 403
    for name in ("user", "category", "product", "vendor", "address"):
        assert store_admin_client.get(reverse(f"admin:db_{name}_add")).status_code == 200


def test_admin_adds_a_user_by_email_once(store_admin_client):
    def add_user(email: str):
        return store_admin_client.post(
            reverse("admin:db_user_add"),
            {
                "email": email,
                "usable_password": "true",
                "password1": "a-Long-passw0rd!",
                "password2": "a-Long-passw0rd!",
                "profile-TOTAL_FORMS": "0",
                "profile-INITIAL_FORMS": "0",
                "addresses-TOTAL_FORMS": "0",
                "addresses-INITIAL_FORMS": "0",
            },
        )

    assert add_user(" New.Staff@Example.COM").status_code == 302
    user = User.objects.get(email="new.staff@example.com")
    assert user.check_password("a-Long-passw0rd!")

    again = add_user("NEW.staff@example.com")
    assert again.status_code == 200
    assert "already exists" in str(again.context["adminform"].form.errors)
    assert User.objects.filter(email__iexact="new.staff@example.com").count() == 1


def test_admin_status_change_is_recorded_as_an_event(rf):
    staff = User.objects.create_superuser("ops@example.com", "pw")
    order = make_order()
    order_admin = admin.site._registry[Order]
    request = rf.post("/")
    request.user = staff
    form = order_admin.get_form(request, order)(instance=order, data={"status": "processing"})
    assert form.is_valid(), form.errors

    order_admin.save_model(request, form.save(commit=False), form, change=True)

    event = order.status_events.get()
    assert (event.from_status, event.to_status, event.actor) == ("placed", "processing", staff)
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING
