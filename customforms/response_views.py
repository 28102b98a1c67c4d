"""Answers for recruiters: per form in a table and as CSV, per candidate in the フォーム回答
tab, and the uploaded files (downloads only, from the recruiter's company only)."""

from __future__ import annotations

from typing import cast

from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from candidates.detail import candidate_or_404, detail_context
from customforms import results
from customforms.models import Form, FormAnswer, FormLink, FormResponse
from hrmos.audit import log_action
from hrmos.models import User
from hrmos.tenancy import get_scoped_or_404, request_company

PAGE_SIZE = 50
TAB_KEY = "form_answers"


@require_GET
def response_table(request: HttpRequest, form_pk: int) -> HttpResponse:
    form = get_scoped_or_404(request, Form, pk=form_pk)
    columns = results.columns(form)
    page = Paginator(results.responses(form), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(response, results.row_answers(response, columns)) for response in page]
    context = {
        "form": form,
        "columns": columns,
        "rows": rows,
        "page": page,
        "status": form.status(timezone.now()),
        "sent_count": form.links.values("candidate_id").distinct().count(),
    }
    return render(request, "customforms/response_table.html", context)


@require_GET
def response_export(request: HttpRequest, form_pk: int) -> StreamingHttpResponse:
    form = get_scoped_or_404(request, Form, pk=form_pk)
    recruiter = cast(User, request.user)  # behind the login middleware
    log_action(request_company(request), recruiter, "form.export", form.name, form=form.pk)
    lines = results.export_lines(form, results.responses(form).iterator(chunk_size=500))
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    filename = f"form-{form.pk}-answers-{timezone.localdate():%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
def answer_file(request: HttpRequest, form_answer_pk: int) -> FileResponse:
    """A file a candidate uploaded: always a download, never rendered by the browser."""
    answer = get_scoped_or_404(request, FormAnswer.objects.exclude(file=""), pk=form_answer_pk)
    response = FileResponse(
        answer.file.open("rb"),
        as_attachment=True,
        filename=answer.value if isinstance(answer.value, str) and answer.value else "file",
        content_type=answer.file_content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
def candidate_tab(request: HttpRequest, candidate_pk: int) -> HttpResponse:
    """The candidate page's フォーム回答 tab: every form they answered, newest first, and the
    forms sent to them that they have not answered yet."""
    candidate = candidate_or_404(request, candidate_pk)
    context = detail_context(request, candidate, active_tab=TAB_KEY)
    responses = list(
        FormResponse.objects.filter(candidate=candidate)
        .select_related("form")
        .prefetch_related("answers__field")
        .order_by("-submitted_at", "-id")
    )
    answered = FormResponse.objects.filter(form=OuterRef("pk"), candidate=candidate)
    pending = (
        Form.objects.filter(pk__in=FormLink.objects.filter(candidate=candidate).values("form_id"))
        .exclude(Exists(answered))
        .order_by("-created_at")
    )
    now = timezone.now()
    pending_forms = [(form, form.status(now)) for form in pending]
    return render(
        request,
        "customforms/candidate_tab.html",
        {**context, "responses": responses, "pending_forms": pending_forms},
    )
