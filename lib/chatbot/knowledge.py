"""The facts the chatbot answers from, each read from our own data and limited to what the
caller may see: products (the catalog's search), the caller's orders (a signed-in user's own;
a guest's only when the order number and the phone it was placed with both match), delivery
zones, payment options and store policies (published site pages, else built-in texts)."""

from __future__ import annotations

from typing import Any

from db.models import Order, PaymentProvider, Product, ShippingZone
from lib.catalog.sanitize import plain_text
from lib.catalog.selectors import ProductFilters, category_index, product_list
from lib.errors import NotFound
from lib.i18n import Language
from lib.money import format_bdt
from lib.orders.selectors import order_status_fields, order_track

MAX_PRODUCTS = 3
MAX_SEARCHES = 3  # product searches one question may cost
POLICY_CHARS = 500
WALLETS = (
    PaymentProvider.BKASH,
    PaymentProvider.NAGAD,
    PaymentProvider.ROCKET,
    PaymentProvider.UPAY,
)
WALLET_NAMES_BN = {"bkash": "বিকাশ", "nagad": "নগদ", "rocket": "রকেট", "upay": "উপায়"}
# Which published page answers which question (its slug contains one of these).
POLICY_SLUGS: dict[str, tuple[str, ...]] = {
    "returns": ("return", "refund", "exchange"),
    "delivery": ("shipping", "delivery"),
    "payment": ("payment",),
    "policy": ("privacy", "terms", "warranty", "policy"),
}
# Used when the store has not published a page on the subject.
BUILT_IN_POLICIES: dict[str, tuple[str, str]] = {
    "returns": (
        "You can return an unused item in its original packaging within 7 days of delivery. "
        "Once we receive it, the refund goes back to your original payment method (cash on "
        "delivery orders are refunded by bKash or Nagad) within 7 working days.",
        "ডেলিভারির ৭ দিনের মধ্যে অব্যবহৃত পণ্য আসল প্যাকেটসহ ফেরত দিতে পারেন। পণ্যটি আমাদের "
        "কাছে পৌঁছানোর পর ৭ কর্মদিবসের মধ্যে আপনার পেমেন্টের মাধ্যমে টাকা ফেরত দেওয়া হয় "
        "(ক্যাশ অন ডেলিভারির অর্ডারে বিকাশ বা নগদে)।",
    ),
    "policy": (
        "We use your details only to process and deliver your orders and never sell them. "
        "Product warranties follow each maker's terms, shown on the product page.",
        "আপনার তথ্য শুধু অর্ডার প্রক্রিয়া ও ডেলিভারির জন্য ব্যবহার করা হয়, কখনো বিক্রি করা হয় "
        "না। পণ্যের ওয়ারেন্টি প্রস্তুতকারকের শর্ত অনুযায়ী, যা পণ্যের পাতায় দেওয়া আছে।",
    ),
}


# --- products ------------------------------------------------------------------------------


def products_find(words: tuple[str, ...], *, language: Language) -> list[Product]:
    """Up to `MAX_PRODUCTS` shown products matching every word, else the first word (longest
    first) that matches any: at most `MAX_SEARCHES` searches plus the category index."""
    if not words:
        return []
    categories = category_index()
    attempts = [" ".join(words)]
    attempts += [w for w in sorted(set(words), key=len, reverse=True) if w != attempts[0]]
    for text in attempts[:MAX_SEARCHES]:
        filters = ProductFilters(search=text, language=language, ordering="popularity")
        found = list(product_list(filters=filters, categories=categories)[:MAX_PRODUCTS])
        if found:
            return found
    return []


def product_fact(product: Product, language: Language) -> dict[str, Any]:
    name = (product.name_bn or product.name_en) if language == "bn" else product.name_en
    return {
        "name": name,
        "slug": product.slug,
        "price": format_bdt(product.price, language),
        "in_stock": product.available > 0,
    }


# --- orders --------------------------------------------------------------------------------


def order_card(order: Order, language: Language) -> dict[str, Any]:
    return {
        **order_status_fields(order, language),
        "placed_at": order.placed_at,
        "delivery_estimate": order.delivery_estimate or {},
    }


def orders_of_user(*, user_id: str, numbers: tuple[str, ...]) -> list[Order]:
    """The user's own orders among `numbers`, or their latest one when none is named: one
    query. Numbers of other people's orders simply find nothing."""
    orders = Order.objects.filter(user_id=user_id).order_by("-placed_at", "-id")
    if numbers:
        return list(orders.filter(number__in=numbers)[:MAX_PRODUCTS])
    return list(orders[:1])


def order_of_guest(*, numbers: tuple[str, ...], phones: tuple[str, ...]) -> Order | None:
    """The order whose number AND placing phone both match, else None (whether or not the
    number exists: the answer is the same)."""
    if len(numbers) != 1 or not phones:
        return None
    for phone in phones[:2]:
        try:
            return order_track(number=numbers[0], phone=phone)
        except NotFound:
            continue
    return None


# --- delivery, payment, policies -------------------------------------------------------------


def delivery_facts(language: Language) -> list[dict[str, Any]]:
    zones = ShippingZone.objects.order_by("rate", "code")
    return [
        {
            "zone": (zone.name_bn or zone.name_en) if language == "bn" else zone.name_en,
            "rate": format_bdt(zone.rate, language),
            "days_min": zone.delivery_days_min,
            "days_max": zone.delivery_days_max,
            "free_from": format_bdt(zone.free_shipping_threshold, language)
            if zone.free_shipping_threshold is not None
            else None,
        }
        for zone in zones
    ]


def payment_facts(language: Language) -> dict[str, Any]:
    from lib.site.selectors import checkout_settings

    settings = checkout_settings()
    wallets = [
        WALLET_NAMES_BN[w] if language == "bn" else PaymentProvider(w).label for w in WALLETS
    ]
    return {
        "cash_on_delivery": settings.cod_enabled,
        "cod_fee": format_bdt(settings.cod_fee, language),
        "cod_max_total": format_bdt(settings.cod_max_total, language),
        "wallets": [str(w) for w in wallets],
        "cards": "SSLCommerz",
    }


def policy_fact(topic: str, language: Language) -> dict[str, str] | None:
    """The published page on `topic` (title, excerpt, path), else the built-in text."""
    from lib.site.selectors import site_pages_published

    slugs = POLICY_SLUGS.get(topic, ())
    for page in site_pages_published():
        if any(part in page.slug for part in slugs):
            title = (page.title_bn or page.title_en) if language == "bn" else page.title_en
            body = (page.body_bn or page.body_en) if language == "bn" else page.body_en
            text = plain_text(body)
            if len(text) > POLICY_CHARS:
                text = text[: POLICY_CHARS - 1].rstrip() + "…"
            return {"title": title, "text": text, "path": f"/pages/{page.slug}"}
    built_in = BUILT_IN_POLICIES.get(topic)
    if built_in is None:
        return None
    return {"title": "", "text": built_in[1] if language == "bn" else built_in[0], "path": ""}
