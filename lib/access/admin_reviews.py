"""Review moderation in the admin (reviews live in the document store, not in a model): the
queue newest first, filtered by state, and hide/publish with a reason through
`lib.engagement.moderation.review_moderate`, audited like every admin action."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from lib.access.admin_audit import admin_activity_record
from lib.access.admin_permissions import APP_LABEL, MODERATE_REVIEWS

REVIEWS_PAGE_SIZE = 25
MODERATE_PERMISSION = f"{APP_LABEL}.{MODERATE_REVIEWS}"


class ModerationForm(forms.Form):
    review_id = forms.CharField(max_length=24, widget=forms.HiddenInput)
    action = forms.ChoiceField(choices=[("hide", _("Hide")), ("publish", _("Publish"))])
    reason = forms.CharField(max_length=500, label=_("Reason"))


def admin_reviews_view(site: object, request: HttpRequest) -> HttpResponse:
    """GET: the moderation queue; POST: hide or publish one review."""
    from lib.engagement.moderation import review_moderate, review_moderation_list
    from lib.errors import ApiError, translate

    if not request.user.has_perm(MODERATE_PERMISSION):
        raise PermissionDenied
    form = ModerationForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            review_id = form.cleaned_data["review_id"]
            action = form.cleaned_data["action"]
            try:
                review = review_moderate(
                    review_id=review_id,
                    action=action,
                    reason=form.cleaned_data["reason"],
                    actor_id=str(request.user.pk),
                )
            except ApiError as error:
                messages.error(request, translate(error.code, "en"))
            else:
                text = f"Review {action}: {form.cleaned_data['reason']}"
                LogEntry.objects.create(
                    user_id=request.user.pk,
                    object_id=review_id,
                    object_repr=f"review {review_id} of product {review.product_id}"[:200],
                    action_flag=CHANGE,
                    change_message=text,
                )
                admin_activity_record(
                    request,
                    action=f"review_{action}",
                    label="review",
                    object_ids=[review_id],
                    message=text,
                )
                messages.success(
                    request,
                    _("Review %(id)s: %(status)s.") % {"id": review_id, "status": review.status},
                )
        else:
            messages.error(request, _("Give a reason for the moderation."))
        return redirect(request.get_full_path())
    status = request.GET.get("status") or None
    status = status if status in ("published", "hidden") else None
    try:
        page_number = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page_number = 1
    page = review_moderation_list(
        status=status,
        product_id=request.GET.get("product") or None,
        user_id=None,
        page=page_number,
        page_size=REVIEWS_PAGE_SIZE,
    )
    context = {
        **site.each_context(request),
        "title": _("Review moderation"),
        "page": page,
        "status": status or "",
        "statuses": [("", _("All")), ("published", _("Published")), ("hidden", _("Hidden"))],
    }
    return TemplateResponse(request, "admin/db/reviews.html", context)
