"""The admin's audit trail: every addition, change, deletion and action is written to
Django's LogEntry (the admin's own history) and to the activity log (`lib.access.activity`,
type ADMIN_ACTION), where the monitoring endpoints read it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib.admin.models import CHANGE, LogEntry
from django.db.models import Model
from django.http import HttpRequest

from lib.access.activity import ActivityType, activity_record
from lib.access.context import client_ip

AUDITED_IDS_MAX = 200  # ids kept in one activity document (the count is always exact)


def admin_activity_record(
    request: HttpRequest,
    *,
    action: str,
    object_ids: list[str],
    message: Any,
    model: type[Model] | None = None,
    label: str = "",
) -> None:
    """Queue the activity document of one admin change or action (in the request's
    transaction, through the outbox); `label` names what is not a model (a review)."""
    activity_record(
        user_id=request.user.pk,
        activity_type=ActivityType.ADMIN_ACTION,
        details={
            "action": action,
            "model": model._meta.label_lower if model is not None else label,
            "object_ids": object_ids[:AUDITED_IDS_MAX],
            "count": len(object_ids),
            "message": message if isinstance(message, str | list) else str(message),
            "path": request.path,
        },
        ip=client_ip(request),
    )


def admin_action_log(
    request: HttpRequest, objects: Iterable[Model], *, action: str, message: str = ""
) -> None:
    """Record an admin action on `objects`: one LogEntry per object and one activity
    document."""
    rows = list(objects)
    if not rows:
        return
    text = message or f"Action: {action}"
    LogEntry.objects.log_actions(request.user.pk, rows, CHANGE, change_message=text)
    ids = [str(row.pk) for row in rows]
    admin_activity_record(request, action=action, model=type(rows[0]), object_ids=ids, message=text)


def audited_action(func: Callable, name: str) -> Callable:
    """An admin action that records itself (deleting logs its own deletions)."""

    def action(modeladmin: Any, request: HttpRequest, queryset: Any) -> Any:
        objects = list(queryset[: AUDITED_IDS_MAX * 5])
        result = func(modeladmin, request, queryset)
        admin_action_log(request, objects, action=name)
        return result

    action.__name__ = getattr(func, "__name__", name)
    for attribute in ("short_description", "allowed_permissions"):
        if hasattr(func, attribute):
            setattr(action, attribute, getattr(func, attribute))
    return action


class AdminAuditMixin:
    """Mixed into every model admin by the site: additions, changes, deletions and actions
    reach the activity log as well as LogEntry."""

    def log_addition(self, request: HttpRequest, obj: Model, message: Any) -> Any:
        entry = super().log_addition(request, obj, message)
        admin_activity_record(
            request, action="add", model=type(obj), object_ids=[str(obj.pk)], message=message
        )
        return entry

    def log_change(self, request: HttpRequest, obj: Model, message: Any) -> Any:
        entry = super().log_change(request, obj, message)
        admin_activity_record(
            request, action="change", model=type(obj), object_ids=[str(obj.pk)], message=message
        )
        return entry

    def log_deletions(self, request: HttpRequest, queryset: Any) -> Any:
        rows = list(queryset)
        entries = super().log_deletions(request, rows)
        if rows:
            ids = [str(row.pk) for row in rows]
            admin_activity_record(
                request, action="delete", model=type(rows[0]), object_ids=ids, message="Deleted."
            )
        return entries

    def get_actions(self, request: HttpRequest) -> dict[str, tuple[Callable, str, str]]:
        actions = super().get_actions(request)
        return {
            name: (func if name == "delete_selected" else audited_action(func, name), name, text)
            for name, (func, name, text) in actions.items()
        }
