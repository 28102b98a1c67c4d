"""CSV import (upload → preview → confirm) and export screens."""

from collections.abc import Iterator
from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from candidates import actions, csv_io, listing
from candidates.forms import ImportMappingForm, ImportUploadForm
from candidates.models import ImportBatch
from hrmos.audit import log_action
from hrmos.http import RecruiterRequest
from hrmos.tenancy import get_scoped_or_404, request_company


def _csv_response(content: str | Iterator[str], filename: str) -> HttpResponseBase:
    """A whole CSV file, or one streamed line by line."""
    response: HttpResponseBase
    if isinstance(content, str):
        response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    else:
        response = StreamingHttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_http_methods(["GET", "POST"])
def export(request: RecruiterRequest) -> HttpResponseBase:
    """GET: the list's current filter and sort, every page. POST: a bulk-bar selection."""
    if request.method == "POST":
        candidates = listing.selected_candidates(request, request.POST)
    else:
        candidates = listing.filtered_candidates(request, request.GET)
    # Who took personal data out, and which slice of it.
    summary = "選択した候補者" if request.method == "POST" else (request.GET.urlencode()[:300] or "全件")
    log_action(request_company(request), request.user, "candidate.export", summary)
    # iterator(): rows stream from a server-side cursor instead of all loading into memory.
    lines = csv_io.export_lines(candidates.iterator(chunk_size=2000))
    return _csv_response(lines, f"candidates-{timezone.localdate():%Y%m%d}.csv")


@require_GET
def import_template(request: HttpRequest) -> HttpResponseBase:
    return _csv_response(csv_io.template_csv(), "candidates-template.csv")


@require_http_methods(["GET", "POST"])
def import_upload(request: RecruiterRequest) -> HttpResponse:
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            batch = actions.start_import(request_company(request), request.user, upload.name, upload.read())
        except csv_io.CsvFileError as exc:
            form.add_error("file", str(exc))
        else:
            return redirect("candidates:import_preview", batch_id=batch.pk)
    context = {
        "form": form,
        "targets": csv_io.TARGETS,
        "max_rows": csv_io.MAX_ROWS,
        "max_mb": csv_io.MAX_UPLOAD_BYTES // (1024 * 1024),
    }
    return render(request, "candidates/import_upload.html", context)


@require_http_methods(["GET", "POST"])
def import_preview(request: HttpRequest, batch_id: UUID) -> HttpResponse:
    batch = get_scoped_or_404(request, ImportBatch, pk=batch_id)
    form = ImportMappingForm(request.POST or None, header=batch.headers, mapping=batch.mapping)
    if request.method == "POST" and form.is_valid():
        batch.mapping = form.mapping()
        batch.save(update_fields=["mapping"])
        messages.info(request, "列の割り当てを変更しました。")
        return redirect("candidates:import_preview", batch_id=batch.pk)
    validation = actions.validate_import(batch)
    errors_only = request.GET.get("errors_only") == "1"
    samples = [
        next((row[index] for row in batch.rows if row[index].strip()), "") for index in range(len(batch.headers))
    ]
    context = {
        "batch": batch,
        "form": form,
        "mapping_rows": list(zip(form, samples, strict=True)),
        "validation": validation,
        "rows": validation.error_rows if errors_only else validation.rows,
        "errors_only": errors_only,
        # Open the mapping when something needs a decision: an error, or a column left out.
        "mapping_open": bool(validation.file_errors) or "" in batch.mapping,
        "error_count": len(validation.error_rows),
        "importable": len(validation.rows) - len(validation.error_rows),
    }
    return render(request, "candidates/import_preview.html", context)


@require_POST
def import_confirm(request: RecruiterRequest, batch_id: UUID) -> HttpResponse:
    batch = get_scoped_or_404(request, ImportBatch, pk=batch_id)
    try:
        count = actions.import_batch(batch, request.user)
    except actions.ImportRejected:
        messages.error(request, "エラーのある行があるため、インポートしませんでした。内容を確認してください。")
        return redirect("candidates:import_preview", batch_id=batch.pk)
    messages.success(request, f"{count}件の候補者をインポートしました。")
    return redirect("candidates:list")


@require_POST
def import_cancel(request: HttpRequest, batch_id: UUID) -> HttpResponse:
    get_scoped_or_404(request, ImportBatch, pk=batch_id).delete()
    messages.info(request, "インポートを取り消しました。")
    return redirect("candidates:import")
