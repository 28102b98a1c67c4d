"""Demo scheduling for `manage.py seed_demo` (received through candidates.signals.demo_seeded):
a 一次面接 schedule with two interviewers (the demo recruiter and a colleague) and slots on the
weekdays of this week and next, two interviews booked through it and one entered directly.

Idempotent: nothing is created when the company already has the schedule.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from candidates.models import Candidate, Stage
from hrmos.models import Company, User
from selection import actions
from selection.links import request_for
from selection.models import Interview, Schedule

SCHEDULE_NAME = "一次面接"


SECOND_INTERVIEWER = {"username": "demo-interviewer", "last_name": "佐藤", "first_name": "健一", "department": "営業部"}


def _interviewers(company: Company) -> list[User]:
    """The demo recruiter and a colleague who interviews (no login of their own)."""
    people = list(User.objects.filter(company=company, is_active=True).order_by("pk")[:1])
    colleague = User.objects.filter(username=SECOND_INTERVIEWER["username"]).first()
    if colleague is None:
        colleague = User(company=company, **SECOND_INTERVIEWER)
        colleague.set_unusable_password()
        colleague.save()
    if colleague.company_id == company.pk:
        people.append(colleague)
    return people


@transaction.atomic
def seed_demo_scheduling(company: Company, now: datetime) -> None:
    if Schedule.objects.for_company(company).filter(name=SCHEDULE_NAME).exists():
        return
    people = _interviewers(company)
    stages = Stage.objects.filter(company=company).order_by("position")
    stage = stages.filter(name="一次面接").first() or stages.first()
    schedule = Schedule.objects.create(
        company=company,
        name=SCHEDULE_NAME,
        stage=stage,
        duration_minutes=60,
        online_url="https://meet.example.com/hrmos-demo",
        created_by=people[0] if people else None,
    )
    schedule.interviewers.set(people)
    today = timezone.localdate(now)
    monday = today - timedelta(days=today.weekday())
    spec = actions.BulkSlots(
        first_day=monday,
        last_day=monday + timedelta(days=11),
        weekdays=frozenset(range(5)),
        day_start=time(10),
        day_end=time(17),
        minutes=60,
    )
    actions.add_slots(schedule, spec, now)
    candidates = list(Candidate.objects.for_company(company).order_by("created_at", "pk")[:3])
    free = actions.free_slots(schedule, now)
    for candidate, slot in zip(candidates[:2], free[2::7], strict=False):
        actions.book(request_for(candidate, schedule, now), slot.pk, now)
    if len(candidates) > 2 and people:
        start = timezone.make_aware(datetime.combine(today + timedelta(days=1), time(18)))
        entry = actions.InterviewInput(
            stage=stage,
            start_at=start,
            end_at=start + timedelta(hours=1),
            place="本社 5F 会議室",
            online_url="",
            interviewers=people[:1],
            room=None,
            status=Interview.Status.CONFIRMED,
            note="カジュアル面談（デモ）",
        )
        actions.register_interview(candidates[2], entry, people[0])


def on_demo_seeded(sender: object, *, company: Company, now: datetime, **kwargs: object) -> None:
    seed_demo_scheduling(company, now)
