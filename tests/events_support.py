"""Shared helpers for the event tests: an event with dates, personal links."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.utils import timezone

from candidates.models import Candidate
from events.links import create_link
from events.models import Event, EventDate
from hrmos.models import Company


def local(days: int, hour: int, minute: int = 0, now: datetime | None = None) -> datetime:
    """`days` after today (Asia/Tokyo) at hour:minute."""
    today = timezone.localdate(now or timezone.now())
    return timezone.make_aware(datetime.combine(today + timedelta(days=days), time(hour, minute)))


def add_date(event: Event, starts_at: datetime, capacity: int = 10, **fields: Any) -> EventDate:
    deadline = starts_at - timedelta(hours=1)
    values: dict[str, Any] = {
        "ends_at": starts_at + timedelta(hours=2),
        "capacity": capacity,
        "application_deadline": deadline,
        "cancel_deadline": deadline,
    }
    values.update(fields)
    return EventDate.objects.create(company_id=event.company_id, event=event, starts_at=starts_at, **values)


def make_event(company: Company, *, dates: int = 1, capacity: int = 10, days: int = 7, **fields: Any) -> Event:
    """A published event with `dates` dates, a day apart from `days` days ahead at 14:00."""
    values: dict[str, Any] = {
        "title": "会社説明会",
        "place": "本社 10階",
        "belongings": "筆記用具",
        "is_published": True,
    }
    values.update(fields)
    event = Event.objects.create(company=company, **values)
    for index in range(dates):
        add_date(event, local(days + index, 14), capacity)
    return event


def personal_path(candidate: Candidate, event: Event) -> str:
    return f"/e/{create_link(candidate, event, timezone.now())[1]}/"
