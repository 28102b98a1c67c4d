"""Shared helpers for the selection tests: schedules with slots, requests, links."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from candidates.models import Candidate
from hrmos.models import Company, User
from hrmos.personal_links import hash_token
from selection.links import request_for
from selection.models import Schedule, SchedulingLink, SchedulingRequest, Slot


def in_days(days: int, hour: int = 10) -> datetime:
    """Local `hour`:00 on the day `days` from today."""
    day = timezone.localdate() + timedelta(days=days)
    return timezone.make_aware(datetime.combine(day, datetime.min.time()).replace(hour=hour))


def make_schedule(company: Company, interviewers: list[User], **attributes: Any) -> Schedule:
    defaults: dict[str, Any] = {"name": "一次面接", "duration_minutes": 60, "place": "本社"}
    defaults.update(attributes)
    schedule = Schedule.objects.create(company=company, **defaults)
    schedule.interviewers.set(interviewers)
    return schedule


def make_slot(schedule: Schedule, start: datetime, minutes: int = 60) -> Slot:
    return Slot.objects.create(
        company=schedule.company, schedule=schedule, start_at=start, end_at=start + timedelta(minutes=minutes)
    )


def make_request(candidate: Candidate, schedule: Schedule) -> SchedulingRequest:
    return request_for(candidate, schedule, timezone.now())


def make_token(request: SchedulingRequest, token: str = "tok") -> str:  # noqa: S107 (a test link token)
    SchedulingLink.objects.create(
        company=request.company, request=request, token_hash=hash_token(token), created_at=timezone.now()
    )
    return token
