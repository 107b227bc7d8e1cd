"""The store's Django admin site: who may sign in (the roles of `lib.access.admin_permissions`,
not `is_staff`), sign-in attempts limited per IP and per email, and every registered model's
admin audited and, for vendor-owned models, scoped to the vendor's own rows."""

from __future__ import annotations

import math
import time
from typing import Any

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from lib.access.admin_permissions import admin_allowed

ADMIN_LOGIN_LIMIT_NAMES = ("admin-login-ip", "admin-login-email")


def admin_login_throttle(request: HttpRequest, email: str) -> int:
    """Count one sign-in attempt against the caller's IP and against the email it names;
    the seconds to wait when either is over `RATE_LIMIT_SENSITIVE`, else 0. The KV being
    unreachable lets the attempt through (like every other limit)."""
    from lib.access.context import client_ip
    from lib.access.ratelimit import ip_bucket, logger, named_limiter
    from lib.conf import config

    rate = config.rate_limit_sensitive
    identifiers = (f"ip:{ip_bucket(client_ip(request))}", f"email:{email.strip().lower()}")
    wait = 0
    for name, identifier in zip(ADMIN_LOGIN_LIMIT_NAMES, identifiers, strict=True):
        try:
            result = named_limiter(name, rate).limit(identifier)
        except Exception as exc:  # the store or its transport failed: fail open
            logger.warning("admin sign-in limit not checked: %s: %s", type(exc).__name__, exc)
            continue
        if not result.allowed:
            wait = max(wait, max(1, math.ceil(result.reset - time.time())))
    return wait


def admin_sign_in_record(
    request: HttpRequest, *, email: str, user: Any = None, reason: str = ""
) -> None:
    """The activity log's sign-in or failed sign-in for the admin's sign-in page (what the
    monitoring endpoints count, as for the API's sign-in)."""
    from db.models import User
    from lib.access.activity import ActivityType, activity_record
    from lib.access.context import client_ip
    from lib.access.services import sign_in_failed

    ip = client_ip(request)
    if user is not None:
        activity_record(
            user_id=user.pk, activity_type=ActivityType.SIGN_IN, details={"via": "admin"}, ip=ip
        )
        return
    known = User.objects.filter(email__iexact=email.strip()).first() if email.strip() else None
    sign_in_failed(user=known, email=email.strip().lower()[:255], reason=reason, ip=ip)


class AdminLoginForm(AdminAuthenticationForm):
    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "invalid_login": _(
            "Please enter the correct email and password of a store or vendor team account."
        ),
        "throttled": _(
            "Too many sign-in attempts. Please try again in %(seconds)s seconds. "
            "(অনেকবার চেষ্টা করা হয়েছে। %(seconds)s সেকেন্ড পরে আবার চেষ্টা করুন।)"
        ),
    }

    def clean(self) -> dict[str, Any]:
        email = str(self.data.get("username", ""))
        if self.request is not None:
            wait = admin_login_throttle(self.request, email)
            if wait:
                admin_sign_in_record(self.request, email=email, reason="admin_throttled")
                raise ValidationError(
                    self.error_messages["throttled"], code="throttled", params={"seconds": wait}
                )
        try:
            data = super().clean()
        except ValidationError:
            if self.request is not None:
                admin_sign_in_record(self.request, email=email, reason="admin_refused")
            raise
        if self.request is not None:
            admin_sign_in_record(self.request, email=email, user=self.get_user())
        return data

    def confirm_login_allowed(self, user: Any) -> None:
        if not admin_allowed(user):
            raise ValidationError(self.error_messages["invalid_login"], code="invalid_login")


class ZestAdminSite(admin.AdminSite):
    site_header = _("Zest Store administration")
    site_title = _("Zest Store admin")
    login_form = AdminLoginForm
    discovered = False

    @property
    def _registry(self) -> dict:
        """The registered model admins, the apps' `admin` modules imported on first read."""
        if not self.discovered:
            self.discovered = True  # before importing: the modules register into this site
            admin.autodiscover()
        return self.__dict__["_models"]

    @_registry.setter
    def _registry(self, value: dict) -> None:
        self.__dict__["_models"] = value

    def has_permission(self, request: HttpRequest) -> bool:
        return admin_allowed(request.user)

    def get_urls(self) -> list:
        from django.urls import path

        from lib.access.admin_reviews import admin_reviews_view

        reviews = self.admin_view(lambda request: admin_reviews_view(self, request))
        return [path("reviews/", reviews, name="reviews"), *super().get_urls()]

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict]:
        """The models' apps, and review moderation (documents, not a model) for those who
        may moderate."""
        from django.urls import reverse

        from lib.access.admin_reviews import MODERATE_PERMISSION

        app_list = super().get_app_list(request, app_label)
        if app_label is None and request.user.has_perm(MODERATE_PERMISSION):
            url = reverse("admin:reviews", current_app=self.name)
            entry = {
                "name": _("Product reviews"),
                "object_name": "Review",
                "perms": {"add": False, "change": True, "delete": False, "view": True},
                "admin_url": url,
                "add_url": None,
                "view_only": False,
            }
            app_list.append(
                {
                    "name": _("Reviews"),
                    "app_label": "reviews",
                    "app_url": url,
                    "has_module_perms": True,
                    "models": [entry],
                }
            )
        return app_list

    def register(self, model_or_iterable: Any, admin_class: Any = None, **options: Any) -> None:
        """Every model admin, whoever registers it, is audited and, for a vendor-owned
        model, scoped to the signed-in vendor's rows."""
        from lib.access.admin_scoping import admin_class_wrap

        models = [model_or_iterable] if isinstance(model_or_iterable, type) else model_or_iterable
        for model in models:
            wrapped = admin_class_wrap(model, admin_class or admin.ModelAdmin)
            super().register(model, wrapped, **options)
