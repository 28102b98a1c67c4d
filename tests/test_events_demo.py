"""The demo seed's events: a 説明会 with a date held two days ago (with attendance) and one in
three days, and a 座談会 next week; the LINE personas stay free to apply on their phones."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from events.models import Application, Event, EventDate
from hrmos.models import Company

pytestmark = pytest.mark.django_db


def seed() -> None:
    call_command("seed_demo", stdout=StringIO())


def test_the_demo_has_two_events_with_dates_around_now_applications_and_attendance():
    seed()
    company = Company.objects.get(name="株式会社デモ商事")
    events = Event.objects.filter(company=company)
    assert events.count() == 2 and all(event.is_published for event in events)
    now = timezone.now()
    dates = EventDate.objects.filter(company=company)
    assert dates.filter(starts_at__lt=now).exists() and dates.filter(starts_at__gt=now).exists()
    statuses = sorted(Application.objects.filter(company=company).values_list("status", flat=True))
    assert statuses == ["absent", "applied", "applied", "attended", "attended", "attended"]
    for date in dates:
        assert date.taken == Application.objects.filter(date=date, status__in=Application.LIVE).count()
    personas = {"hanako.yamada@example.com", "kenta.sato@example.com", "misaki.suzuki@example.com"}
    assert not Application.objects.filter(candidate__email__in=personas).exists()


def test_seeding_twice_changes_nothing():
    seed()
    before = (Event.objects.count(), EventDate.objects.count(), Application.objects.count())
    seed()
    assert (Event.objects.count(), EventDate.objects.count(), Application.objects.count()) == before
