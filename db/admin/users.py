"""Admin for users, their profiles, addresses and sign-in links (Google, Apple, Facebook)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _

from db.admin.common import ReadOnlyMixin
from db.models import Address, ApiKey, SocialAccount, User, UserProfile, UserRole
from lib.access.admin_permissions import ADMIN_ROLES


class UserCreationForm(auth_forms.AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class UserChangeForm(auth_forms.UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class UserProfileInline(admin.StackedInline):
    model = UserProfile
    can_delete = False
    fields = ("avatar_url", "bio", "preferences", "last_login_at")


class AddressInline(admin.TabularInline):
    model = Address
    extra = 0
    fields = ("full_name", "phone", "address_line1", "area", "city", "division", "is_default")
    show_change_link = True


class SocialAccountInline(ReadOnlyMixin, admin.TabularInline):
    """Sign-in links: made by signing in with the provider, never by hand."""

    model = SocialAccount
    extra = 0
    fields = ("provider", "subject", "email", "created_at")

    def has_view_permission(self, request, obj=None) -> bool:
        return obj is not None and super().has_view_permission(request, obj)  # not when adding


def is_administrator(user: User) -> bool:
    return user.is_superuser or user.role == UserRole.ADMIN


class CreatedApiKeyInline(ReadOnlyMixin, admin.TabularInline):
    """API keys this user made (through the admin API, which shows a secret once)."""

    model = ApiKey
    fk_name = "created_by"
    extra = 0
    fields = ("name", "key_id", "kind", "vendor", "revoked_at", "last_used_at")
    show_change_link = True
    verbose_name = _("API key created")
    verbose_name_plural = _("API keys created")

    def has_view_permission(self, request, obj=None) -> bool:
        return obj is not None and super().has_view_permission(request, obj)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    list_display = ("email", "phone", "full_name", "role", "is_active", "is_staff", "created_at")
    list_filter = ("role", "is_active", "is_staff", "is_superuser", "preferred_language")
    search_fields = ("email", "full_name", "phone")
    ordering = ("-created_at",)
    date_hierarchy = "created_at"
    readonly_fields = ("last_login", "created_at", "updated_at")
    inlines = (UserProfileInline, AddressInline, SocialAccountInline, CreatedApiKeyInline)
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("full_name", "phone", "preferred_language")}),
        (
            _("Role and permissions"),
            {
                "fields": (
                    "role",
                    "is_active",
                    "is_staff",
                    "is_superuser",
                )
            },
        ),
        (
            _("Dates"),
            {
                "fields": (
                    "email_verified_at",
                    "phone_verified_at",
                    "last_login",
                    "created_at",
                    "updated_at",
                )
            },
        ),
    )
    # Who may grant roles and powers: administrators only (staff manage customers' details).
    PRIVILEGE_FIELDS = ("role", "is_staff", "is_superuser")

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        if not is_administrator(request.user):
            fields += [name for name in self.PRIVILEGE_FIELDS if name not in fields]
        return fields

    def has_change_permission(self, request, obj=None) -> bool:
        # Staff change customers only: an account that may sign in here (its email, its
        # password) is an administrator's to change, or its owner's through the API.
        if obj is not None and not is_administrator(request.user) and obj.role in ADMIN_ROLES:
            return False
        return super().has_change_permission(request, obj)

    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "usable_password", "password1", "password2"),
            },
        ),
    )


@admin.register(UserProfile)
class UserProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "last_login_at", "updated_at")
    list_select_related = ("user",)
    list_filter = ("user__role",)
    search_fields = ("user__email", "user__full_name")
    ordering = ("-updated_at",)
    autocomplete_fields = ("user",)


@admin.register(Address)
class AddressAdmin(admin.ModelAdmin):
    list_display = ("full_name", "phone", "city", "division", "country", "user", "is_default")
    list_select_related = ("user",)
    list_filter = ("is_default", "country", "division")
    search_fields = ("full_name", "phone", "address_line1", "area", "city", "user__email")
    ordering = ("-created_at",)
    autocomplete_fields = ("user",)


@admin.register(SocialAccount)
class SocialAccountAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("provider", "subject", "email", "user", "created_at")
    list_select_related = ("user",)
    list_filter = ("provider",)
    search_fields = ("subject", "email", "user__email")
    ordering = ("-created_at",)
    date_hierarchy = "created_at"

    def has_delete_permission(self, request, obj=None) -> bool:
        # Unlinking is allowed: the user then signs in with their password or links again.
        return admin.ModelAdmin.has_delete_permission(self, request, obj)


# What a user may do in the admin follows their role (lib/access/admin_permissions.py), not
# groups or per-user permission rows: those are not offered.
if admin.site.is_registered(Group):
    admin.site.unregister(Group)
