"""Admin screens of loyalty and referrals: the ledger is view-only; affiliates and commissions
are approved by actions."""

from __future__ import annotations

import sys
import types

import pytest
from django.conf import settings as django_settings
from django.contrib import admin
from django.test import Client
from django.urls import path, reverse

from db.models import (
    Affiliate,
    AffiliateCommission,
    AffiliatePayout,
    CategoryPointsMultiplier,
    LoyaltyAccount,
    LoyaltyTier,
    PointsEntry,
    Referral,
    User,
    UserRole,
)
from lib.loyalty.ledger import points_entry_add
from lib.loyalty.tiers import loyalty_tiers_seed

pytestmark = pytest.mark.django_db

urls = types.ModuleType("zest_test_loyalty_admin_urls")
urls.urlpatterns = [path("admin/", admin.site.urls)]
sys.modules[urls.__name__] = urls
MODELS = (
    PointsEntry,
    LoyaltyAccount,
    LoyaltyTier,
    CategoryPointsMultiplier,
    Referral,
    Affiliate,
    AffiliateCommission,
    AffiliatePayout,
)


@pytest.fixture(autouse=True)
def admin_function(settings):
    settings.ROOT_URLCONF = urls.__name__
    settings.MIDDLEWARE = django_settings.ADMIN_MIDDLEWARE


@pytest.fixture
def administrator() -> Client:
    user = User.objects.create_user(
        email="root@zest.test", password="Correct-Horse-Battery-9", role=UserRole.ADMIN
    )
    client = Client()
    client.force_login(user)
    return client


def url(model, view: str, *args) -> str:
    return reverse(f"admin:db_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_screen_lists(administrator, model):
    loyalty_tiers_seed()
    customer = User.objects.create_user(email="c@zest.test", password=None)
    points_entry_add(user_id=customer.pk, kind="earn", points=10, reference="admin:1")

    reply = administrator.get(url(model, "changelist"))

    assert reply.status_code == 200


def test_the_ledger_cannot_be_added_to_changed_or_deleted_here(administrator):
    customer = User.objects.create_user(email="c@zest.test", password=None)
    entry = points_entry_add(user_id=customer.pk, kind="earn", points=10, reference="admin:2")

    add = administrator.get(url(PointsEntry, "add"))
    change = administrator.post(url(PointsEntry, "change", entry.pk), {"points": "999"})
    delete = administrator.post(url(PointsEntry, "delete", entry.pk), {"post": "yes"})

    assert add.status_code == 403
    assert change.status_code == 403
    assert delete.status_code == 403
    assert PointsEntry.objects.get(pk=entry.pk).points == 10


def test_staff_approve_applications_with_the_action(administrator):
    applicant = User.objects.create_user(email="a@zest.test", password=None)
    affiliate = Affiliate.objects.create(user=applicant)

    reply = administrator.post(
        url(Affiliate, "changelist"),
        {"action": "approve", admin.helpers.ACTION_CHECKBOX_NAME: [str(affiliate.pk)]},
    )

    assert reply.status_code == 302
    affiliate.refresh_from_db()
    assert affiliate.status == "approved" and affiliate.approved_at is not None
