"""The candidate page's 選考結果 tab (record one result, see the history and pending notices),
the list's bulk recording, and cancelling or sending a pending notice at once."""

from __future__ import annotations

from collections import defaultdict

from django.contrib import messages as flash
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from candidates.detail import candidate_or_404, detail_context
from candidates.listing import selected_candidates
from candidates.models import Candidate, Stage
from hrmos.http import RecruiterRequest
from hrmos.tenancy import get_scoped_or_404, request_company
from results import actions, notices
from results.forms import BulkRecordForm, RecordForm
from results.models import NoticeSetting, Outcome, SelectionResult

TAB_KEY = "results"
# Each result's notice is its own send (so it can be cancelled alone): about 20 queries per
# candidate. A bigger selection is refused with a message rather than left to time out.
BULK_MAX = 300
SELECTION_FIELDS = ("ids", "all_matching", "query")


@require_http_methods(["GET", "POST"])
def candidate_tab(request: RecruiterRequest, candidate_pk: int) -> HttpResponse:
    candidate = candidate_or_404(request, candidate_pk)
    company = request_company(request)
    stages = actions.recordable_stages(company)
    if request.method == "POST":
        form = RecordForm(request.POST, stages=stages)
        if form.is_valid():
            try:
                recorded = actions.record_result(
                    candidate,
                    form.cleaned_data["stage"],
                    form.cleaned_data["outcome"],
                    note=form.cleaned_data["note"],
                    user=request.user,
                    move=form.cleaned_data["move"],
                )
            except Candidate.DoesNotExist as gone:  # deleted by someone else meanwhile
                raise Http404("見つかりません。") from gone
            _report(request, recorded)
            return redirect("results:candidate_tab", candidate_pk=candidate.pk)
    else:
        form = RecordForm(stages=stages, initial={"stage": _initial_stage(request, candidate, stages)})
    return render(request, "results/candidate_tab.html", _tab_context(request, candidate, form))


def _initial_stage(request: HttpRequest, candidate: Candidate, stages: QuerySet[Stage]) -> Stage | None:
    """The step named by `?stage=` (a link from an interview), else the candidate's current one."""
    asked = request.GET.get("stage", "")
    chosen = stages.filter(pk=int(asked)).first() if asked.isdigit() else None
    if chosen is not None:
        return chosen
    return candidate.stage if candidate.stage.kind in actions.RECORDABLE_KINDS else stages.first()


def _report(request: HttpRequest, recorded: actions.Recorded) -> None:
    result = recorded.result
    text = f"{result.stage.name}の選考結果を「{result.get_outcome_display()}」で登録しました。"
    if result.moved_to is not None:
        text += f"選考ステップを「{result.moved_to.name}」に進めました。"
    if recorded.cancelled_notice:
        text += "変更前の結果の通知（送信予約）はキャンセルしました。"
    notice = result.notice
    if notice is not None and not recorded.notice_error and notices.is_pending(notice) and notice.scheduled_at:
        text += f"結果の通知は {notice.scheduled_at:%Y/%m/%d %H:%M} にメールで送信されます。"
    flash.success(request, text)
    if recorded.notice_error:
        flash.warning(request, recorded.notice_error)


def _tab_context(request: RecruiterRequest, candidate: Candidate, form: RecordForm) -> dict:
    company = request_company(request)
    results = list(
        SelectionResult.objects.filter(candidate=candidate)
        .select_related("stage", "recorded_by", "moved_to", "notice")
        .order_by("stage__position", "-recorded_at", "-id")
    )
    history: dict[int, list[SelectionResult]] = defaultdict(list)
    current = []
    for result in results:
        if result.is_current:
            current.append(result)
        else:
            history[result.stage_id].append(result)
    stage_notices = {
        stage.pk: {
            value: notice_sentence(str(label), notices.notice_for(company, stage, value))
            for value, label in Outcome.choices
        }
        for stage in form.fields["stage"].queryset  # type: ignore[attr-defined]
    }
    return {
        **detail_context(request, candidate, active_tab=TAB_KEY),
        "form": form,
        "current": [(result, history.get(result.stage_id, [])) for result in current],
        "pending": list(actions.pending_notices(candidate)),
        "stage_notices_json": stage_notices,
        "next_stage": actions.next_stage(candidate.stage),
    }


def notice_sentence(label: str, notice: notices.Notice) -> str:
    """What recording this result will send, in one line under the form."""
    if not notice.kind_enabled:
        return "選考結果の自動通知はオフになっています（自動送信メール設定）。候補者には送信されません。"
    if not notice.enabled:
        return f"{label}の通知は送信しない設定です。"
    if notice.timing == NoticeSetting.Timing.IMMEDIATE:
        return f"{label}の通知を登録後すぐにメールで送信します。"
    return f"{label}の通知を{notice.timing_label}にメールで送信します（それまではキャンセルできます）。"


def _selection(data: QueryDict) -> list[tuple[str, str]]:
    return [(name, value) for name in SELECTION_FIELDS for value in data.getlist(name)]


@require_POST
def bulk_record(request: RecruiterRequest) -> HttpResponse:
    """Entered from the list's bulk bar with the selection; submitted with `record=1`."""
    company = request_company(request)
    candidates = selected_candidates(request, request.POST)
    total = candidates.count()
    limit_error = too_many(total) if total > BULK_MAX else ""
    if request.POST.get("record") == "1":
        form = BulkRecordForm(request.POST)
        if form.is_valid() and total and not limit_error:
            bulk = actions.record_results(
                company,
                candidates,
                form.cleaned_data["outcome"],
                note=form.cleaned_data["note"],
                user=request.user,
                move=form.cleaned_data["move"],
            )
            _report_bulk(request, bulk, form.cleaned_data["outcome"])
            return redirect("candidates:list")
    else:
        form = BulkRecordForm()
    by_stage: dict[str, int] = defaultdict(int)
    skipped = 0
    for stage_name, kind in candidates.values_list("stage__name", "stage__kind"):
        if kind in actions.RECORDABLE_KINDS:
            by_stage[stage_name] += 1
        else:
            skipped += 1
    return render(
        request,
        "results/bulk.html",
        {
            "form": form,
            "limit_error": limit_error,
            "selection": _selection(request.POST),
            "count": sum(by_stage.values()) + skipped,
            "by_stage": sorted(by_stage.items(), key=lambda item: -item[1]),
            "skipped": skipped,
            "sample": list(candidates[:5]),
            "stage_notices": _bulk_notices(request, candidates),
        },
    )


def too_many(total: int) -> str:
    return (
        f"一度に登録できるのは{BULK_MAX}名までです（{total:,}名を選択中）。"
        "選考ステップなどで絞り込んでから登録してください。"
    )


def _bulk_notices(request: RecruiterRequest, candidates: QuerySet[Candidate]) -> list[tuple[str, list]]:
    company = request_company(request)
    stage_ids = set(candidates.values_list("stage_id", flat=True))
    stages = actions.recordable_stages(company).filter(pk__in=stage_ids)
    return [
        (stage.name, [(label, notices.notice_for(company, stage, value)) for value, label in Outcome.choices])
        for stage in stages
    ]


def _report_bulk(request: HttpRequest, bulk: actions.BulkRecorded, outcome: str) -> None:
    label = notices.OUTCOME_LABELS[outcome]
    text = f"{len(bulk.recorded)}名の選考結果を「{label}」で登録しました。"
    if bulk.moved:
        text += f"{bulk.moved}名を次の選考ステップに進めました。"
    if bulk.notices:
        text += f"結果の通知（メール）は{bulk.notices}名分を送信・送信予約しました。"
    flash.success(request, text)
    if bulk.skipped:
        names = "、".join(c.name for c in bulk.skipped[:3]) + (
            f"ほか{len(bulk.skipped) - 3}名" if len(bulk.skipped) > 3 else ""
        )
        flash.warning(
            request, f"内定・不採用・辞退の選考ステップにいる{len(bulk.skipped)}名（{names}）には登録していません。"
        )
    errors = [r for r in bulk.recorded if r.notice_error]
    if errors:
        flash.warning(request, f"{len(errors)}名の通知を作成できませんでした。{errors[0].notice_error}")


def _result_or_404(request: HttpRequest, selection_result_pk: int) -> SelectionResult:
    return get_scoped_or_404(
        request, SelectionResult.objects.select_related("candidate", "stage", "notice"), pk=selection_result_pk
    )


@require_POST
def notice_cancel(request: RecruiterRequest, selection_result_pk: int) -> HttpResponse:
    result = _result_or_404(request, selection_result_pk)
    if actions.cancel_notice(result, user=request.user):
        flash.success(request, f"{result.stage.name}の選考結果の通知をキャンセルしました。このメールは送信されません。")
    else:
        flash.error(request, "キャンセルできませんでした。通知はすでに送信されたか、キャンセルされています。")
    return redirect("results:candidate_tab", candidate_pk=result.candidate_id)


@require_POST
def notice_send_now(request: RecruiterRequest, selection_result_pk: int) -> HttpResponse:
    result = _result_or_404(request, selection_result_pk)
    if actions.send_notice_now(result, user=request.user):
        flash.success(request, f"{result.stage.name}の選考結果の通知を今すぐ送信しました。")
    else:
        flash.error(request, "今すぐ送信できませんでした。通知はすでに送信されたか、キャンセルされています。")
    return redirect("results:candidate_tab", candidate_pk=result.candidate_id)
