"""Every model of the store, importable as `from db.models import Product`."""

from .access import ApiKey, ApiKeyKind, ApiKeySecret
from .base import (
    E164_VALIDATOR,
    ZERO,
    CreatedModel,
    Currency,
    Language,
    PaymentProvider,
    TimeStampedModel,
    UUIDModel,
    money_field,
)
from .catalog import Category, Product, ProductImage, ProductVariation, VariationType
from .checkout import (
    Discount,
    DiscountKind,
    DiscountRedemption,
    District,
    Division,
    FraudDecision,
    FraudReview,
    ShippingDistrictRate,
    ShippingZone,
    Upazila,
)
from .inventory import (
    InventoryAlert,
    InventoryAlertKind,
    StockAdjustment,
    StockAdjustmentReason,
    StockReservation,
)
from .orders import Order, OrderItem, OrderPaymentStatus, OrderStatus, OrderStatusEvent
from .outbox import OutboxMessage, OutboxStatus
from .payments import Payment, PaymentEvent, PaymentEventType, PaymentStatus
from .social import SocialAccount, SocialProvider
from .users import Address, User, UserManager, UserProfile, UserRole
from .vendors import Vendor, VendorMember, VendorRole, VendorStatus

__all__ = [
    "E164_VALIDATOR",
    "ZERO",
    "Address",
    "ApiKey",
    "ApiKeyKind",
    "ApiKeySecret",
    "Category",
    "CreatedModel",
    "Currency",
    "Discount",
    "DiscountKind",
    "DiscountRedemption",
    "District",
    "Division",
    "FraudDecision",
    "FraudReview",
    "InventoryAlert",
    "InventoryAlertKind",
    "Language",
    "Order",
    "OrderItem",
    "OrderPaymentStatus",
    "OrderStatus",
    "OrderStatusEvent",
    "OutboxMessage",
    "OutboxStatus",
    "Payment",
    "PaymentEvent",
    "PaymentEventType",
    "PaymentProvider",
    "PaymentStatus",
    "Product",
    "ProductImage",
    "ProductVariation",
    "ShippingDistrictRate",
    "ShippingZone",
    "SocialAccount",
    "SocialProvider",
    "StockAdjustment",
    "StockAdjustmentReason",
    "StockReservation",
    "TimeStampedModel",
    "UUIDModel",
    "Upazila",
    "User",
    "UserManager",
    "UserProfile",
    "UserRole",
    "VariationType",
    "Vendor",
    "VendorMember",
    "VendorRole",
    "VendorStatus",
    "money_field",
]
