"""Django admin for the whole store: staff manage users, vendors, catalog, orders and payments.

Rows that record history (payment and order status events) or that are computed by the
store (order lines and totals, payments, outbox, reservations) are read-only here.

One module per area registers its models when imported; importing this package (as Django's
admin autodiscovery does) imports them all.
"""

from __future__ import annotations

from db.admin.access import ApiKeyAdmin, ApiKeySecretAdmin, ApiKeySecretInline
from db.admin.analytics import DailyProductSalesAdmin, DailySalesAdmin
from db.admin.catalog import (
    SEO_FIELDS,
    CategoryAdmin,
    ChildCategoryInline,
    ProductAdmin,
    ProductImageAdmin,
    ProductImageInline,
    ProductVariationAdmin,
    ProductVariationInline,
)
from db.admin.chat import ChatMessageAdmin, ChatMessageInline, ConversationAdmin
from db.admin.checkout import (
    DiscountAdmin,
    DiscountRedemptionAdmin,
    DistrictAdmin,
    DivisionAdmin,
    FraudReviewAdmin,
    ShippingDistrictRateAdmin,
    ShippingZoneAdmin,
    UpazilaAdmin,
)
from db.admin.common import AdminAuditMixin, ReadOnlyMixin, VendorScopedAdmin
from db.admin.couriers import (
    ConsignmentAdmin,
    ConsignmentEventAdmin,
    ConsignmentEventInline,
    CourierPayoutAdmin,
    CourierPayoutLineAdmin,
    CourierPayoutLineInline,
)
from db.admin.loyalty import (
    AffiliateAdmin,
    AffiliateCommissionAdmin,
    AffiliateCommissionInline,
    AffiliatePayoutAdmin,
    CategoryPointsMultiplierAdmin,
    LoyaltyAccountAdmin,
    LoyaltyTierAdmin,
    PointsEntryAdmin,
    ReferralAdmin,
)
from db.admin.notifications import (
    NotificationAdmin,
    NotificationDeliveryAdmin,
    NotificationDeliveryInline,
    NotificationPreferenceAdmin,
    PushSubscriptionAdmin,
)
from db.admin.operations import (
    InventoryAlertAdmin,
    OutboxMessageAdmin,
    ReservationStateFilter,
    StockAdjustmentAdmin,
    StockReservationAdmin,
)
from db.admin.orders import (
    OrderAdmin,
    OrderItemAdmin,
    OrderItemInline,
    OrderStatusEventAdmin,
    OrderStatusEventInline,
    PaymentInline,
)
from db.admin.payments import (
    NeedsRefundFilter,
    PaymentAdmin,
    PaymentEventAdmin,
    PaymentEventInline,
    RefundAdmin,
    RefundInline,
)
from db.admin.site import (
    FeaturedCollectionAdmin,
    HomeBannerAdmin,
    SiteChangesMixin,
    SitePageAdmin,
    StoreSettingsAdmin,
)
from db.admin.users import (
    AddressAdmin,
    AddressInline,
    SocialAccountAdmin,
    SocialAccountInline,
    UserAdmin,
    UserChangeForm,
    UserCreationForm,
    UserProfileAdmin,
    UserProfileInline,
)
from db.admin.vendor_payouts import (
    CommissionRuleAdmin,
    VendorApplicationAdmin,
    VendorLedgerEntryAdmin,
    VendorOrderAdmin,
    VendorOrderLineInline,
    VendorPayoutAdmin,
)
from db.admin.vendors import VendorAdmin, VendorMemberAdmin, VendorMemberInline

__all__ = [
    "SEO_FIELDS",
    "AddressAdmin",
    "AddressInline",
    "AdminAuditMixin",
    "AffiliateAdmin",
    "AffiliateCommissionAdmin",
    "AffiliateCommissionInline",
    "AffiliatePayoutAdmin",
    "ApiKeyAdmin",
    "ApiKeySecretAdmin",
    "ApiKeySecretInline",
    "CategoryAdmin",
    "CategoryPointsMultiplierAdmin",
    "ChatMessageAdmin",
    "ChatMessageInline",
    "ChildCategoryInline",
    "CommissionRuleAdmin",
    "ConsignmentAdmin",
    "ConsignmentEventAdmin",
    "ConsignmentEventInline",
    "ConversationAdmin",
    "CourierPayoutAdmin",
    "CourierPayoutLineAdmin",
    "CourierPayoutLineInline",
    "DailyProductSalesAdmin",
    "DailySalesAdmin",
    "DiscountAdmin",
    "DiscountRedemptionAdmin",
    "DistrictAdmin",
    "DivisionAdmin",
    "FeaturedCollectionAdmin",
    "FraudReviewAdmin",
    "HomeBannerAdmin",
    "InventoryAlertAdmin",
    "LoyaltyAccountAdmin",
    "LoyaltyTierAdmin",
    "NeedsRefundFilter",
    "NotificationAdmin",
    "NotificationDeliveryAdmin",
    "NotificationDeliveryInline",
    "NotificationPreferenceAdmin",
    "OrderAdmin",
    "OrderItemAdmin",
    "OrderItemInline",
    "OrderStatusEventAdmin",
    "OrderStatusEventInline",
    "OutboxMessageAdmin",
    "PaymentAdmin",
    "PaymentEventAdmin",
    "PaymentEventInline",
    "PaymentInline",
    "PointsEntryAdmin",
    "ProductAdmin",
    "ProductImageAdmin",
    "ProductImageInline",
    "ProductVariationAdmin",
    "ProductVariationInline",
    "PushSubscriptionAdmin",
    "ReadOnlyMixin",
    "ReferralAdmin",
    "RefundAdmin",
    "RefundInline",
    "ReservationStateFilter",
    "ShippingDistrictRateAdmin",
    "ShippingZoneAdmin",
    "SiteChangesMixin",
    "SitePageAdmin",
    "SocialAccountAdmin",
    "SocialAccountInline",
    "StockAdjustmentAdmin",
    "StockReservationAdmin",
    "StoreSettingsAdmin",
    "UpazilaAdmin",
    "UserAdmin",
    "UserChangeForm",
    "UserCreationForm",
    "UserProfileAdmin",
    "UserProfileInline",
    "VendorAdmin",
    "VendorApplicationAdmin",
    "VendorLedgerEntryAdmin",
    "VendorMemberAdmin",
    "VendorMemberInline",
    "VendorOrderAdmin",
    "VendorOrderLineInline",
    "VendorPayoutAdmin",
    "VendorScopedAdmin",
]
