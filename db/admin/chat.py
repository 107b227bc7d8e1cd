"""Admin for live chat: conversations with their messages (read-only: messages are written
through the chat API), filtered by status, assignee and source, searched by subject,
customer, order number and message text. Staff may change who a conversation is assigned to
and whether it is open; those changes go through the chat services (a system message, the
customer's poll state), never straight to the row."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from db.admin.common import ReadOnlyMixin
from db.models import ChatMessage, Conversation, ConversationStatus, User
from lib.access.permissions import ROLE_PERMISSIONS
from lib.chat.staff import CHAT_PERMISSION


class ChatMessageInline(ReadOnlyMixin, admin.TabularInline):
    model = ChatMessage
    extra = 0
    fields = ("id", "created_at", "sender_kind", "sender_user", "body", "attachments")
    ordering = ("id",)


class AssignedFilter(admin.SimpleListFilter):
    title = _("assigned")
    parameter_name = "assigned"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("none", _("Unassigned")), ("me", _("Assigned to me")), ("any", _("Assigned"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "none":
            return queryset.filter(assigned_to__isnull=True)
        if self.value() == "me":
            return queryset.filter(assigned_to=request.user)
        if self.value() == "any":
            return queryset.filter(assigned_to__isnull=False)
        return queryset


def team_members() -> QuerySet:
    roles = [role for role, granted in ROLE_PERMISSIONS.items() if CHAT_PERMISSION in granted]
    return User.objects.filter(is_active=True, role__in=[*roles, "admin"]).order_by("email")


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = (
        "subject",
        "user",
        "status",
        "source",
        "assigned_to",
        "staff_unread",
        "customer_unread",
        "last_message_at",
    )
    list_select_related = ("user", "assigned_to", "order")
    list_filter = ("status", AssignedFilter, "source", "language")
    search_fields = ("subject", "user__email", "user__full_name", "order__number", "messages__body")
    ordering = ("-last_message_at",)
    date_hierarchy = "created_at"
    fields = (
        "subject",
        "user",
        "order",
        "source",
        "language",
        "status",
        "assigned_to",
        "last_message_at",
        "staff_unread",
        "customer_unread",
        "closed_at",
        "created_at",
    )
    readonly_fields = (
        "subject",
        "user",
        "order",
        "source",
        "language",
        "last_message_at",
        "staff_unread",
        "customer_unread",
        "closed_at",
        "created_at",
    )
    inlines = (ChatMessageInline,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # shoppers open conversations

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "assigned_to":
            kwargs["queryset"] = team_members()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        """A conversation's messages go with it (they cannot be deleted one by one)."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        perms_needed.discard(str(ChatMessage._meta.verbose_name))
        return deleted, counts, perms_needed, protected

    def delete_model(self, request: HttpRequest, obj: Conversation) -> None:
        from lib.chat.staff import conversations_delete

        conversations_delete(Conversation.objects.filter(pk=obj.pk))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        from lib.chat.staff import conversations_delete

        conversations_delete(queryset)

    def save_model(self, request: HttpRequest, obj: Conversation, form: Any, change: bool) -> None:
        """Status and assignee through the chat services; nothing else is editable."""
        from lib.chat import services, staff

        if "assigned_to" in form.changed_data:
            staff.conversation_assign(
                conversation_id=obj.pk,
                assignee_id=obj.assigned_to_id,
                actor_id=str(request.user.pk),
            )
        if "status" in form.changed_data:
            if obj.status == ConversationStatus.CLOSED:
                services.conversation_close(conversation_id=obj.pk, party=None)
            else:
                staff.conversation_reopen(conversation_id=obj.pk)
        obj.refresh_from_db()


@admin.register(ChatMessage)
class ChatMessageAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("id", "conversation", "sender_kind", "sender_user", "created_at")
    list_select_related = ("conversation", "sender_user")
    list_filter = ("sender_kind",)
    search_fields = ("body", "conversation__subject", "conversation__order__number")
    date_hierarchy = "created_at"
