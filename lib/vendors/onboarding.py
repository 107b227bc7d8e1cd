"""Becoming a vendor and staying one: applications, approval, rejection, suspension.

Approval creates the vendor (active) with the applicant as its owner; a suspended vendor's
products leave the storefront and cannot be bought (`lib.catalog.selectors`,
`lib.checkout.pricing`), and its members stop acting for it: their sessions end and new
tokens leave a suspended vendor out of `vnd`. Every decision notifies (English and Bangla).
"""

from __future__ import annotations

import re
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from db.models import (
    PayoutMethod,
    Product,
    Vendor,
    VendorApplication,
    VendorApplicationStatus,
    VendorMember,
    VendorRole,
    VendorStatus,
)
from lib.errors import ApiError, Conflict, NotFound
from lib.notifications.services import notify
from lib.vendors.members import members_sessions_end, user_role_sync

MOBILE_WALLET = re.compile(r"^01[3-9]\d{8}$")  # a Bangladeshi mobile number (bKash, Nagad)
BANK_FIELDS = ("account_name", "account_number", "bank_name", "branch")
OPTIONAL_BANK_FIELDS = ("routing_number",)


def payout_account_clean(method: str, account: dict[str, Any]) -> dict[str, str]:
    """The account details `method` needs, trimmed; 422 naming what is missing or wrong."""
    account = {k: str(v).strip() for k, v in account.items() if v is not None and str(v).strip()}
    if method in (PayoutMethod.BKASH, PayoutMethod.NAGAD):
        number = account.get("account_number", "").removeprefix("+88")
        if not MOBILE_WALLET.match(number):
            raise ApiError(
                "validation_error",
                status=422,
                fields={
                    "payout_account.account_number": ["an 11-digit mobile number, 01XXXXXXXXX"]
                },
            )
        return {"account_number": number}
    missing = [f"payout_account.{name}" for name in BANK_FIELDS if not account.get(name)]
    if missing:
        raise ApiError(
            "validation_error", status=422, fields={name: ["required"] for name in missing}
        )
    return {k: account[k] for k in (*BANK_FIELDS, *OPTIONAL_BANK_FIELDS) if k in account}


def slug_taken(slug: str, *, excluding_application: Any = None) -> bool:
    pending = VendorApplication.objects.filter(slug=slug, status=VendorApplicationStatus.PENDING)
    if excluding_application is not None:
        pending = pending.exclude(pk=excluding_application)
    return Vendor.objects.filter(slug=slug).exists() or pending.exists()


def application_submit(*, user_id: str, **fields: Any) -> VendorApplication:
    """A signed-in user applies; 409 `vendor_application_open` while one is pending, 409
    `vendor_slug_taken` when a vendor or a pending application has the slug."""
    fields["payout_account"] = payout_account_clean(
        fields["payout_method"], fields.get("payout_account") or {}
    )
    if slug_taken(fields["slug"]):
        raise Conflict("vendor_slug_taken", fields={"slug": [fields["slug"]]})
    try:
        with transaction.atomic():
            application = VendorApplication.objects.create(applicant_id=user_id, **fields)
    except IntegrityError as exc:  # vendor_applications_one_open
        raise Conflict("vendor_application_open", fields={"applicant": [user_id]}) from exc
    return application


def application_list(*, status: str | None = None, applicant_id: Any = None) -> QuerySet:
    applications = VendorApplication.objects.select_related("applicant", "vendor")
    if status:
        applications = applications.filter(status=status)
    if applicant_id is not None:
        applications = applications.filter(applicant_id=applicant_id)
    return applications.order_by("-created_at", "-id")


def application_locked(application_id: Any) -> VendorApplication:
    application = (
        VendorApplication.objects.select_for_update(of=("self",))
        .select_related("applicant")
        .filter(pk=application_id)
        .first()
    )
    if application is None:
        raise NotFound(fields={"id": [str(application_id)]})
    if application.status != VendorApplicationStatus.PENDING:
        raise Conflict("vendor_application_decided", fields={"status": [application.status]})
    return application


def application_approve(*, application_id: Any, actor_id: str | None) -> VendorApplication:
    """Create the vendor (active) and make the applicant its owner; their sessions end so the
    new role and vendor apply at once."""
    with transaction.atomic():
        application = application_locked(application_id)
        if slug_taken(application.slug, excluding_application=application.pk):
            raise Conflict("vendor_slug_taken", fields={"slug": [application.slug]})
        vendor = Vendor.objects.create(
            name=application.business_name,
            slug=application.slug,
            status=VendorStatus.ACTIVE,
            contact_email=application.contact_email,
            contact_phone=application.contact_phone,
            payout_method=application.payout_method,
            payout_account=application.payout_account,
        )
        VendorMember.objects.create(
            vendor=vendor, user_id=application.applicant_id, role=VendorRole.OWNER
        )
        user_role_sync(application.applicant)
        decide(application, VendorApplicationStatus.APPROVED, actor_id=actor_id, vendor=vendor)
        notify(
            user_id=str(application.applicant_id),
            kind="vendor.application_approved",
            title=("Your shop is approved", "আপনার দোকান অনুমোদিত হয়েছে"),
            body=(
                f"{vendor.name} can now sell on the store. Sign in again to manage it.",
                f"{vendor.name} এখন স্টোরে বিক্রি করতে পারবে। পরিচালনা করতে আবার সাইন ইন করুন।",
            ),
            dedupe_key=f"vendor:application:{application.pk}:approved",
            data={"vendor_id": str(vendor.pk)},
        )
    members_sessions_end([application.applicant_id])
    return application


def application_reject(
    *, application_id: Any, reason: str, actor_id: str | None
) -> VendorApplication:
    with transaction.atomic():
        application = application_locked(application_id)
        decide(application, VendorApplicationStatus.REJECTED, actor_id=actor_id, reason=reason)
        notify(
            user_id=str(application.applicant_id),
            kind="vendor.application_rejected",
            title=("Your shop application was declined", "আপনার দোকানের আবেদন গৃহীত হয়নি"),
            body=(f"Reason: {reason}", f"কারণ: {reason}"),
            dedupe_key=f"vendor:application:{application.pk}:rejected",
        )
    return application


def decide(
    application: VendorApplication,
    status: str,
    *,
    actor_id: str | None,
    reason: str = "",
    vendor: Vendor | None = None,
) -> None:
    application.status = status
    application.decision_reason = reason
    application.decided_by_id = actor_id
    application.decided_at = timezone.now()
    application.vendor = vendor
    application.save(
        update_fields=[
            "status",
            "decision_reason",
            "decided_by",
            "decided_at",
            "vendor",
            "updated_at",
        ]
    )


# --- suspension --------------------------------------------------------------------------------

STATUS_NEWS = {
    VendorStatus.SUSPENDED: (
        "suspended",
        ("Your shop is suspended", "আপনার দোকান স্থগিত করা হয়েছে"),
        (
            "Its products are hidden until the store reinstates it.",
            "স্টোর পুনর্বহাল না করা পর্যন্ত এর পণ্য লুকানো থাকবে।",
        ),
    ),
    VendorStatus.ACTIVE: (
        "reinstated",
        ("Your shop is active again", "আপনার দোকান আবার সক্রিয়"),
        (
            "Its products are back on the store. Sign in again to manage it.",
            "এর পণ্য আবার স্টোরে ফিরেছে। পরিচালনা করতে আবার সাইন ইন করুন।",
        ),
    ),
}


def vendor_status_set(*, vendor_id: Any, status: str, reason: str = "") -> Vendor:
    """Suspend (from active) or reinstate (from suspended) a vendor; 409
    `vendor_status_unchanged` when it is not in the state that allows it."""
    allowed_from = (
        VendorStatus.ACTIVE if status == VendorStatus.SUSPENDED else VendorStatus.SUSPENDED
    )
    event, title, body = STATUS_NEWS[status]
    with transaction.atomic():
        vendor = Vendor.objects.select_for_update().filter(pk=vendor_id).first()
        if vendor is None:
            raise NotFound(fields={"vendor": [str(vendor_id)]})
        if vendor.status != allowed_from:
            raise Conflict("vendor_status_unchanged", fields={"status": [vendor.status]})
        vendor.status = status
        vendor.save(update_fields=["status", "updated_at"])
        member_ids = list(vendor.memberships.values_list("user_id", flat=True))
        stamp = vendor.updated_at.isoformat()
        for user_id in member_ids:
            notify(
                user_id=str(user_id),
                kind=f"vendor.{event}",
                title=title,
                body=(f"{body[0]} {reason}".strip(), f"{body[1]} {reason}".strip()),
                dedupe_key=f"vendor:{vendor.pk}:{event}:{stamp}:{user_id}",
            )
    members_sessions_end(member_ids)
    products_cache_forget(vendor.pk)
    return vendor


def products_cache_forget(vendor_id: Any) -> None:
    """The vendor's products appear or disappear: their cached pages and listings go."""
    from lib.catalog.cache import catalog_cache_invalidate

    product_ids = Product.objects.filter(vendor_id=vendor_id).values_list("pk", flat=True)
    catalog_cache_invalidate(product_ids=[str(pk) for pk in product_ids])
