"""The candidate's scheduling page (public, no login): `/s/<token>/`.

The candidate sees the free future slots and books one; with a booking, sees it and may move
it to another free slot or cancel it until the deadline; after the deadline, whom to contact.
As with the form pages, the token is the only key: never cached, never indexed, and masked in
Django's request log (`redact_scheduling_tokens`).
"""

from __future__ import annotations

from datetime import timedelta
from itertools import groupby
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from hrmos.personal_links import RedactTokens, candidate_page
from selection import actions
from selection.links import find_link
from selection.models import SchedulingRequest, Slot

NOTICES = {
    "booked": "面接のご予約が確定しました。確認のメールをお送りしました。",
    "changed": "面接の日時を変更しました。確認のメールをお送りしました。",
    "cancelled": "面接をキャンセルしました。ご都合のよい日時があれば、改めてお選びいただけます。",
}
REFUSALS = {
    actions.Refused.TAKEN: (
        "申し訳ありません。選択された日時は、ほかの方の予約で埋まってしまいました。"
        "空いている日時からもう一度お選びください。"
    ),
    actions.Refused.CLOSED: (
        "選択された日時は、予約・変更の受付を終了しています。空いている日時からもう一度お選びください。"
    ),
}


redact_scheduling_tokens = RedactTokens(r"(/s/)[^/\s?#]+")


def _days(slots: list[Slot]) -> list[tuple[Any, list[Slot]]]:
    return [(day, list(group)) for day, group in groupby(slots, key=lambda s: timezone.localtime(s.start_at).date())]


def _page(request: HttpRequest, scheduling: SchedulingRequest, *, error: str = "", status: int = 200) -> HttpResponse:
    now = timezone.now()
    schedule = scheduling.schedule
    interview = actions.current_interview(scheduling)
    can_change = interview is not None and schedule.deadline_for(interview.start_at) > now
    slots = [] if interview is not None and not can_change else actions.free_slots(schedule, now)
    if interview is not None:
        slots = [slot for slot in slots if slot.pk != interview.slot_id]
    context = {
        "company": schedule.company,
        "schedule": schedule,
        "candidate": scheduling.candidate,
        "interview": interview,
        "can_change": can_change,
        # Shown as the last minute that counts: 「12月9日（水）23:59まで」, not 「12月10日 00:00まで」.
        "deadline": schedule.deadline_for(interview.start_at) - timedelta(minutes=1) if interview else None,
        "days": _days(slots),
        "notice": NOTICES.get(request.GET.get("done", "")),
        "error": error,
        "cancelled": scheduling.cancelled_at is not None,
    }
    return render(request, "selection/public/book.html", context, status=status)


def _slot_pk(value: str | None) -> int | None:
    try:
        return int(value or "")
    except ValueError:
        return None


@candidate_page
@require_http_methods(["GET", "HEAD", "POST"])
def book(request: HttpRequest, token: str) -> HttpResponse:
    link = find_link(token)
    if link is None:
        return render(request, "selection/public/invalid.html", status=404)
    scheduling = link.request
    if scheduling.cancelled_at is not None:
        return _page(request, scheduling, status=410)
    if request.method != "POST":
        return _page(request, scheduling)
    try:
        if request.POST.get("action") == "cancel":
            done = "cancelled" if actions.cancel_booking(scheduling) else ""
        else:
            slot_pk = _slot_pk(request.POST.get("slot"))
            if slot_pk is None:
                return _page(request, scheduling, error="ご希望の日時を選択してください。", status=400)
            had_booking = actions.current_interview(scheduling) is not None
            actions.book(scheduling, slot_pk)
            done = "changed" if had_booking else "booked"
    except actions.Refused as refused:
        scheduling.refresh_from_db()
        return _page(request, scheduling, error=REFUSALS.get(refused.reason, ""), status=409)
    return redirect(f"{request.path}?done={done}")
