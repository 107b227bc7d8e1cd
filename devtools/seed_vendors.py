"""Demo marketplace rows for `zest dev`, on top of the demo vendors, their people and their
bilingual products (`devtools.seed`): where payouts go, commission rules (a global default
and each demo vendor's own rate) and an application waiting for staff review. Idempotent:
rows are found by their natural key and only missing ones are created."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from db.models import (
    CommissionRule,
    CommissionScope,
    PayoutMethod,
    User,
    Vendor,
    VendorApplication,
)

GLOBAL_RATE = Decimal("10.00")
# vendor slug -> (payout method, account)
PAYOUT_ACCOUNTS = {
    "nakshi-ghar": (PayoutMethod.BKASH, {"account_number": "01711000111"}),
    "karnaphuli-gadgets": (
        PayoutMethod.BANK,
        {
            "account_name": "Karnaphuli Gadgets Ltd",
            "account_number": "1021100034567",
            "bank_name": "Dutch-Bangla Bank",
            "branch": "Agrabad, Chattogram",
            "routing_number": "090150437",
        },
    ),
}
APPLICANT = "customer2@zest.test"
APPLICATION = {
    "business_name": "Sylhet Tea House",
    "slug": "sylhet-tea-house",
    "contact_email": "hello@sylhettea.test",
    "contact_phone": "+8801411556677",
    "trade_licence_no": "TRAD/SCC/2026/0457",
    "payout_method": PayoutMethod.NAGAD,
    "payout_account": {"account_number": "01411556677"},
}


def seed_vendors(
    *,
    users: dict[str, User],
    vendors: dict[str, Vendor],
    stdout: Callable[[str], object] = print,
) -> None:
    """Create the missing demo marketplace rows (inside the caller's transaction)."""
    for slug, (method, account) in PAYOUT_ACCOUNTS.items():
        vendor = vendors.get(slug)
        if vendor is not None and not vendor.payout_method:
            vendor.payout_method, vendor.payout_account = method, account
            vendor.save(update_fields=["payout_method", "payout_account", "updated_at"])
    if not CommissionRule.objects.filter(scope=CommissionScope.GLOBAL).exists():
        CommissionRule.objects.create(
            scope=CommissionScope.GLOBAL, rate=GLOBAL_RATE, note="Store default"
        )
    ruled = set(
        CommissionRule.objects.filter(scope=CommissionScope.VENDOR).values_list(
            "vendor_id", flat=True
        )
    )
    for vendor in vendors.values():
        if vendor.pk not in ruled:
            CommissionRule.objects.create(
                scope=CommissionScope.VENDOR,
                vendor=vendor,
                rate=vendor.commission_rate,
                note="Agreed rate",
            )
    applicant = users.get(APPLICANT)
    if (
        applicant is not None
        and not VendorApplication.objects.filter(slug=APPLICATION["slug"]).exists()
    ):
        VendorApplication.objects.create(applicant=applicant, **APPLICATION)
    stdout(
        f"commission rules {CommissionRule.objects.count()}, "
        f"vendor applications {VendorApplication.objects.count()}"
    )
