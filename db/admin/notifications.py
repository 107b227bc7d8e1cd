"""Admin for notifications: the feed entries, each channel's deliveries (failed ones first to
look at, with a retry action), users' preferences and their browsers' push subscriptions."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from db.admin.common import ReadOnlyMixin
from db.models import (
    DeliveryStatus,
    Notification,
    NotificationDelivery,
    NotificationPreference,
    OutboxMessage,
    OutboxStatus,
    PushSubscription,
)


class NotificationDeliveryInline(ReadOnlyMixin, admin.TabularInline):
    model = NotificationDelivery
    fields = ("channel", "recipient", "status", "attempts", "last_error", "sent_at")
    extra = 0
    show_change_link = True


@admin.register(Notification)
class NotificationAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("title_en", "kind", "user", "in_feed", "read_at", "created_at")
    list_filter = ("category", "in_feed", ("read_at", admin.EmptyFieldListFilter))
    list_select_related = ("user",)
    search_fields = ("title_en", "title_bn", "kind", "dedupe_key", "user__email")
    date_hierarchy = "created_at"
    inlines = (NotificationDeliveryInline,)
    show_full_result_count = False


@admin.register(NotificationDelivery)
class NotificationDeliveryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("kind", "channel", "recipient", "status", "attempts", "sent_at", "created_at")
    list_filter = ("status", "channel", "language")
    list_select_related = ("user",)
    search_fields = ("recipient", "kind", "dedupe_key", "provider_message_id", "last_error")
    date_hierarchy = "created_at"
    actions = ("retry_now",)
    show_full_result_count = False

    @admin.action(description=_("Retry the selected failed deliveries now"))
    def retry_now(self, request: HttpRequest, queryset: QuerySet[NotificationDelivery]) -> None:
        keys = list(
            queryset.filter(status=DeliveryStatus.FAILED).values_list("dedupe_key", flat=True)
        )
        retried = OutboxMessage.objects.filter(
            dedupe_key__in=keys, status=OutboxStatus.FAILED
        ).update(status=OutboxStatus.PENDING, available_at=timezone.now(), attempts=0)
        NotificationDelivery.objects.filter(dedupe_key__in=keys).update(
            status=DeliveryStatus.PENDING, attempts=0
        )
        self.message_user(request, _("%(count)d queued again.") % {"count": retried}, messages.INFO)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # The retry action needs it; the form itself stays read-only (ReadOnlyMixin fields).
        return admin.ModelAdmin.has_change_permission(self, request, obj)


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("user", "channel", "category", "enabled", "updated_at")
    list_filter = ("channel", "category", "enabled")
    list_select_related = ("user",)
    search_fields = ("user__email",)


@admin.register(PushSubscription)
class PushSubscriptionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("user", "endpoint", "user_agent", "failures", "last_success_at", "created_at")
    list_filter = (("last_success_at", admin.EmptyFieldListFilter),)
    list_select_related = ("user",)
    search_fields = ("user__email", "endpoint", "user_agent")

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return admin.ModelAdmin.has_delete_permission(self, request, obj)  # stop a browser
