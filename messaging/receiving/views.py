"""The inbox page (受信箱), its 対応済み buttons, and received images shown in place."""

from __future__ import annotations

from django.contrib import messages as flash
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from candidates.detail import candidate_or_404
from hrmos.tenancy import get_scoped_or_404, request_company
from messaging import live
from messaging.models import MessageAttachment
from messaging.receiving import inbox

# Received attachments of these types are shown in place; anything else is a download.
INLINE_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


def _inbox_context(request: HttpRequest) -> dict:
    """The tabs and one page of rows, read after their version (live.py)."""
    company = request_company(request)
    version = live.inbox_version(company.pk)
    state = request.GET.get("state", inbox.OPEN)
    if state not in inbox.STATES:
        state = inbox.OPEN
    page, rows = inbox.page(company, state, request.GET.get("page"))
    return {"state": state, "page": page, "rows": rows, "counts": inbox.counts(company), "version": version}


@require_GET
def inbox_page(request: HttpRequest) -> HttpResponse:
    context = _inbox_context(request)
    rejected = list(inbox.rejected_emails(request_company(request)))
    return render(request, "messaging/inbox/inbox.html", {**context, "rejected_emails": rejected})


def _company_id(request: HttpRequest) -> int:
    """The recruiter's company id without loading the company: a poll answered "nothing new"
    should cost as little as possible (live.py). No company: 404, as `request_company`."""
    company_id = getattr(request.user, "company_id", None)
    if company_id is None:
        raise Http404("採用担当者の企業が設定されていません。")
    return company_id


@require_GET
def inbox_live(request: HttpRequest) -> HttpResponse:
    """The inbox's tabs and rows again, polled by the open page: 204 while nothing changed."""
    if live.unchanged(request, live.inbox_version(_company_id(request))):
        return live.nothing_new()
    return render(request, "messaging/inbox/_live.html", _inbox_context(request))


@require_GET
def nav_badge(request: HttpRequest) -> HttpResponse:
    """The navigation's unread count alone, polled by every recruiter page (base.html): 204
    while nothing changed since the version the page shows."""
    version = live.inbox_version(_company_id(request))
    if live.unchanged(request, version):
        return live.nothing_new()
    badge = inbox.nav_badge(request)
    return render(
        request,
        "_nav_badge_live.html",
        {"badge": badge, "badge_url": reverse("messaging:inbox_badge"), "version": version},
    )


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
