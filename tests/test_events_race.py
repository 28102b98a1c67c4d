"""Concurrency on PostgreSQL with real threads: many candidates racing for the last seat, and
two reminder ticks racing over the same due reminders."""

import threading
from collections.abc import Callable
from functools import partial

import pytest
import time_machine
from django.db import connections

from events import actions, reminders
from events.models import Application, EventDate
from messaging.models import Delivery, Kind, Send
from tests.conftest import make_candidate
from tests.events_support import local, make_event

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

RACERS = 12


def run_together(jobs: list[Callable[[], object]]) -> list[object]:
    barrier = threading.Barrier(len(jobs))
    outcomes: list[object] = [None] * len(jobs)

    def run(index: int, job: Callable[[], object]) -> None:
        barrier.wait()
        try:
            outcomes[index] = job()
        except Exception as exc:  # the outcome is what the test reads
            outcomes[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_many_candidates_racing_for_the_last_seat_leave_exactly_one_winner(company):
    event = make_event(company, capacity=3)
    date = event.dates.get()
    for number in range(2):
        actions.apply(date, make_candidate(company, email=f"early{number}@example.com"), Application.Source.PERSONAL)
    racers = [make_candidate(company, email=f"racer{number}@example.com") for number in range(RACERS)]
    outcomes = run_together([partial(actions.apply, date, c, Application.Source.PERSONAL) for c in racers])
    winners = [o for o in outcomes if isinstance(o, Application)]
    refusals = [str(o) for o in outcomes if isinstance(o, actions.ApplyRefused)]
    assert len(winners) == 1, outcomes
    assert refusals == [actions.ApplyRefused.FULL] * (RACERS - 1)
    date.refresh_from_db()
    assert date.taken == date.capacity == 3
    assert Application.objects.filter(date=date, status=Application.Status.APPLIED).count() == 3


def test_changes_of_date_racing_with_new_applications_never_oversell(company):
    event = make_event(company, dates=2, capacity=2)
    first, second = event.dates.order_by("starts_at")
    movers = [make_candidate(company, email=f"mover{n}@example.com") for n in range(4)]
    held = [actions.apply(first if n < 2 else second, c, Application.Source.PERSONAL) for n, c in enumerate(movers)]
    actions.cancel(held[3])  # one seat free on the second date
    newcomers = [make_candidate(company, email=f"new{n}@example.com") for n in range(4)]
    jobs: list[Callable[[], object]] = [partial(actions.change_date, held[0], second)]
    jobs += [partial(actions.apply, second, c, Application.Source.PERSONAL) for c in newcomers]
    run_together(jobs)
    for date in (first, second):
        date.refresh_from_db()
        live = Application.objects.filter(date=date, status__in=Application.LIVE).count()
        assert date.taken == live <= date.capacity
    assert EventDate.objects.get(pk=second.pk).taken == 2


def test_two_reminder_ticks_racing_send_each_reminder_once(company):
    event = make_event(company, days=1, capacity=20)
    date = event.dates.get()
    people = [make_candidate(company, email=f"r{n}@example.com") for n in range(8)]
    with time_machine.travel(local(0, 8)):
        for person in people:
            actions.apply(date, person, Application.Source.PERSONAL)
    with time_machine.travel(local(0, 10, 5)):
        counts = run_together([reminders.send_due_reminders, reminders.send_due_reminders])
        again = reminders.send_due_reminders()
    assert sum(count for count in counts if isinstance(count, int)) == 8, counts
    assert again == 0
    reminded = Delivery.objects.filter(send__kind=Kind.EVENT_REMINDER).values_list("candidate_id", flat=True)
    assert sorted(reminded) == sorted(person.pk for person in people)
    assert Send.objects.filter(kind=Kind.EVENT_REMINDER).count() == 1  # one send for the date


def test_a_date_cancelled_while_its_candidates_cancel_and_apply_ends_consistent(company, recruiter):
    event = make_event(company, capacity=10)
    date = event.dates.get()
    held = [
        actions.apply(date, make_candidate(company, email=f"c{n}@example.com"), Application.Source.PERSONAL)
        for n in range(6)
    ]
    late = [make_candidate(company, email=f"late{n}@example.com") for n in range(3)]
    jobs: list[Callable[[], object]] = [partial(actions.cancel_date, date, recruiter, date.starts_at)]
    jobs += [partial(actions.cancel, application) for application in held[:3]]
    jobs += [partial(actions.apply, date, c, Application.Source.PERSONAL) for c in late]
    outcomes = run_together(jobs)
    assert not [o for o in outcomes if isinstance(o, Exception) and not isinstance(o, actions.ApplyRefused)], outcomes
    date.refresh_from_db()
    assert date.is_cancelled and date.taken == 0
    assert not Application.objects.filter(date=date, status__in=Application.LIVE).exists()
