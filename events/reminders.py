"""The day-before reminder (event_reminder, email only), sent by a beat tick.

Each company's reminders go at its hour (自動送信メール設定, Asia/Tokyo, default 10:00) on the
day before the date: the tick, every minute, finds applications still 申込済み on a date of
tomorrow that is not cancelled, of an event with reminders on, and sends them per date in
batches, one send each (`send_automatic_many`), with a key per application and date-time.
The keys' rows commit with their send or not at all, so two beats, a re-run or a crash
halfway never send one twice, and the next tick picks up whatever a crash left. An
application cancelled before the tick gets nothing; one moved to another date gets the
reminder for its new date.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from events import notices
from events.models import Application, EventDate
from hrmos.models import Company
from messaging.models import AutomaticSendKey, Kind
from messaging.sending import automatic

logger = logging.getLogger(__name__)


def tomorrow_window(now: datetime) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(timezone.localdate(now) + timedelta(days=1), time.min))
    return start, start + timedelta(days=1)


def due_applications(company: Company, now: datetime) -> list[Application]:
    start, end = tomorrow_window(now)
    return list(
        Application.objects.filter(
            company=company,
            status=Application.Status.APPLIED,
            date__starts_at__gte=start,
            date__starts_at__lt=end,
            date__cancelled_at__isnull=True,
            event__reminder_enabled=True,
        ).select_related("date")
    )


BATCH = 1000  # applications per send and transaction


def _send_batch(pks: list[int], template: automatic.Template, now: datetime) -> int:
    """In one transaction: the applications re-read under their locks (a cancellation or a
    change of date committed since the query counts), then one send and its keys."""
    start, end = tomorrow_window(now)
    with transaction.atomic():
        locked = (
            Application.objects.select_for_update(of=("self",))
            .select_related("date", "event__company", "candidate")
            .filter(pk__in=pks)
            .order_by("pk")
        )
        due = [
            application
            for application in locked
            if application.status == Application.Status.APPLIED
            and not application.date.is_cancelled
            and start <= application.date.starts_at < end
        ]
        return notices.send_reminders(due, template)


def send_company_reminders(company: Company, now: datetime) -> int:
    template = automatic.template_for(company, Kind.EVENT_REMINDER)
    if not template.enabled or timezone.localtime(now).hour < template.hour:
        return 0
    due = due_applications(company, now)
    sent_keys = set(
        AutomaticSendKey.objects.filter(
            company=company, key__in=[notices.reminder_key(application) for application in due]
        ).values_list("key", flat=True)
    )
    by_date: dict[int, list[int]] = {}
    for application in due:
        if notices.reminder_key(application) not in sent_keys:
            by_date.setdefault(application.date_id, []).append(application.pk)
    sent = 0
    for pks in by_date.values():
        for first in range(0, len(pks), BATCH):
            sent += _send_batch(pks[first : first + BATCH], template, now)
    return sent


def send_due_reminders(now: datetime | None = None) -> int:
    """One tick: every company with a date tomorrow. Returns how many reminders were sent."""
    now = now or timezone.now()
    start, end = tomorrow_window(now)
    company_ids = (
        EventDate.objects.filter(starts_at__gte=start, starts_at__lt=end, cancelled_at__isnull=True, taken__gt=0)
        .values_list("company_id", flat=True)
        .distinct()
    )
    sent = 0
    for company in Company.objects.filter(pk__in=list(company_ids)):
        sent += send_company_reminders(company, now)
    if sent:
        logger.info("Event reminders sent: %s", sent)
    return sent
