"""Demo data for local development: a bilingual catalog, a user per role, two vendors.

`seed_demo_data()` is idempotent: rows are looked up by their natural key (slug, SKU, email)
and only the missing ones are created, in one transaction, so a second run changes nothing
and keeps whatever a developer edited.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import models, transaction
from django.utils import timezone
from django.utils.html import escape
from django.utils.text import slugify

from db.models import (
    Address,
    Category,
    Product,
    ProductImage,
    ProductVariation,
    User,
    UserProfile,
    UserRole,
    Vendor,
    VendorMember,
    VendorRole,
    VendorStatus,
)
from devtools.demo_images import product_png
from devtools.seed_site import seed_site
from devtools.seed_vendors import seed_vendors
from lib.loyalty.tiers import loyalty_tiers_seed
from lib.money import BANGLA_DIGITS

# Printed by `zest dev`; local demo accounts only, never a deployed secret.
DEMO_PASSWORD = "ZestDemo!2026"  # noqa: S105
CENT = Decimal("0.01")


def table(text: str) -> list[list[str]]:
    """Rows of a `|`-separated table, cells stripped."""
    return [[cell.strip() for cell in line.split("|")] for line in text.strip().splitlines()]


# Emails, roles and phones of the demo accounts: every role, some twice.
USERS = """
admin@zest.test        | admin        | Farhana Rahman | +8801711234567
staff@zest.test        | staff        | Kamal Hossain  | +8801819876543
support@zest.test      | support      | Tanvir Ahmed   | +8801912345678
vendor.owner@zest.test | vendor_owner | Shirin Akter   | +8801612345678
vendor.staff@zest.test | vendor_staff | Rafiq Islam    | +8801512345678
customer@zest.test     | customer     | Nusrat Jahan   | +8801311223344
customer2@zest.test    | customer     | Arif Chowdhury | +8801411556677
gadgets.owner@zest.test | vendor_owner | Mahmud Hasan  | +8801811000333
"""
DEMO_USERS = tuple((email, role, name) for email, role, name, _ in table(USERS))
ADMIN_SITE_ROLES = {UserRole.ADMIN, UserRole.STAFF, UserRole.SUPPORT}
BANGLA_FIRST_ROLES = {UserRole.CUSTOMER, UserRole.VENDOR_STAFF}
CUSTOMER = "customer@zest.test"

# code (used by PRODUCTS) | slug | name | commission % | contact email | contact phone
VENDORS = """
N | nakshi-ghar        | Nakshi Ghar        | 12.50 | hello@nakshighar.test | +8801711000111
K | karnaphuli-gadgets | Karnaphuli Gadgets | 8.00  | sales@karnaphuli.test | +8801811000222
"""
VENDOR_MEMBERS = (
    ("nakshi-ghar", "vendor.owner@zest.test", VendorRole.OWNER),
    ("nakshi-ghar", "vendor.staff@zest.test", VendorRole.STAFF),
    ("karnaphuli-gadgets", "gadgets.owner@zest.test", VendorRole.OWNER),
)
# The demo customer's address book: line 1 | area | city | division | postcode | default
ADDRESSES = """
House 12, Road 5               | Dhanmondi | Dhaka      | Dhaka      | 1205 | yes
Sheikh Mujib Road, Agrabad C/A | Agrabad   | Chattogram | Chattogram | 4100 | no
"""

CATEGORIES = """
fashion            | -                 | Fashion                | ফ্যাশন
fashion-men        | fashion           | Men                    | পুরুষ
panjabi            | fashion-men       | Panjabi                | পাঞ্জাবি
mens-shirts        | fashion-men       | Shirts                 | শার্ট
mens-shoes         | fashion-men       | Shoes                  | জুতা
fashion-women      | fashion           | Women                  | নারী
sarees             | fashion-women     | Sarees                 | শাড়ি
salwar-kameez      | fashion-women     | Salwar Kameez          | সালোয়ার কামিজ
groceries          | -                 | Groceries              | মুদি বাজার
rice-pulses        | groceries         | Rice & Pulses          | চাল ও ডাল
oil-spices         | groceries         | Oil & Spices           | তেল ও মসলা
tea-snacks         | groceries         | Tea, Honey & Snacks    | চা, মধু ও নাস্তা
electronics        | -                 | Electronics            | ইলেকট্রনিক্স
mobile-phones      | electronics       | Mobile Phones          | মোবাইল ফোন
mobile-accessories | electronics       | Mobile Accessories     | মোবাইল এক্সেসরিজ
audio              | electronics       | Audio                  | অডিও
home-kitchen       | -                 | Home & Kitchen         | ঘর ও রান্নাঘর
cookware           | home-kitchen      | Cookware               | রান্নার সরঞ্জাম
home-decor         | home-kitchen      | Home Decor             | ঘর সাজানো
beauty             | -                 | Beauty & Personal Care | সৌন্দর্য ও ব্যক্তিগত যত্ন
skin-care          | beauty            | Skin Care              | ত্বকের যত্ন
hair-care          | beauty            | Hair Care              | চুলের যত্ন
books              | -                 | Books                  | বই
bangla-literature  | books             | Bangla Literature      | বাংলা সাহিত্য
novels             | bangla-literature | Novels                 | উপন্যাস
poetry             | bangla-literature | Poetry                 | কবিতা
childrens-books    | books             | Children's Books       | শিশুতোষ বই
sports             | -                 | Sports & Outdoors      | খেলাধুলা
cricket            | sports            | Cricket                | ক্রিকেট
football           | sports            | Football               | ফুটবল
baby               | -                 | Baby & Kids            | শিশু ও বাচ্চাদের
baby-care          | baby              | Baby Care              | শিশুর যত্ন
toys               | baby              | Toys                   | খেলনা
"""

BLURBS = """
panjabi            | Cotton and silk panjabis for Eid and every day. | ঈদ ও প্রতিদিনের পাঞ্জাবি।
mens-shirts        | Office and casual shirts in breathable fabric. | আরামদায়ক কাপড়ের অফিস ও ক্যাজুয়াল শার্ট।
mens-shoes         | Leather and sports footwear for men. | পুরুষদের চামড়ার ও খেলাধুলার জুতা।
sarees             | Jamdani, Tangail and Rajshahi silk. | জামদানি, টাঙ্গাইল ও রাজশাহী সিল্ক।
salwar-kameez      | Three-pieces in lawn and cotton. | লন ও সুতির থ্রি-পিস।
rice-pulses        | Everyday rice and lentils, packed fresh. | প্রতিদিনের চাল ও ডাল, তাজা প্যাকেটে।
oil-spices         | Cooking oils and ground spices. | ভোজ্য তেল ও গুঁড়া মসলা।
tea-snacks         | Sylhet tea, Sundarbans honey and snacks. | সিলেটের চা, সুন্দরবনের মধু ও নাস্তা।
mobile-phones      | Smartphones with official warranty. | অফিসিয়াল ওয়ারেন্টিসহ স্মার্টফোন।
mobile-accessories | Chargers, power banks and cables. | চার্জার, পাওয়ার ব্যাংক ও ক্যাবল।
audio              | Earbuds and speakers for music on the go. | চলার পথে গান শোনার ইয়ারবাড ও স্পিকার।
cookware           | Pans, pots and cookers for daily cooking. | প্রতিদিনের রান্নার প্যান, হাঁড়ি ও কুকার।
home-decor         | Nakshi kantha, jute and handmade decor. | নকশি কাঁথা, পাট ও হাতে তৈরি সাজসজ্জা।
skin-care          | Skin care for a humid climate. | আর্দ্র আবহাওয়ার উপযোগী ত্বকের যত্ন।
hair-care          | Oils and shampoos for healthy hair. | সুস্থ চুলের জন্য তেল ও শ্যাম্পু।
novels             | Classic and modern Bangla novels. | চিরায়ত ও আধুনিক বাংলা উপন্যাস।
poetry             | Tagore, Nazrul and more. | রবীন্দ্রনাথ, নজরুল ও আরও অনেকে।
childrens-books    | Rhymes and folk tales for young readers. | ছোটদের জন্য ছড়া ও রূপকথা।
cricket            | Bats, balls and gear for the game we love. | প্রিয় খেলার ব্যাট, বল ও সরঞ্জাম।
football           | Footballs and boots for the field. | মাঠের জন্য ফুটবল ও বুট।
baby-care          | Gentle care for babies. | শিশুর জন্য কোমল যত্ন।
toys               | Safe toys that teach and delight. | শেখা ও আনন্দের নিরাপদ খেলনা।
"""

# category | English | Bangla | price | compare price | stock | vendor (VENDORS code) | variations
PRODUCTS = """
panjabi | Cotton Panjabi, Embroidered Collar | নকশি কলারের সুতি পাঞ্জাবি | 1850 | 2200 | 40 | N | size
panjabi | Silk Eid Panjabi | সিল্কের ঈদ পাঞ্জাবি | 3450 | 3990 | 24 | N | size
mens-shirts | Formal Cotton Shirt | ফরমাল সুতি শার্ট | 1290 | - | 60 | - | size
mens-shirts | Linen Casual Shirt | লিনেন ক্যাজুয়াল শার্ট | 1590 | 1890 | 36 | - | size
mens-shoes | Leather Loafers | চামড়ার লোফার | 3200 | 3800 | 20 | - | shoe
mens-shoes | Leather Sandals | চামড়ার স্যান্ডেল | 1450 | - | 5 | - | shoe
mens-shoes | Running Sneakers | রানিং স্নিকার্স | 2850 | 3500 | 25 | - | shoe
sarees | Dhakai Jamdani Saree | ঢাকাই জামদানি শাড়ি | 12500 | 15000 | 6 | N | color
sarees | Tangail Cotton Saree | টাঙ্গাইল সুতি শাড়ি | 2450 | - | 30 | N | color
sarees | Rajshahi Silk Saree | রাজশাহী সিল্ক শাড়ি | 6800 | 7500 | 3 | N | color
salwar-kameez | Printed Cotton Three-Piece | প্রিন্টেড সুতি থ্রি-পিস | 1950 | 2400 | 45 | - | size
salwar-kameez | Embroidered Lawn Three-Piece | এমব্রয়ডারি করা লন থ্রি-পিস | 2750 | - | 20 | N | size
rice-pulses | Miniket Rice 5 kg | মিনিকেট চাল ৫ কেজি | 385 | 420 | 200 | - | -
rice-pulses | Chinigura Aromatic Rice 1 kg | চিনিগুড়া সুগন্ধি চাল ১ কেজি | 155 | - | 150 | - | -
rice-pulses | Red Lentils (Masoor Dal) 1 kg | মসুর ডাল ১ কেজি | 135 | - | 180 | - | -
rice-pulses | Moong Dal 1 kg | মুগ ডাল ১ কেজি | 165 | - | 0 | - | -
oil-spices | Soybean Oil 5 L | সয়াবিন তেল ৫ লিটার | 850 | 920 | 80 | - | -
oil-spices | Mustard Oil 1 L | সরিষার তেল ১ লিটার | 290 | - | 90 | - | -
oil-spices | Turmeric Powder 200 g | হলুদ গুঁড়া ২০০ গ্রাম | 95 | - | 120 | - | -
tea-snacks | Sylhet Premium Tea 400 g | সিলেটের প্রিমিয়াম চা ৪০০ গ্রাম | 260 | 290 | 100 | - | -
tea-snacks | Chanachur 350 g | চানাচুর ৩৫০ গ্রাম | 70 | - | 140 | - | -
tea-snacks | Sundarbans Honey 500 g | সুন্দরবনের মধু ৫০০ গ্রাম | 650 | 750 | 2 | - | -
mobile-phones | Galaxy A15 6/128 GB | গ্যালাক্সি এ১৫ ৬/১২৮ জিবি | 21999 | 23999 | 15 | K | color
mobile-phones | Redmi 13C 4/128 GB | রেডমি ১৩সি ৪/১২৮ জিবি | 14499 | - | 25 | K | color
mobile-phones | Walton Primo H10 | ওয়ালটন প্রিমো এইচ১০ | 9990 | 10990 | 4 | K | -
mobile-accessories | 20 W Fast Charger | ২০ ওয়াট ফাস্ট চার্জার | 890 | 1200 | 70 | K | -
mobile-accessories | 10000 mAh Power Bank | ১০০০০ এমএএইচ পাওয়ার ব্যাংক | 1650 | 1990 | 40 | K | -
audio | Wireless Earbuds | ওয়্যারলেস ইয়ারবাড | 2490 | 2990 | 30 | K | color
audio | Portable Bluetooth Speaker | পোর্টেবল ব্লুটুথ স্পিকার | 3290 | - | 12 | K | -
cookware | Non-Stick Frying Pan 26 cm | নন-স্টিক ফ্রাইপ্যান ২৬ সেমি | 1450 | 1750 | 25 | - | -
cookware | Pressure Cooker 5 L | প্রেশার কুকার ৫ লিটার | 2650 | - | 14 | - | -
cookware | Clay Cooking Pot | মাটির হাঁড়ি | 450 | - | 30 | - | -
home-decor | Nakshi Kantha Bed Cover | নকশি কাঁথার বেডকভার | 4500 | 5200 | 8 | N | -
home-decor | Jute Floor Mat | পাটের ফ্লোর ম্যাট | 1200 | - | 20 | N | -
home-decor | Rickshaw Art Tray | রিকশা আর্টের ট্রে | 850 | - | 15 | N | -
skin-care | Sunscreen SPF 50, 50 ml | সানস্ক্রিন এসপিএফ ৫০, ৫০ মিলি | 950 | 1100 | 40 | - | -
skin-care | Aloe Vera Gel 200 ml | অ্যালোভেরা জেল ২০০ মিলি | 420 | - | 55 | - | -
hair-care | Coconut Hair Oil 350 ml | নারকেল তেল ৩৫০ মিলি | 260 | - | 80 | - | -
hair-care | Herbal Shampoo 340 ml | হারবাল শ্যাম্পু ৩৪০ মিলি | 380 | 450 | 60 | - | -
novels | Pather Panchali | পথের পাঁচালী | 380 | 450 | 25 | - | -
novels | Devdas | দেবদাস | 250 | - | 30 | - | -
novels | Lalsalu | লালসালু | 220 | - | 35 | - | -
poetry | Gitanjali | গীতাঞ্জলি | 300 | - | 20 | - | -
poetry | Sanchita | সঞ্চিতা | 450 | 500 | 3 | - | -
childrens-books | Thakurmar Jhuli | ঠাকুরমার ঝুলি | 350 | - | 28 | - | -
childrens-books | Abol Tabol | আবোল তাবোল | 200 | - | 40 | - | -
cricket | Kashmir Willow Cricket Bat | কাশ্মীর উইলো ক্রিকেট ব্যাট | 3500 | 4200 | 12 | - | -
cricket | Tape Tennis Balls, 6 pcs | টেপ টেনিস বল, ৬টি | 480 | - | 75 | - | -
football | Football, Size 5 | ফুটবল, সাইজ ৫ | 1250 | 1500 | 30 | - | -
football | Football Boots | ফুটবল বুট | 2950 | - | 16 | - | shoe
baby-care | Baby Diapers M, 50 pcs | বেবি ডায়াপার এম, ৫০টি | 1350 | 1500 | 60 | - | -
baby-care | Baby Lotion 200 ml | বেবি লোশন ২০০ মিলি | 390 | - | 45 | - | -
toys | Wooden Puzzle Set | কাঠের পাজল সেট | 650 | - | 25 | - | -
toys | Remote Control Car | রিমোট কন্ট্রোল গাড়ি | 1850 | 2200 | 10 | - | -
"""

# variation kind: type, [(English value, Bangla value, price adjustment)]
SIZES = [("S", "ছোট", "0"), ("M", "মাঝারি", "0"), ("L", "বড়", "0"), ("XL", "অতিরিক্ত বড়", "100")]
SHOE_SIZES = [(str(size), str(size).translate(BANGLA_DIGITS), "0") for size in range(39, 44)]
COLORS = [("Red", "লাল", "0"), ("Green", "সবুজ", "0"), ("Black", "কালো", "0")]
VARIATIONS = {"size": ("size", SIZES), "shoe": ("size", SHOE_SIZES), "color": ("color", COLORS)}


def sku_for(slug: str) -> str:
    return f"ZS-{zlib.crc32(slug.encode()) % 1_000_000:06d}"


def money(value: str) -> Decimal | None:
    return None if value == "-" else Decimal(value).quantize(CENT)


@dataclass(frozen=True, slots=True)
class SeedResult:
    totals: dict[str, int]  # demo rows of each kind now present
    created: dict[str, int]  # of which this run created

    @property
    def created_any(self) -> bool:
        return any(self.created.values())

    def summary(self) -> str:
        counts = ", ".join(f"{count} {name}" for name, count in self.totals.items())
        if not self.created_any:
            return f"already present, kept as is ({counts})"
        new = ", ".join(f"{count} {name}" for name, count in self.created.items() if count)
        return f"created {new}" + ("" if self.created == self.totals else f" (now {counts})")


def ensure(
    model: type[models.Model],
    key: str,
    rows: dict[str, dict[str, Any]],
    *,
    link: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] | None = None,
    create: Callable[..., Any] | None = None,
) -> tuple[dict[str, Any], int]:
    """Get or create one row per `rows` key (looked up in one query by the unique `key`)."""
    found = model.objects.in_bulk(list(rows), field_name=key)
    create = create or model.objects.create
    created = 0
    for value, fields in rows.items():
        if value not in found:
            found[value] = create(**{key: value, **(link(fields, found) if link else fields)})
            created += 1
    return found, created


def category_rows() -> dict[str, dict[str, Any]]:
    blurbs = {slug: (en, bn) for slug, en, bn in table(BLURBS)}
    rows, positions = {}, {}
    for slug, parent, name_en, name_bn in table(CATEGORIES):
        position = positions[parent] = positions.get(parent, -1) + 1
        en, bn = blurbs.get(slug, (f"Shop {name_en} online.", f"অনলাইনে {name_bn} কিনুন।"))
        rows[slug] = dict(
            parent=None if parent == "-" else parent, sort_order=position,
            name_en=name_en, name_bn=name_bn, description_en=en, description_bn=bn,
            seo_title_en=f"{name_en} | Zest Store", seo_title_bn=f"{name_bn} | জেস্ট স্টোর",
            seo_description_en=f"{en} Delivery across Bangladesh.",
            seo_description_bn=f"{bn} সারা বাংলাদেশে ডেলিভারি।",
        )  # fmt: skip
    return rows


def top_category(slug: str) -> str:
    parents = {row[0]: row[1] for row in table(CATEGORIES)}
    while parents[slug] != "-":
        slug = parents[slug]
    return slug


def product_rows(categories: dict[str, Category], vendors: dict[str, Vendor]) -> dict[str, dict]:
    vendor_slugs = {code: slug for code, slug, *_ in table(VENDORS)}
    rows = {}
    for cat, name_en, name_bn, price, compare, stock, vendor, _ in table(PRODUCTS):
        category, slug = categories[cat], slugify(name_en)
        tags = [cat, top_category(cat)] + (["sale"] if compare != "-" else [])
        rows[sku_for(slug)] = dict(
            slug=slug, category=category, name_en=name_en, name_bn=name_bn,
            vendor=vendors[vendor_slugs[vendor]] if vendor in vendor_slugs else None,
            description_en=(
                f"<p><strong>{escape(name_en)}</strong>. {escape(category.description_en)}</p>"
                "<ul><li>Price in BDT, VAT included</li><li>Delivery to all 64 districts</li>"
                "<li>Cash on delivery, bKash and Nagad</li></ul>"
            ),
            description_bn=(
                f"<p><strong>{escape(name_bn)}</strong>। {escape(category.description_bn)}</p>"
                "<ul><li>ভ্যাটসহ টাকায় মূল্য</li><li>৬৪ জেলায় ডেলিভারি</li>"
                "<li>ক্যাশ অন ডেলিভারি, বিকাশ ও নগদ</li></ul>"
            ),
            price=money(price), compare_price=money(compare),
            cost_price=(money(price) * Decimal("0.72")).quantize(CENT),
            quantity=int(stock), tags=tags, is_featured=compare != "-" and int(stock) > 10,
            seo_title_en=f"{name_en} | Zest Store", seo_title_bn=f"{name_bn} | জেস্ট স্টোর",
            seo_description_en=f"Buy {name_en} online in Bangladesh for ৳{price}.",
            seo_description_bn=f"{name_bn} কিনুন মাত্র ৳{price.translate(BANGLA_DIGITS)}-এ।",
            seo_keywords=", ".join([*tags, "bangladesh"]),
        )  # fmt: skip
    return rows


def variation_rows(products: dict[str, Product]) -> dict[str, dict[str, Any]]:
    rows = {}
    for _cat, name_en, *_, stock, _vendor, kind in table(PRODUCTS):
        if kind not in VARIATIONS:
            continue
        sku = sku_for(slugify(name_en))
        variation_type, options = VARIATIONS[kind]
        share, extra = divmod(int(stock), len(options))  # the variations add up to the stock
        for index, (value_en, value_bn, adjustment) in enumerate(options):
            rows[f"{sku}-{value_en.upper()}"] = dict(
                product=products[sku], variation_type=variation_type,
                variation_value_en=value_en, variation_value_bn=value_bn,
                price_adjustment=money(adjustment), quantity=share + (index < extra),
            )  # fmt: skip
    return rows


def add_images(products: list[Product]) -> int:
    """A primary image for each product without images; every third product gets two."""
    with_images = set(
        ProductImage.objects.filter(product__in=products).values_list("product_id", flat=True)
    )
    created = []
    for position, product in enumerate(products):
        if product.pk in with_images:
            continue
        for index in range(2 if position % 3 == 0 else 1):
            content = ContentFile(product_png(product.slug, index))
            name = default_storage.save(f"products/{product.slug}/{index + 1}.png", content)
            image = ProductImage(
                product=product, image_url=default_storage.url(name), blob_pathname=name,
                alt_text_en=product.name_en, alt_text_bn=product.name_bn,
                is_primary=index == 0, sort_order=index,
            )  # fmt: skip
            created.append(image)
    ProductImage.objects.bulk_create(created)
    return len(created)


def seed_people(created: dict[str, int]) -> tuple[dict[str, User], dict[str, Vendor]]:
    now = timezone.now()
    rows = {
        email: {
            "role": role, "full_name": name, "phone": phone, "email_verified_at": now,
            "is_staff": role in ADMIN_SITE_ROLES, "is_superuser": role == UserRole.ADMIN,
            "preferred_language": "bn" if role in BANGLA_FIRST_ROLES else "en",
        }
        for email, role, name, phone in table(USERS)
    }  # fmt: skip
    users, created["users"] = ensure(
        User, "email", rows, create=partial(User.objects.create_user, password=DEMO_PASSWORD)
    )
    for user in users.values():
        UserProfile.objects.get_or_create(user=user)
    customer, created["addresses"] = users[CUSTOMER], 0
    for line1, area, city, division, postcode, default in table(ADDRESSES):
        _, new = Address.objects.get_or_create(
            user=customer,
            address_line1=line1,
            defaults={
                "full_name": customer.full_name, "phone": customer.phone, "area": area,
                "city": city, "division": division, "postal_code": postcode,
                "is_default": default == "yes",
            },
        )  # fmt: skip
        created["addresses"] += new

    rows = {
        slug: {
            "name": name, "status": VendorStatus.ACTIVE, "commission_rate": Decimal(rate),
            "contact_email": email, "contact_phone": phone,
        }
        for _, slug, name, rate, email, phone in table(VENDORS)
    }  # fmt: skip
    vendors, created["vendors"] = ensure(Vendor, "slug", rows)
    for vendor_slug, email, role in VENDOR_MEMBERS:
        VendorMember.objects.get_or_create(
            vendor=vendors[vendor_slug], user=users[email], defaults={"role": role}
        )
    return users, vendors


def seed_demo_data(*, stdout: Callable[[str], object] = print) -> SeedResult:
    """Create whatever demo rows are missing; safe to run any number of times."""
    created: dict[str, int] = {}
    with transaction.atomic():
        users, vendors = seed_people(created)
        stdout(f"users {len(users)}/{len(DEMO_USERS)}, vendors {len(vendors)}")

        def with_parent(fields: dict[str, Any], found: dict[str, Any]) -> dict[str, Any]:
            return {**fields, "parent": found.get(fields["parent"])}

        rows = category_rows()
        categories, created["categories"] = ensure(Category, "slug", rows, link=with_parent)
        stdout(f"categories {len(categories)}/{len(rows)}")

        rows = product_rows(categories, vendors)
        products, created["products"] = ensure(Product, "sku", rows)
        stdout(f"products {len(products)}/{len(rows)}")

        created["images"] = add_images([products[sku] for sku in rows])
        images = ProductImage.objects.filter(product__in=products.values()).count()
        stdout(f"images {images} ({created['images']} new)")

        rows = variation_rows(products)
        variations, created["variations"] = ensure(ProductVariation, "sku", rows)
        stdout(f"variations {len(variations)}/{len(rows)}")
        loyalty_tiers_seed()  # Bronze, Silver, Gold where no tier exists
        seed_site(users=users, products=products, categories=categories, stdout=stdout)
        seed_vendors(users=users, vendors=vendors, stdout=stdout)

    totals = {
        "categories": len(categories), "products": len(products), "variations": len(variations),
        "images": images, "users": len(users), "vendors": len(vendors),
        "addresses": users[CUSTOMER].addresses.count(),
    }  # fmt: skip
    return SeedResult(totals=totals, created={name: created[name] for name in totals})
