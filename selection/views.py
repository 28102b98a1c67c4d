"""Recruiter screens: the 選考 tab on the candidate page, the company's interview list, and
schedules with their slots on a week view."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import cast

from django.contrib import messages
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from candidates import extensions
from candidates.detail import candidate_or_404, detail_context
from hrmos.models import User
from hrmos.tenancy import get_scoped_or_404, request_company, scoped
from selection import actions
from selection.booking import Conflict
from selection.forms import BulkSlotForm, InterviewForm, RoomForm, ScheduleForm, SlotForm, recruiters
from selection.models import Interview, Room, Schedule, SchedulingRequest, Slot

TAB_KEY = "selection"
STATUS_STYLES = {
    Interview.Status.ADJUSTING: "warning",
    Interview.Status.CONFIRMED: "primary",
    Interview.Status.DONE: "success",
    Interview.Status.CANCELLED: "secondary",
}


def _recruiter(request: HttpRequest) -> User:
    return cast(User, request.user)  # behind the login middleware


def _interviews(request: HttpRequest) -> QuerySet[Interview]:
    return scoped(request, Interview).select_related("candidate", "stage", "room").prefetch_related("interviewers")


def _with_stage_links(interviews: QuerySet[Interview]) -> list[Interview]:
    """The interviews, each carrying the links other apps offer for its step (結果を登録)."""
    rows = list(interviews)
    for interview in rows:
        interview.stage_links = extensions.stage_links(interview.candidate_id, interview.stage_id)  # type: ignore[attr-defined]
    return rows


# ---------------------------------------------------------------------------- candidate tab


@require_GET
def candidate_tab(request: HttpRequest, candidate_pk: int) -> HttpResponse:
    candidate = candidate_or_404(request, candidate_pk)
    context = detail_context(request, candidate, active_tab=TAB_KEY)
    interviews = _interviews(request).filter(candidate=candidate).order_by("-start_at", "-id")
    pending = (
        SchedulingRequest.objects.filter(candidate=candidate, answered_at__isnull=True, cancelled_at__isnull=True)
        .select_related("schedule")
        .order_by("-created_at")
    )
    return render(
        request,
        "selection/candidate_tab.html",
        {**context, "interviews": _with_stage_links(interviews), "pending": pending, "styles": STATUS_STYLES},
    )


def _entry(form: InterviewForm) -> actions.InterviewInput:
    data = form.cleaned_data
    return actions.InterviewInput(
        stage=data["stage"],
        start_at=data["start_at"],
        end_at=data["end_at"],
        place=data["place"],
        online_url=data["online_url"],
        interviewers=list(data["interviewers"]),
        room=data["room"],
        status=data["status"],
        note=data["note"],
    )


@require_http_methods(["GET", "POST"])
def interview_create(request: HttpRequest, candidate_pk: int) -> HttpResponse:
    candidate = candidate_or_404(request, candidate_pk)
    form = InterviewForm(request.POST or None, company=request_company(request), initial={"stage": candidate.stage_id})
    if request.method == "POST" and form.is_valid():
        try:
            actions.register_interview(candidate, _entry(form), _recruiter(request))
        except Conflict as conflict:
            form.add_error(None, str(conflict))
        else:
            messages.success(request, "面接を登録しました。")
            return redirect("selection:candidate_tab", candidate_pk=candidate.pk)
    context = detail_context(request, candidate, active_tab=TAB_KEY)
    return render(request, "selection/interview_form.html", {**context, "form": form})


@require_http_methods(["GET", "POST"])
def interview_edit(request: HttpRequest, interview_pk: int) -> HttpResponse:
    interview = get_scoped_or_404(request, Interview, pk=interview_pk)
    candidate = candidate_or_404(request, interview.candidate_id)
    form = InterviewForm(request.POST or None, company=request_company(request), instance=interview)
    if request.method == "POST" and form.is_valid():
        try:
            actions.update_interview(interview, _entry(form), _recruiter(request))
        except Conflict as conflict:
            form.add_error(None, str(conflict))
        else:
            messages.success(request, "面接を更新しました。")
            return redirect("selection:candidate_tab", candidate_pk=candidate.pk)
    context = detail_context(request, candidate, active_tab=TAB_KEY)
    return render(request, "selection/interview_form.html", {**context, "form": form, "interview": interview})


@require_POST
def interview_status(request: HttpRequest, interview_pk: int) -> HttpResponse:
    interview = get_scoped_or_404(request, Interview, pk=interview_pk)
    status = request.POST.get("status", "")
    if status not in Interview.Status.values:
        messages.error(request, "状態の指定が正しくありません。")
    else:
        try:
            actions.set_status(interview, status, _recruiter(request))
        except Conflict as conflict:
            messages.error(request, str(conflict))
        else:
            messages.success(request, f"面接を「{Interview.Status(status).label}」にしました。")
    return redirect("selection:candidate_tab", candidate_pk=interview.candidate_id)


@require_POST
def request_withdraw(request: HttpRequest, scheduling_request_pk: int) -> HttpResponse:
    scheduling = get_scoped_or_404(
        request, SchedulingRequest.objects.select_related("schedule__company"), pk=scheduling_request_pk
    )
    actions.withdraw_request(scheduling, _recruiter(request), timezone.now())
    messages.success(request, f"「{scheduling.schedule.name}」の日程調整の依頼を取り消しました。")
    return redirect("selection:candidate_tab", candidate_pk=scheduling.candidate_id)


# ---------------------------------------------------------------------------- interview list


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _day_range(day: date, days: int) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(day, datetime.min.time()))
    return start, start + timedelta(days=days)


@require_GET
def interview_list(request: HttpRequest) -> HttpResponse:
    company = request_company(request)
    today = timezone.localdate()
    period = request.GET.get("period", "today")
    if period == "week":
        start, end = _day_range(_week_start(today), 7)
    elif period == "upcoming":
        start, end = _day_range(today, 366)
    else:
        period = "today"
        start, end = _day_range(today, 1)
    interviews = _interviews(request).filter(start_at__gte=start, start_at__lt=end).order_by("start_at", "id")
    people = list(recruiters(company))
    chosen = request.GET.get("interviewer", "")
    if chosen.isdigit() and any(person.pk == int(chosen) for person in people):
        interviews = interviews.filter(interviewers=int(chosen))
    else:
        chosen = ""
    context = {
        "interviews": _with_stage_links(interviews),
        "period": period,
        "people": people,
        "chosen": chosen,
        "styles": STATUS_STYLES,
        "today": today,
    }
    return render(request, "selection/interview_list.html", context)


# ---------------------------------------------------------------------------- schedules


@require_http_methods(["GET", "POST"])
def schedule_list(request: HttpRequest) -> HttpResponse:
    company = request_company(request)
    now = timezone.now()
    schedules = (
        scoped(request, Schedule)
        .filter(archived_at__isnull=True)
        .select_related("stage", "room")
        .prefetch_related("interviewers")
        .annotate(
            free_count=Count("slots", filter=Q(slots__start_at__gt=now), distinct=True),
            request_count=Count("requests", distinct=True),
        )
    )
    room_form = RoomForm(request.POST or None, instance=Room(company=company))
    if request.method == "POST" and room_form.is_valid():
        if Room.objects.filter(company=company, name=room_form.cleaned_data["name"]).exists():
            messages.error(request, "同じ名前の会議室がすでにあります。")
        else:
            room_form.save()
            messages.success(request, "会議室を追加しました。")
            return redirect("selection:schedules")
    rooms = scoped(request, Room)
    return render(
        request, "selection/schedule_list.html", {"schedules": schedules, "rooms": rooms, "room_form": room_form}
    )


@require_http_methods(["GET", "POST"])
def schedule_create(request: HttpRequest) -> HttpResponse:
    company = request_company(request)
    form = ScheduleForm(request.POST or None, company=company, instance=Schedule(company=company))
    if request.method == "POST" and form.is_valid():
        schedule = form.save(commit=False)
        schedule.created_by = _recruiter(request)
        schedule.save()
        form.save_m2m()
        messages.success(request, f"「{schedule.name}」を作成しました。続けて面接枠を追加してください。")
        return redirect("selection:schedule", schedule_pk=schedule.pk)
    return render(request, "selection/schedule_form.html", {"form": form, "is_new": True})


@require_http_methods(["GET", "POST"])
def schedule_edit(request: HttpRequest, schedule_pk: int) -> HttpResponse:
    schedule = get_scoped_or_404(request, Schedule, pk=schedule_pk)
    form = ScheduleForm(request.POST or None, company=request_company(request), instance=schedule)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "日程調整の設定を保存しました。")
        return redirect("selection:schedule", schedule_pk=schedule.pk)
    return render(request, "selection/schedule_form.html", {"form": form, "schedule": schedule})


@require_POST
def schedule_archive(request: HttpRequest, schedule_pk: int) -> HttpResponse:
    schedule = get_scoped_or_404(request, Schedule.objects.select_related("company"), pk=schedule_pk)
    actions.archive_schedule(schedule, _recruiter(request), timezone.now())
    messages.success(request, f"「{schedule.name}」を終了しました。")
    return redirect("selection:schedules")


def _parse_week(value: str | None, today: date) -> date:
    try:
        return _week_start(date.fromisoformat(value or ""))
    except ValueError:
        return _week_start(today)


@require_GET
def schedule_detail(request: HttpRequest, schedule_pk: int) -> HttpResponse:
    schedule = get_scoped_or_404(
        request, Schedule.objects.select_related("stage", "room").prefetch_related("interviewers"), pk=schedule_pk
    )
    week = _parse_week(request.GET.get("week"), timezone.localdate())
    return render(request, "selection/schedule_detail.html", _week_context(schedule, week))


def _week_context(schedule: Schedule, week: date, **forms: object) -> dict[str, object]:
    start, end = _day_range(week, 7)
    booked = Interview.objects.exclude(status=Interview.Status.CANCELLED).select_related("candidate")
    slots = (
        Slot.objects.filter(schedule=schedule, start_at__gte=start, start_at__lt=end)
        .prefetch_related(Prefetch("interviews", queryset=booked, to_attr="active"))
        .order_by("start_at")
    )
    days = [week + timedelta(days=i) for i in range(7)]
    columns: dict[date, list[Slot]] = {day: [] for day in days}
    for slot in slots:
        columns[timezone.localtime(slot.start_at).date()].append(slot)
    return {
        "schedule": schedule,
        "gone": actions.gone_interviewers(schedule),
        "week": week,
        "previous_week": week - timedelta(days=7),
        "next_week": week + timedelta(days=7),
        "columns": list(columns.items()),
        "now": timezone.now(),
        "slot_form": forms.get("slot_form") or SlotForm(),
        "bulk_form": forms.get("bulk_form")
        or BulkSlotForm(
            initial={
                "first_day": week,
                "last_day": week + timedelta(days=4),
                "day_start": "10:00",
                "day_end": "17:00",
                "minutes": schedule.duration_minutes,
            }
        ),
    }


@require_POST
def slot_create(request: HttpRequest, schedule_pk: int) -> HttpResponse:
    schedule = get_scoped_or_404(request, Schedule, pk=schedule_pk)
    form = SlotForm(request.POST)
    week = _parse_week(request.POST.get("week"), timezone.localdate())
    if form.is_valid():
        start = form.start()
        try:
            actions.add_slot(schedule, start, start + timedelta(minutes=schedule.duration_minutes), timezone.now())
        except actions.SlotError as refused:
            form.add_error(None, str(refused))
        else:
            messages.success(request, "面接枠を追加しました。")
            return redirect(f"{_schedule_url(schedule)}?week={_week_start(timezone.localdate(start)).isoformat()}")
    return render(request, "selection/schedule_detail.html", _week_context(schedule, week, slot_form=form), status=400)


@require_POST
def slot_bulk_create(request: HttpRequest, schedule_pk: int) -> HttpResponse:
    schedule = get_scoped_or_404(request, Schedule, pk=schedule_pk)
    form = BulkSlotForm(request.POST)
    week = _parse_week(request.POST.get("week"), timezone.localdate())
    if form.is_valid():
        try:
            created, skipped = actions.add_slots(schedule, form.spec(), timezone.now())
        except actions.SlotError as refused:
            form.add_error(None, str(refused))
        else:
            note = f"（重複・過去の{skipped}枠はスキップ）" if skipped else ""
            messages.success(request, f"面接枠を{created}件追加しました{note}。")
            first = _week_start(form.cleaned_data["first_day"])
            return redirect(f"{_schedule_url(schedule)}?week={first.isoformat()}")
    return render(request, "selection/schedule_detail.html", _week_context(schedule, week, bulk_form=form), status=400)


@require_POST
def slot_delete(request: HttpRequest, schedule_pk: int, slot_pk: int) -> HttpResponse:
    schedule = get_scoped_or_404(request, Schedule, pk=schedule_pk)
    slot = get_scoped_or_404(request, Slot.objects.filter(schedule=schedule), pk=slot_pk)
    try:
        actions.delete_slot(slot)
    except actions.SlotError as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, "面接枠を削除しました。")
    week = _week_start(timezone.localtime(slot.start_at).date())
    return redirect(f"{_schedule_url(schedule)}?week={week.isoformat()}")


def _schedule_url(schedule: Schedule) -> str:
    return reverse("selection:schedule", args=[schedule.pk])
