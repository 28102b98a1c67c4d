"""The recruiter's イベント管理: list, create/edit with dates, copy, delete, a date's 開催中止,
participants with attendance, CSV export, 代行予約, and the candidate page's event history.
Thin: parse, call an action, render."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import Max, Min, Q, QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from candidates.detail import candidate_or_404, detail_context
from candidates.models import Candidate
from events import actions, candidate_filters, notices
from events.forms import EventForm, date_formset
from events.links import public_url
from events.models import Application, Event, EventDate
from hrmos.audit import log_action
from hrmos.models import User
from hrmos.tenancy import get_scoped_or_404, request_company, scoped
from messaging.models import Kind

TAB_KEY = "events"
TABS = {"upcoming": "開催予定", "past": "終了"}
BOM = "\ufeff"


def _recruiter(request: HttpRequest) -> User:
    return cast(User, request.user)  # recruiter screens are behind the login middleware


def _event_or_404(request: HttpRequest, event_pk: int) -> Event:
    return get_scoped_or_404(request, Event, pk=event_pk)


def _date_or_404(request: HttpRequest, event_pk: int, event_date_pk: int) -> EventDate:
    return get_scoped_or_404(request, EventDate.objects.select_related("event"), pk=event_date_pk, event_id=event_pk)


@require_GET
def event_list(request: HttpRequest) -> HttpResponse:
    tab = request.GET.get("tab") if request.GET.get("tab") in TABS else "upcoming"
    now = timezone.now()
    events = scoped(request, Event).annotate(first_start=Min("dates__starts_at"), last_end=Max("dates__ends_at"))
    if tab == "upcoming":
        events = events.filter(Q(last_end__gt=now) | Q(last_end__isnull=True)).order_by("first_start", "pk")
    else:
        events = events.filter(last_end__lte=now).order_by("-last_end", "-pk")
    events = events.prefetch_related("dates")
    return render(request, "events/event_list.html", {"events": events, "tab": tab, "tabs": TABS, "now": now})


def _save(request: HttpRequest, event: Event | None) -> HttpResponse:
    now = timezone.now()
    dates = list(event.dates.all()) if event else []
    event_form = EventForm(request.POST or None, instance=event)
    formset = date_formset(request.POST or None, dates, now)
    if request.method == "POST" and event_form.is_valid() and formset.is_valid():
        fields = {name: event_form.cleaned_data[name] for name in EventForm.Meta.fields}
        try:
            saved = actions.save_event(
                request_company(request),
                _recruiter(request),
                event,
                fields,
                formset.date_inputs(),
                formset.deleted_ids(),
            )
        except actions.EventError as refused:
            messages.error(request, str(refused))
        else:
            messages.success(request, f"「{saved.title}」を保存しました。")
            return redirect("events:detail", event_pk=saved.pk)
    context = {"event_form": event_form, "formset": formset, "event": event, "is_new": event is None}
    return render(request, "events/event_form.html", context)


@require_http_methods(["GET", "POST"])
def event_create(request: HttpRequest) -> HttpResponse:
    return _save(request, None)


@require_http_methods(["GET", "POST"])
def event_edit(request: HttpRequest, event_pk: int) -> HttpResponse:
    return _save(request, _event_or_404(request, event_pk))


@dataclass
class DateRow:
    date: EventDate
    applications: list[Application]
    counts: dict[str, int]


STATUS_FILTERS = dict(Application.Status.choices)


def _date_rows(event: Event, date_filter: int | None, status_filter: str) -> list[DateRow]:
    applications = Application.objects.filter(event=event).select_related("candidate").order_by("applied_at", "pk")
    by_date: dict[int, list[Application]] = {}
    for application in applications:
        by_date.setdefault(application.date_id, []).append(application)
    rows = []
    for date in event.dates.all():
        if date_filter and date.pk != date_filter:
            continue
        everyone = by_date.get(date.pk, [])
        counts = {status: sum(1 for a in everyone if a.status == status) for status in STATUS_FILTERS}
        shown = [a for a in everyone if not status_filter or a.status == status_filter]
        rows.append(DateRow(date, shown, counts))
    return rows


def _int_param(value: str | None) -> int | None:
    text = (value or "").strip()
    return int(text) if text.isdigit() and len(text) < 10 else None


@require_GET
def event_detail(request: HttpRequest, event_pk: int) -> HttpResponse:
    event = _event_or_404(request, event_pk)
    date_filter = _int_param(request.GET.get("date"))
    status_filter = request.GET.get("status", "")
    status_filter = status_filter if status_filter in STATUS_FILTERS else ""
    context = {
        "event": event,
        "rows": _date_rows(event, date_filter, status_filter),
        "all_dates": list(event.dates.all()),
        "date_filter": date_filter,
        "status_filter": status_filter,
        "statuses": Application.Status.choices,
        "public_url": public_url(event),
        "now": timezone.now(),
        "message_kind": Kind.EVENT_MESSAGE,
        "previews": notices.previews(event),
    }
    return render(request, "events/event_detail.html", context)


@require_POST
def event_copy(request: HttpRequest, event_pk: int) -> HttpResponse:
    event = _event_or_404(request, event_pk)
    copy = actions.copy_event(event, _recruiter(request), timezone.now())
    messages.success(request, f"「{event.title}」を複製しました。日程と公開設定を確認してください。")
    return redirect("events:edit", event_pk=copy.pk)


@require_http_methods(["GET", "POST"])
def event_delete(request: HttpRequest, event_pk: int) -> HttpResponse:
    event = _event_or_404(request, event_pk)
    if request.method == "POST":
        try:
            actions.delete_event(event, _recruiter(request))
        except actions.EventError as refused:
            messages.error(request, str(refused))
            return redirect("events:detail", event_pk=event.pk)
        messages.success(request, f"「{event.title}」を削除しました。")
        return redirect("events:list")
    count = event.applications.count()
    return render(request, "events/event_confirm_delete.html", {"event": event, "application_count": count})


@require_POST
def date_cancel(request: HttpRequest, event_pk: int, event_date_pk: int) -> HttpResponse:
    date = _date_or_404(request, event_pk, event_date_pk)
    try:
        count = actions.cancel_date(date, _recruiter(request), timezone.now())
    except actions.EventError as refused:
        messages.error(request, str(refused))
        return redirect("events:detail", event_pk=event_pk)
    messages.success(
        request,
        f"{actions.date_label(date)}を開催中止にしました。申込{count}件をキャンセルし、キャンセルのメールを送信しています。",
    )
    if count:
        return redirect(
            reverse("events:detail", args=[event_pk])
            + f"?date={date.pk}&status={Application.Status.CANCELLED}&cancelled=1"
        )
    return redirect("events:detail", event_pk=event_pk)


def _applications(request: HttpRequest, event: Event, ids: list[str]) -> QuerySet[Application]:
    wanted = [int(value) for value in ids if value.isdigit() and len(value) < 18]
    return scoped(request, Application).filter(event=event, pk__in=wanted)


@require_POST
def attendance(request: HttpRequest, event_pk: int) -> HttpResponse:
    """出欠: one row (htmx, answers the row) or the checked rows (a form post)."""
    event = _event_or_404(request, event_pk)
    status = request.POST.get("status", "")
    applications = _applications(request, event, request.POST.getlist("ids"))
    try:
        changed = actions.set_attendance(applications, status, _recruiter(request))
    except actions.EventError as refused:
        if request.headers.get("HX-Request"):
            return HttpResponse(str(refused), status=400)
        messages.error(request, str(refused))
        return redirect("events:detail", event_pk=event.pk)
    if request.headers.get("HX-Request") and request.POST.get("row") == "1":
        application = applications.select_related("candidate").first()
        if application is None:
            return HttpResponse("申込が見つかりません。", status=404)
        return render(
            request,
            "events/_participant_row.html",
            {"application": application, "event": event, "statuses": Application.Status.choices},
        )
    if not applications.exists():
        messages.error(request, "参加者を選んでください。")
    else:
        messages.success(request, f"{changed}名の出欠を「{Application.Status(status).label}」にしました。")
    return redirect(_back_to(request, reverse("events:detail", args=[event.pk])))


def _back_to(request: HttpRequest, default: str) -> str:
    """The page the form came from (`next`), when it is a path on this site; else `default`."""
    target = request.POST.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


@require_http_methods(["GET", "POST"])
def participants_message(request: HttpRequest, event_pk: int) -> HttpResponse:
    """メッセージ送信 to participants: the checked rows, or everyone of a date and status. It
    opens the compose screen (kind event_message, this event chosen) on those candidates: the
    rows' ids, or the candidate list's event filter for a whole date or status."""
    event = _event_or_404(request, event_pk)
    data = request.POST if request.method == "POST" else request.GET
    query: list[tuple[str, str | int]] = [("kind", Kind.EVENT_MESSAGE), ("event", event.pk)]
    ids = [v for v in data.getlist("ids") if v.isdigit() and len(v) < 18]
    if ids:
        chosen = scoped(request, Application).filter(event=event, pk__in=[int(v) for v in ids])
        query += [("ids", pk) for pk in chosen.values_list("candidate_id", flat=True)]
    else:
        date = scoped(request, EventDate).filter(event=event, pk=_int_param(data.get("date")) or 0).first()
        status = data.get("status", "")
        filters = {candidate_filters.EVENT_KEY: f"d{date.pk}" if date else f"e{event.pk}"}
        if status in STATUS_FILTERS:
            filters[candidate_filters.STATUS_KEY] = status
        query += [("all_matching", "1"), ("query", urlencode(filters))]
        if not candidate_filters.narrow(scoped(request, Candidate), filters).exists():
            query = []
    if len(query) <= 2:
        messages.error(request, "送信先の参加者がいません。日程と状態を確認してください。")
        return redirect("events:detail", event_pk=event.pk)
    return redirect(reverse("messaging:compose_bulk") + "?" + urlencode(query))


def _export_lines(event: Event) -> Iterator[str]:
    class Echo:
        def write(self, value: str) -> str:
            return value

    writer = csv.writer(Echo())
    yield BOM + writer.writerow(
        [
            "日程",
            "会場",
            "状態",
            "姓",
            "名",
            "セイ",
            "メイ",
            "メールアドレス",
            "大学",
            "卒業年度",
            "申込経路",
            "申込日時",
        ]
    )
    applications = (
        Application.objects.filter(event=event)
        .select_related("candidate", "date")
        .order_by("date__starts_at", "applied_at", "pk")
    )
    for a in applications.iterator(chunk_size=500):
        c = a.candidate
        yield writer.writerow(
            [
                f"{timezone.localtime(a.date.starts_at):%Y-%m-%d %H:%M}",
                _safe(a.date.venue()),
                a.get_status_display(),
                _safe(c.last_name),
                _safe(c.first_name),
                _safe(c.last_name_kana),
                _safe(c.first_name_kana),
                _safe(c.email),
                _safe(c.university),
                c.graduation_year or "",
                a.get_source_display(),
                f"{timezone.localtime(a.applied_at):%Y-%m-%d %H:%M}",
            ]
        )


def _safe(value: str) -> str:
    """A cell a spreadsheet would run as a formula is kept as text."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@require_GET
def event_export(request: HttpRequest, event_pk: int) -> StreamingHttpResponse:
    event = _event_or_404(request, event_pk)
    log_action(request_company(request), _recruiter(request), "event.export", event.title, event=event.pk)
    response = StreamingHttpResponse(_export_lines(event), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="event-{event.pk}-participants-{timezone.localdate():%Y%m%d}.csv"'
    )
    return response


def _book(request: HttpRequest, date: EventDate, candidate: Candidate) -> bool:
    try:
        actions.apply(date, candidate, Application.Source.RECRUITER)
    except actions.ApplyRefused as refused:
        messages.error(request, f"{candidate.name}さんを予約できませんでした：{refused}")
        return False
    messages.success(
        request, f"{candidate.name}さんを{actions.date_label(date)}に代行予約しました。確認メールを送信しています。"
    )
    return True


@require_POST
def event_book(request: HttpRequest, event_pk: int) -> HttpResponse:
    """代行予約 from the event page: a candidate found by their email address, onto a date."""
    event = _event_or_404(request, event_pk)
    date = scoped(request, EventDate).filter(event=event, pk=_int_param(request.POST.get("date")) or 0).first()
    email = request.POST.get("email", "").strip()[:254]
    candidate = (
        scoped(request, Candidate).filter(email__iexact=email).first() if email and "\x00" not in email else None
    )
    if date is None:
        messages.error(request, "予約する日程を選んでください。")
    elif candidate is None:
        messages.error(request, "このメールアドレスの候補者は登録されていません。候補者一覧から登録してください。")
    else:
        _book(request, date, candidate)
    return redirect("events:detail", event_pk=event.pk)


@require_http_methods(["GET", "POST"])
def candidate_book(request: HttpRequest, candidate_pk: int) -> HttpResponse:
    """代行予約 from the candidate page: the dates still to come, full ones marked."""
    candidate = candidate_or_404(request, candidate_pk)
    now = timezone.now()
    if request.method == "POST":
        date = (
            scoped(request, EventDate.objects.select_related("event"))
            .filter(pk=_int_param(request.POST.get("date")) or 0)
            .first()
        )
        if date is None:
            messages.error(request, "予約する日程を選んでください。")
        elif _book(request, date, candidate):
            return redirect("events:candidate_tab", candidate_pk=candidate.pk)
    dates = (
        scoped(request, EventDate)
        .filter(starts_at__gt=now, cancelled_at__isnull=True)
        .select_related("event")
        .order_by("starts_at", "pk")
    )
    held = set(
        Application.objects.filter(candidate=candidate, status__in=Application.LIVE).values_list("event_id", flat=True)
    )
    context = detail_context(request, candidate, active_tab=TAB_KEY)
    context.update({"dates": dates, "held": held, "now": now})
    return render(request, "events/candidate_book.html", context)


@require_GET
def candidate_tab(request: HttpRequest, candidate_pk: int) -> HttpResponse:
    """The candidate page's イベント tab: every application, newest first."""
    candidate = candidate_or_404(request, candidate_pk)
    context = detail_context(request, candidate, active_tab=TAB_KEY)
    context["applications"] = list(
        Application.objects.filter(candidate=candidate).select_related("event", "date").order_by("-applied_at", "-pk")
    )
    return render(request, "events/candidate_tab.html", context)
