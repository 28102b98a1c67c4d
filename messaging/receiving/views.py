"""The inbox page (受信箱), its 対応済み buttons, and received images shown in place."""

from __future__ import annotations

from django.contrib import messages as flash
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from candidates.detail import candidate_or_404
from hrmos.tenancy import get_scoped_or_404, request_company
from messaging.models import MessageAttachment
from messaging.receiving import inbox

# Received attachments of these types are shown in place; anything else is a download.
INLINE_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


@require_GET
def inbox_page(request: HttpRequest) -> HttpResponse:
    company = request_company(request)
    state = request.GET.get("state", inbox.OPEN)
    if state not in inbox.STATES:
        state = inbox.OPEN
    page, rows = inbox.page(company, state, request.GET.get("page"))
    return render(
        request,
        "messaging/inbox/inbox.html",
        {
            "state": state,
            "page": page,
            "rows": rows,
            "counts": inbox.counts(company),
            "rejected_emails": list(inbox.rejected_emails(company)),
        },
    )


@require_GET
def nav_badge(request: HttpRequest) -> HttpResponse:
    """The navigation's unread count alone, polled by every recruiter page (base.html)."""
    return render(request, "_nav_badge.html", {"badge": inbox.nav_badge(request)})


def _back(request: HttpRequest) -> HttpResponse:
    state = request.POST.get("state", "")
    url = reverse("messaging:inbox")
    return redirect(f"{url}?state={state}" if state in inbox.STATES else url)


@require_POST
def mark_handled(request: HttpRequest, candidate_pk: int) -> HttpResponse:
    candidate = candidate_or_404(request, candidate_pk)
    inbox.mark_handled(candidate)
    flash.success(request, f"{candidate.name}さんを対応済みにしました。")
    return _back(request)


@require_POST
def reopen(request: HttpRequest, candidate_pk: int) -> HttpResponse:
    candidate = candidate_or_404(request, candidate_pk)
    inbox.reopen(candidate)
    flash.success(request, f"{candidate.name}さんを未対応に戻しました。")
    return _back(request)


@require_GET
def attachment_inline(request: HttpRequest, message_attachment_pk: int) -> FileResponse:
    """A received image, shown in place on the timeline. Other types are always downloads."""
    attachment = get_scoped_or_404(
        request, MessageAttachment, pk=message_attachment_pk, message__unsent_at__isnull=True
    )
    content_type = attachment.content_type.split(";")[0].strip().lower()
    inline = content_type in INLINE_IMAGE_TYPES
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=not inline,
        filename=attachment.name,
        content_type=content_type if inline else "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
