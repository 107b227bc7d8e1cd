"""Product page SEO: canonical URL and schema.org Product JSON-LD, in both languages."""

from __future__ import annotations

from decimal import Decimal

import pytest

import api.catalog
from db.models import ProductVariation, Vendor
from lib.catalog.cache import catalog_cache_invalidate
from lib.catalog.sanitize import plain_text, rich_text_clean
from lib.conf import config
from tests import factories
from tests.support import call

pytestmark = pytest.mark.django_db


@pytest.fixture
def get(server_key):
    def get(slug: str, language: str = "en") -> dict:
        headers = {**server_key, "Accept-Language": language}
        response = call(api.catalog.app, "GET", f"/api/v1/products/{slug}", headers=headers)
        assert response.status == 200, response.body
        return response.json()

    return get


@pytest.fixture
def jamdani():
    saree = factories.category(name_en="Saree", name_bn="শাড়ি", slug="saree")
    vendor = Vendor.objects.create(name="Tant Ghor", slug="tant-ghor", status="active")
    return factories.product(
        category=saree,
        vendor=vendor,
        name_en="Dhakai Jamdani",
        name_bn="ঢাকাই জামদানি",
        slug="dhakai-jamdani",
        sku="JAM-001",
        price=Decimal("12500.00"),
        description_en=rich_text_clean("<p>Hand-woven <strong>cotton</strong> &amp; silk.</p>"),
        description_bn=rich_text_clean("<p>হাতে বোনা <em>সুতি</em> ও রেশম।</p>"),
        rating_count=4,
        rating_sum=18,
        images=2,
    )


def test_canonical_url_is_the_storefront_product_page(get, jamdani):
    body = get("dhakai-jamdani")
    assert body["canonical_url"] == f"{config.storefront_url}/products/dhakai-jamdani"
    assert body["json_ld"]["url"] == body["canonical_url"]
    assert get("dhakai-jamdani", "bn")["canonical_url"] == body["canonical_url"]


def test_json_ld_describes_the_product_in_english(get, jamdani):
    ld = get("dhakai-jamdani")["json_ld"]

    assert (ld["@context"], ld["@type"]) == ("https://schema.org", "Product")
    assert (ld["name"], ld["sku"], ld["category"]) == ("Dhakai Jamdani", "JAM-001", "Saree")
    assert ld["description"] == "Hand-woven cotton & silk."  # plain text, no markup
    assert ld["image"] == [
        "https://img.example/dhakai-jamdani/0.png",  # the primary image first
        "https://img.example/dhakai-jamdani/1.png",
    ]
    assert ld["brand"] == {"@type": "Brand", "name": "Tant Ghor"}
    offer = ld["offers"]
    assert (offer["@type"], offer["price"], offer["priceCurrency"]) == ("Offer", "12500.00", "BDT")
    assert offer["availability"] == "https://schema.org/InStock"
    assert offer["url"] == ld["url"]
    assert ld["aggregateRating"] == {
        "@type": "AggregateRating",
        "ratingValue": 4.5,
        "ratingCount": 4,
        "bestRating": 5,
        "worstRating": 1,
    }


def test_json_ld_in_bangla_falls_back_to_english_where_empty(get, jamdani):
    ld = get("dhakai-jamdani", "bn")["json_ld"]
    assert (ld["name"], ld["category"]) == ("ঢাকাই জামদানি", "শাড়ি")
    assert ld["description"] == "হাতে বোনা সুতি ও রেশম।"
    assert ld["offers"]["price"] == "12500.00"  # machine-readable, not Bangla digits

    jamdani.name_bn = jamdani.description_bn = ""
    jamdani.save()
    catalog_cache_invalidate(product_ids=[jamdani.pk])
    ld = get("dhakai-jamdani", "bn")["json_ld"]
    assert (ld["name"], ld["description"]) == ("Dhakai Jamdani", "Hand-woven cotton & silk.")


def test_unrated_products_have_no_rating_and_the_store_as_brand(get):
    product = factories.product(category=factories.category(), slug="plain")
    ld = get("plain")["json_ld"]
    assert "aggregateRating" not in ld
    assert ld["brand"]["name"] == "Zest Store" and ld["description"] == ""
    assert product.rating_count == 0


def test_availability_follows_stock_reservations_and_variations(get, jamdani):
    assert get("dhakai-jamdani")["json_ld"]["offers"]["availability"].endswith("/InStock")

    factories.reservation(product=jamdani, quantity=jamdani.quantity)  # all held by carts
    catalog_cache_invalidate(product_ids=[jamdani.pk])
    assert get("dhakai-jamdani")["json_ld"]["offers"]["availability"].endswith("/OutOfStock")

    # With variations, a shopper buys a variation: the product's own count does not matter.
    other = factories.product(category=jamdani.category, slug="panjabi", quantity=50)
    size_m = factories.variation(product=other, value="M", quantity=0)
    assert get("panjabi")["json_ld"]["offers"]["availability"].endswith("/OutOfStock")
    ProductVariation.objects.filter(pk=size_m.pk).update(quantity=2)
    catalog_cache_invalidate(product_ids=[other.pk])
    assert get("panjabi")["json_ld"]["offers"]["availability"].endswith("/InStock")


def test_seo_data_costs_no_extra_query(get, jamdani, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):  # product, images, variations, categories
        body = get("dhakai-jamdani")
    assert body["json_ld"]["brand"]["name"] == "Tant Ghor"


def test_plain_text_drops_markup_and_script_content():
    html = "<h2>Care</h2><p>Dry&nbsp;clean <script>x()</script>only.</p><ul><li>৳ 100</li></ul>"
    assert plain_text(html) == "Care Dry clean only. ৳ 100"
