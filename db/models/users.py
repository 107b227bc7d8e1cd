"""Accounts: users (email sign-in), their profiles and their address book."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from .base import Language, TimeStampedModel, phone_field


class UserRole(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    SUPPORT = "support", _("Support agent")
    VENDOR_STAFF = "vendor_staff", _("Vendor staff")
    VENDOR_OWNER = "vendor_owner", _("Vendor owner")
    STAFF = "staff", _("Staff")
    ADMIN = "admin", _("Administrator")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    @classmethod
    def normalize_email(cls, email: str | None) -> str:
        """Trim and lower-case the whole address; emails are matched case-insensitively."""
        return (email or "").strip().lower()

    def get_by_natural_key(self, username: str) -> User:
        # Matches the functional unique index on LOWER(email).
        return self.alias(email_lower=Lower("email")).get(email_lower=username.strip().lower())

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        email = self.normalize_email(email)
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=email, **extra)
        user.set_password(password)  # None stores an unusable password (OAuth-only accounts)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("role", UserRole.ADMIN)
        if extra["is_staff"] is not True or extra["is_superuser"] is not True:
            raise ValueError("A superuser must have is_staff=True and is_superuser=True.")
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin, TimeStampedModel):
    # NULL for an account made with a phone number and a one-time code (no email yet).
    email = models.EmailField(
        _("email address"), max_length=255, unique=True, null=True, blank=True
    )
    full_name = models.CharField(max_length=255, blank=True)
    phone = phone_field(db_index=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text=_("Can sign in to the admin site."))
    email_verified_at = models.DateTimeField(null=True, blank=True)
    phone_verified_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When the phone number was proved with an SMS code.")
    )
    role = models.CharField(max_length=20, choices=UserRole.choices, default=UserRole.CUSTOMER)
    preferred_language = models.CharField(
        max_length=2, choices=Language.choices, default=Language.ENGLISH
    )

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        db_table = "users"
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="users_email_ci_unique",
                violation_error_message=_("A user with this email address already exists."),
            ),
            # One account per proved phone number (unverified numbers may repeat).
            models.UniqueConstraint(
                fields=["phone"],
                condition=Q(phone_verified_at__isnull=False),
                name="users_verified_phone_unique",
            ),
        ]
        indexes = [models.Index(fields=["role", "-created_at"], name="users_role_created_idx")]

    def __str__(self) -> str:
        return self.email or self.phone

    def clean(self) -> None:
        super().clean()
        self.email = type(self).objects.normalize_email(self.email) or None

    @property
    def is_email_verified(self) -> bool:
        return self.email_verified_at is not None


class UserProfile(TimeStampedModel):
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="profile")
    avatar_url = models.CharField(max_length=500, blank=True)
    bio = models.TextField(blank=True)
    preferences = models.JSONField(default=dict, blank=True)
    last_login_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "user_profiles"

    def __str__(self) -> str:
        return f"Profile {self.pk}"


class Address(TimeStampedModel):
    """A shipping address; `user` is empty for guest checkouts."""

    user = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="addresses"
    )
    full_name = models.CharField(max_length=255)
    phone = phone_field(blank=False)
    address_line1 = models.CharField(max_length=255)
    address_line2 = models.CharField(max_length=255, blank=True)
    area = models.CharField(_("area / thana"), max_length=100, blank=True)
    city = models.CharField(_("city / district"), max_length=100)
    division = models.CharField(_("division / state"), max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, default="BD")
    is_default = models.BooleanField(default=False)

    class Meta:
        db_table = "addresses"
        verbose_name_plural = _("addresses")
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(is_default=True),
                name="addresses_one_default_per_user",
                violation_error_message=_("This user already has a default address."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.full_name}, {self.address_line1}, {self.city}"
