"""Demo events for `manage.py seed_demo` (received through candidates.signals.demo_seeded):
a 会社説明会 with two dates around now and a 職種別座談会, with some applications and, on the
date already held, attendance.

Idempotent: an event is created only if the company has none of that title.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from candidates.models import Candidate
from events.models import Application, Event, EventDate
from hrmos.models import Company

BRIEFING = "会社説明会（オンライン）"
TALK = "職種別座談会（東京本社）"


def _at(now: datetime, days: int, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(timezone.localdate(now) + timedelta(days=days), time(hour)))


def _date(event: Event, start: datetime, capacity: int) -> EventDate:
    deadline = timezone.make_aware(datetime.combine(timezone.localdate(start) - timedelta(days=1), time(23, 59)))
    return EventDate.objects.create(
        company_id=event.company_id,
        event=event,
        starts_at=start,
        ends_at=start + timedelta(hours=1, minutes=30),
        capacity=capacity,
        application_deadline=deadline,
        cancel_deadline=deadline,
    )


@transaction.atomic
def seed_demo_events(company: Company, now: datetime) -> None:
    if Event.objects.for_company(company).filter(title=BRIEFING).exists():
        return
    briefing = Event.objects.create(
        company=company,
        title=BRIEFING,
        description=(
            "事業内容や働き方、選考の流れをご紹介します。\n後半は若手社員との質疑応答の時間です。\n"
            "参加方法の詳細： https://example.com/recruit/briefing"
        ),
        online_url="https://meet.example.com/briefing",
        belongings="特になし（カメラ・マイクをご用意ください）",
        contact="人事部 新卒採用担当 recruit@example.com",
        is_published=True,
    )
    held = _date(briefing, _at(now, -2, 14), 30)
    upcoming = _date(briefing, _at(now, 3, 14), 30)
    talk = Event.objects.create(
        company=company,
        title=TALK,
        description="営業・エンジニア・企画の社員と少人数で話せる座談会です。",
        place="東京本社 10階 セミナールーム（東京都千代田区丸の内1-1-1）",
        belongings="筆記用具",
        contact="人事部 新卒採用担当 recruit@example.com",
        is_published=True,
    )
    _date(talk, _at(now, 7, 15), 10)
    # The earliest-registered demo candidates; the LINE personas (the newest) stay free to
    # apply on their phones in the walk-through.
    people = list(Candidate.objects.for_company(company).order_by("created_at", "pk")[:6])
    for candidate in people[:4]:
        _seat(held, candidate, now - timedelta(days=5))
    for candidate in people[4:6]:
        _seat(upcoming, candidate, now - timedelta(days=1))
    applications = list(Application.objects.filter(date=held).order_by("pk"))
    Application.objects.filter(pk__in=[a.pk for a in applications[:3]]).update(status=Application.Status.ATTENDED)
    Application.objects.filter(pk__in=[a.pk for a in applications[3:]]).update(status=Application.Status.ABSENT)


def _seat(date: EventDate, candidate: Candidate, when: datetime) -> None:
    """A seat taken as a recruiter would (past deadlines allowed), without emailing anyone."""
    EventDate.objects.filter(pk=date.pk).update(taken=date.taken + 1)
    date.taken += 1
    Application.objects.create(
        company_id=date.company_id,
        event_id=date.event_id,
        date=date,
        candidate=candidate,
        source=Application.Source.RECRUITER,
        applied_at=when,
        updated_at=when,
    )


def on_demo_seeded(sender: object, *, company: Company, now: datetime, **kwargs: object) -> None:
    seed_demo_events(company, now)
