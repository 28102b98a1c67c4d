"""The day-before interview reminder (interview_reminder, email only), found by a beat tick.

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
from selection.models import Interview

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
