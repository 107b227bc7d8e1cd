"""Demo store settings, banners, featured collections, policy pages (English and Bangla) and a
few user-activity records, for `zest dev`. Idempotent like `devtools.seed`: rows are found by
their natural key (the one settings row, banner title, collection and page slug) and only
missing ones are created; activity documents have fixed ids, so a second run adds nothing."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from db.models import (
    Category,
    FeaturedCollection,
    HomeBanner,
    Product,
    SitePage,
    StoreSettings,
    User,
)
from db.models.site import STORE_SETTINGS_ID
from lib.access.activity import ActivityType, activity_store
from lib.catalog.sanitize import rich_text_clean
from lib.site.services import site_changed

SETTINGS = {
    "name_en": "Zest Store",
    "name_bn": "জেস্ট স্টোর",
    "tagline_en": "Fresh finds, delivered across Bangladesh",
    "tagline_bn": "সারা বাংলাদেশে পৌঁছে যায় নতুন সব পণ্য",
    "phone": "+8809612345678",
    "email": "support@zest.test",
    "address_en": "House 12, Road 5, Dhanmondi, Dhaka 1205",
    "address_bn": "বাড়ি ১২, রোড ৫, ধানমন্ডি, ঢাকা ১২০৫",
    "facebook_url": "https://www.facebook.com/zeststore",
    "instagram_url": "https://www.instagram.com/zeststore",
    "youtube_url": "https://www.youtube.com/@zeststore",
    "whatsapp_phone": "+8801712345678",
    "free_shipping_threshold": Decimal("3000.00"),
    "maintenance_message_en": "We are updating the store and will be back shortly.",
    "maintenance_message_bn": "আমরা স্টোর হালনাগাদ করছি, শিগগিরই ফিরে আসব।",
}
BANNERS = (
    {
        "title_en": "Eid collection is here",
        "title_bn": "ঈদ কালেকশন এসে গেছে",
        "subtitle_en": "Panjabi, saree and more, up to 30% off",
        "subtitle_bn": "পাঞ্জাবি, শাড়ি এবং আরও অনেক কিছু, ৩০% পর্যন্ত ছাড়",
        "link_url": "/categories/fashion",
        "position": 1,
    },
    {
        "title_en": "Free delivery over ৳3,000",
        "title_bn": "৳৩,০০০ এর বেশি অর্ডারে ফ্রি ডেলিভারি",
        "subtitle_en": "Anywhere in Bangladesh",
        "subtitle_bn": "বাংলাদেশের যেকোনো জায়গায়",
        "link_url": "/pages/shipping",
        "position": 2,
    },
)
PAGES = (
    (
        "shipping",
        "Shipping",
        "ডেলিভারি",
        "<p>Inside Dhaka in 1-2 days, outside Dhaka in 3-5 days. Orders of ৳3,000 or more "
        "ship free.</p>",
        "<p>ঢাকার ভেতরে ১-২ দিনে, ঢাকার বাইরে ৩-৫ দিনে। ৳৩,০০০ বা তার বেশি অর্ডারে ডেলিভারি ফ্রি।</p>",
    ),
    (
        "returns",
        "Returns and refunds",
        "ফেরত ও রিফান্ড",
        "<p>Return unused items within <strong>7 days</strong> of delivery for a full refund.</p>",
        "<p>ডেলিভারির <strong>৭ দিনের</strong> মধ্যে অব্যবহৃত পণ্য ফেরত দিলে পুরো টাকা ফেরত পাবেন।</p>",
    ),
    (
        "privacy",
        "Privacy policy",
        "গোপনীয়তা নীতি",
        "<p>We keep only what we need to deliver your orders and never sell your data.</p>",
        "<p>অর্ডার পৌঁছে দিতে যা দরকার শুধু তা-ই আমরা রাখি, আপনার তথ্য কখনো বিক্রি করি না।</p>",
    ),
    (
        "terms",
        "Terms of service",
        "সেবার শর্তাবলি",
        "<p>Prices are in Bangladeshi taka and include VAT.</p>",
        "<p>সব দাম বাংলাদেশি টাকায় এবং ভ্যাটসহ।</p>",
    ),
)
ACTIVITY_NAMESPACE = uuid.UUID("6f1d2a4e-38c1-4c59-9f0a-2d8a7c5b1e90")
DEMO_IP = "103.4.145.10"  # a Dhaka ISP range
PROBING_IP = "45.9.20.77"


def seed_site(
    *,
    users: dict[str, User],
    products: dict[str, Product],
    categories: dict[str, Category],
    stdout: Callable[[str], object] = print,
) -> None:
    """Create the missing demo site rows (inside the caller's transaction)."""
    StoreSettings.objects.get_or_create(pk=STORE_SETTINGS_ID, defaults=SETTINGS)
    for banner in BANNERS:
        HomeBanner.objects.get_or_create(title_en=banner["title_en"], defaults=banner)
    featured = sorted(
        (p for p in products.values() if p.is_featured), key=lambda p: p.sku
    ) or sorted(products.values(), key=lambda p: p.sku)
    picks, created = FeaturedCollection.objects.get_or_create(
        slug="editors-picks",
        defaults={"title_en": "Editor's picks", "title_bn": "সম্পাদকের পছন্দ", "position": 1},
    )
    if created:
        picks.products.set(featured[:6])
    top = next((c for c in categories.values() if c.parent_id is None), None)
    if top is not None:
        FeaturedCollection.objects.get_or_create(
            slug=f"shop-{top.slug}",
            defaults={
                "title_en": f"Shop {top.name_en}",
                "title_bn": f"{top.name_bn or top.name_en} কিনুন",
                "category": top,
                "position": 2,
            },
        )
    for position, (slug, title_en, title_bn, body_en, body_bn) in enumerate(PAGES):
        SitePage.objects.get_or_create(
            slug=slug,
            defaults={
                "title_en": title_en,
                "title_bn": title_bn,
                "body_en": rich_text_clean(body_en),
                "body_bn": rich_text_clean(body_bn),
                "is_published": True,
                "position": position,
            },
        )
    site_changed()
    stdout(f"site: settings, {len(BANNERS)} banners, 2 collections, {len(PAGES)} pages")
    activity_seed(users, stdout=stdout)


def activity_records(users: dict[str, User]) -> list[dict[str, Any]]:
    """Sign-ins of every demo user, and a burst of failed sign-ins from one IP (what the
    suspicious-activity report shows)."""
    now = timezone.now()
    records = []
    for index, (email, user) in enumerate(sorted(users.items())):
        records.append(
            (
                f"sign-in:{email}",
                user.pk,
                ActivityType.SIGN_IN,
                {},
                DEMO_IP,
                now - timedelta(minutes=90 - index),
            )
        )
    target = next((u for e, u in sorted(users.items()) if e.startswith("customer")), None)
    for attempt in range(6):
        records.append(
            (
                f"failed:{attempt}",
                target.pk if target else None,
                ActivityType.SIGN_IN_FAILED,
                {
                    "email": target.email if target else "someone@zest.test",
                    "reason": "wrong_password",
                },
                PROBING_IP,
                now - timedelta(minutes=30 - attempt),
            )
        )
    return [
        {
            "id": uuid.uuid5(ACTIVITY_NAMESPACE, key).hex,
            "user_id": str(user_id) if user_id else None,
            "activity_type": str(kind),
            "details": details,
            "ip": ip,
            "timestamp": at.isoformat(),
        }
        for key, user_id, kind, details, ip, at in records
    ]


def activity_seed(users: dict[str, User], *, stdout: Callable[[str], object] = print) -> None:
    records = activity_records(users)
    try:
        for record in records:
            activity_store(record)  # a fixed id: written once
    except Exception as exc:  # the document store is optional for the rest of the demo
        stdout(f"activity: not written ({type(exc).__name__}: {exc})")
        return
    stdout(f"activity: {len(records)} demo records")
