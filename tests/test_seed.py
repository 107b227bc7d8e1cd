"""The demo data of `zest seed` / `zest dev`: complete, bilingual, and safe to re-run."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db.models import Count, Q, Sum

from db.models import (
    Address,
    Category,
    Product,
    ProductImage,
    ProductVariation,
    User,
    UserRole,
    Vendor,
    VendorMember,
    VendorRole,
)
from devtools.seed import CUSTOMER, DEMO_PASSWORD, DEMO_USERS, seed_demo_data

pytestmark = pytest.mark.django_db
BANGLA = re.compile(r"[\u0980-\u09FF]")
BD_MOBILE = re.compile(r"^\+8801[3-9]\d{8}$")


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """Seeded once for the module (committed); each test still runs in its own rolled-back
    transaction, and the tables are emptied again when the module is done."""
    lines: list[str] = []
    with django_db_blocker.unblock():
        result = seed_demo_data(stdout=lines.append)
        try:
            yield result, lines
        finally:
            call_command("flush", interactive=False, verbosity=0)


def test_seeding_twice_creates_nothing_the_second_time(seeded):
    first, _ = seeded

    second = seed_demo_data(stdout=lambda line: None)

    assert first.created == first.totals  # an empty database gets everything
    assert second.totals == first.totals
    assert not second.created_any
    assert "already present" in second.summary()
    assert first.totals == {
        "categories": Category.objects.count(),
        "products": Product.objects.count(),
        "variations": ProductVariation.objects.count(),
        "images": ProductImage.objects.count(),
        "users": User.objects.count(),
        "vendors": Vendor.objects.count(),
        "addresses": Address.objects.count(),
    }


def test_a_second_run_keeps_what_a_developer_changed(seeded):
    product = Product.objects.order_by("sku").first()
    Product.objects.filter(pk=product.pk).update(price=Decimal("1.00"))

    seed_demo_data(stdout=lambda line: None)

    product.refresh_from_db()
    assert product.price == Decimal("1.00")


def test_progress_is_reported_per_stage(seeded):
    result, lines = seeded

    assert f"products {result.totals['products']}/{result.totals['products']}" in lines
    assert f"categories {result.totals['categories']}/{result.totals['categories']}" in lines


def test_catalog_is_large_bilingual_and_priced_in_taka(seeded):
    products = list(Product.objects.all())

    assert len(products) >= 40
    for product in products:
        assert BANGLA.search(product.name_bn), product.name_en
        assert BANGLA.search(product.description_bn)
        assert product.description_en.startswith("<p>")
        assert product.seo_title_en and product.seo_title_bn and product.tags
        assert product.price > 0
        assert product.price == product.price.quantize(Decimal("0.01"))
        assert product.compare_price is None or product.compare_price >= product.price
    assert Product.objects.filter(quantity=0).exists()
    assert Product.objects.filter(quantity__gt=0, quantity__lte=5).exists()
    assert Product.objects.exclude(compare_price=None).exists()
    assert len({product.sku for product in products}) == len(products)


def test_categories_are_nested_three_levels_deep_with_products_in_leaves(seeded):
    tops = Category.objects.filter(parent=None)
    grandchildren = Category.objects.filter(parent__parent__isnull=False)

    assert tops.count() >= 8
    assert grandchildren.exists()
    assert all(BANGLA.search(category.name_bn) for category in Category.objects.all())
    assert not Product.objects.filter(category__children__isnull=False).exists()
    leaves_used = Product.objects.values("category").distinct().count()
    assert leaves_used >= 15


def test_every_product_has_one_primary_image_in_storage(seeded):
    counts = Product.objects.annotate(
        primaries=Count("images", filter=Q(images__is_primary=True)), images_total=Count("images")
    )

    assert {product.primaries for product in counts} == {1}
    assert any(product.images_total == 2 for product in counts)
    for image in ProductImage.objects.select_related("product"):
        assert image.blob_pathname.startswith(f"products/{image.product.slug}/")
        assert image.image_url
        assert default_storage.exists(image.blob_pathname)


def test_clothing_and_shoes_have_variations_with_their_own_sku_and_stock(seeded):
    for slug in ("panjabi", "sarees", "mens-shoes"):
        product = Product.objects.filter(category__slug=slug).first()
        variations = product.variations.all()
        assert variations.count() >= 3
        assert all(variation.sku.startswith(product.sku) for variation in variations)
        assert variations.aggregate(total=Sum("quantity"))["total"] == product.quantity


def test_each_role_has_a_user_who_signs_in_with_the_demo_password(seeded):
    users = {user.role: user for user in User.objects.all()}

    assert set(users) == set(UserRole.values)
    assert {email for email, _, _ in DEMO_USERS} == set(
        User.objects.values_list("email", flat=True)
    )
    assert users[UserRole.ADMIN].is_superuser and users[UserRole.ADMIN].is_staff
    assert not users[UserRole.CUSTOMER].is_staff
    for user in users.values():
        assert user.check_password(DEMO_PASSWORD)
        assert BD_MOBILE.match(user.phone)


def test_vendors_have_an_owner_a_staff_member_and_products(seeded):
    memberships = VendorMember.objects.select_related("user", "vendor")

    roles = {(m.role, m.user.role) for m in memberships}
    assert (VendorRole.OWNER, UserRole.VENDOR_OWNER) in roles
    assert (VendorRole.STAFF, UserRole.VENDOR_STAFF) in roles
    assert Vendor.objects.count() == 2
    owners = {m.vendor_id for m in memberships if m.role == VendorRole.OWNER}
    assert len(owners) == 2  # every vendor has an owner
    assert all(vendor.products.exists() for vendor in Vendor.objects.all())


def test_the_customer_has_dhaka_and_chattogram_addresses(seeded):
    customer = User.objects.get(email=CUSTOMER)
    addresses = customer.addresses.all()

    assert {address.city for address in addresses} == {"Dhaka", "Chattogram"}
    assert [address.is_default for address in addresses].count(True) == 1
    assert all(BD_MOBILE.match(address.phone) for address in addresses)
