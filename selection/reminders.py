"""Reminders found by beat ticks, all email only: the day-before interview reminder
(interview_reminder) and the reminder to answer a scheduling request (scheduling_answer_reminder).

A confirmed interview starting tomorrow (local time) gets its reminder at the first tick at or
after the company's reminder hour, exactly once per interview and start time: the interview's
row is locked and re-read (a cancellation or a move that committed meanwhile wins), and
`send_automatic`'s once_key makes a second tick, a re-run or a crash-and-retry find the key and
send nothing. A moved interview has a new start time, hence a new key: one reminder for the new
time. A company that turned the reminder off gets none.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from hrmos.models import Company
from messaging.models import Kind
from messaging.sending import automatic
from selection import notices
from selection.actions import free_slots
from selection.models import Interview, SchedulingRequest

logger = logging.getLogger(__name__)


def _tomorrow(now: datetime) -> tuple[datetime, datetime]:
    day = timezone.localdate(now) + timedelta(days=1)
    start = timezone.make_aware(datetime.combine(day, datetime.min.time()))
    return start, start + timedelta(days=1)


def _due(company: Company, now: datetime, hours: dict[int, int | None]) -> bool:
    if company.pk not in hours:
        template = automatic.template_for(company, Kind.INTERVIEW_REMINDER)
        hours[company.pk] = template.hour if template.enabled else None
    hour = hours[company.pk]
    return hour is not None and timezone.localtime(now).hour >= hour


def send_due_reminders(now: datetime | None = None) -> int:
    """Send every reminder due now; returns how many this call wrote."""
    now = now or timezone.now()
    start, end = _tomorrow(now)
    candidates = Interview.objects.filter(status=Interview.Status.CONFIRMED, start_at__gte=start, start_at__lt=end)
    hours: dict[int, int | None] = {}
    sent = 0
    for interview in candidates.select_related("company").order_by("start_at", "pk"):
        if _due(interview.company, now, hours) and _remind(interview.pk, now, start, end):
            sent += 1
    return sent


def _remind(pk: int, now: datetime, start: datetime, end: datetime) -> bool:
    with transaction.atomic():
        interview = (
            Interview.objects.select_for_update(of=("self",))
            .select_related("company", "candidate")
            .filter(pk=pk, status=Interview.Status.CONFIRMED, start_at__gte=start, start_at__lt=end)
            .first()
        )
        if interview is None:  # cancelled or moved since the query
            return False
        return notices.send_reminder(interview, now)


# ---------------------------------------------------------------------------- answering

MAX_ANSWER_REMINDERS = 3
LAST_HOUR = 21  # no reminder to answer goes out in the night, whatever the company's hour


def _answer_due(request: SchedulingRequest, now: datetime) -> bool:
    if request.reminders_sent >= MAX_ANSWER_REMINDERS:
        return False
    return request.created_at + timedelta(days=request.schedule.reminder_days * (request.reminders_sent + 1)) <= now


def send_answer_reminders(now: datetime | None = None) -> int:
    """Remind candidates who have not answered a scheduling request after the schedule's
    number of days (again after as many days, at most three times), while it has free slots.
    Each reminder is sent once: the request is locked and its count re-read, and the once_key
    names the request and the reminder's number."""
    now = now or timezone.now()
    hour_now = timezone.localtime(now).hour
    waiting = SchedulingRequest.objects.filter(
        answered_at__isnull=True,
        cancelled_at__isnull=True,
        reminders_sent__lt=MAX_ANSWER_REMINDERS,
        schedule__archived_at__isnull=True,
    )
    sent = 0
    for request in waiting.select_related("schedule", "company").order_by("pk"):
        template = automatic.template_for(request.company, Kind.SCHEDULING_ANSWER_REMINDER)
        if not template.enabled or not template.hour <= hour_now < LAST_HOUR or not _answer_due(request, now):
            continue
        if _remind_to_answer(request.pk, now):
            sent += 1
    return sent


def _remind_to_answer(pk: int, now: datetime) -> bool:
    with transaction.atomic():
        request = (
            SchedulingRequest.objects.select_for_update(of=("self",))
            .select_related("schedule", "company", "candidate")
            .filter(pk=pk, answered_at__isnull=True, cancelled_at__isnull=True)
            .first()
        )
        if request is None or not _answer_due(request, now) or not free_slots(request.schedule, now):
            return False
        number = request.reminders_sent + 1
        SchedulingRequest.objects.filter(pk=pk).update(reminders_sent=number)
        return notices.send_answer_reminder(request, number)
