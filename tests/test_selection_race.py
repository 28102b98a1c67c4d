"""No double booking under real concurrency on PostgreSQL: many candidates booking one slot,
and bookings of two schedules that share an interviewer at overlapping times; and the
day-before reminder sent once by two racing ticks."""

import threading
from collections.abc import Callable, Sequence
from functools import partial

import pytest
import time_machine
from django.db import connection, connections, transaction

from messaging.models import Kind, Send
from selection import actions, reminders
from selection.booking import Conflict
from selection.models import Booking, Interview
from tests.conftest import make_candidate, make_recruiter
from tests.selection_support import in_days, make_request, make_schedule, make_slot

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8


def run_together(jobs: Sequence[Callable[[], object]]) -> list[object]:
    barrier = threading.Barrier(len(jobs))
    outcomes: list[object] = [None] * len(jobs)

    def run(index: int, job: Callable[[], object]) -> None:
        barrier.wait()
        try:
            outcomes[index] = job()
        except (actions.Refused, Conflict) as refused:
            outcomes[index] = refused
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def winners(outcomes: list[object]) -> list[Interview]:
    return [outcome for outcome in outcomes if isinstance(outcome, Interview)]


def test_many_candidates_booking_one_slot_exactly_one_wins(company):
    interviewer = make_recruiter(company, "mensetsu")
    schedule = make_schedule(company, [interviewer])
    slot = make_slot(schedule, in_days(3))
    requests = [make_request(make_candidate(company, email=f"c{i}@example.com"), schedule) for i in range(THREADS)]
    outcomes = run_together([partial(actions.book, r, slot.pk) for r in requests])
    assert len(winners(outcomes)) == 1
    assert all(isinstance(o, actions.Refused) and o.reason == "taken" for o in outcomes if o not in winners(outcomes))
    assert Interview.objects.filter(slot=slot).exclude(status="cancelled").count() == 1
    assert Booking.objects.filter(user=interviewer).count() == 1


def test_two_schedules_sharing_an_interviewer_at_overlapping_times_book_once(company):
    shared = make_recruiter(company, "kyoyu")
    first = make_schedule(company, [shared, make_recruiter(company, "a")], name="一次面接")
    second = make_schedule(company, [shared, make_recruiter(company, "b")], name="二次面接")
    slot_a = make_slot(first, in_days(4, 10))
    slot_b = make_slot(second, in_days(4, 10).replace(minute=30))
    jobs: list[Callable[[], object]] = []
    for i in range(THREADS):
        schedule, slot = (first, slot_a) if i % 2 else (second, slot_b)
        request = make_request(make_candidate(company, email=f"s{i}@example.com"), schedule)
        jobs.append(partial(actions.book, request, slot.pk))
    assert len(winners(run_together(jobs))) == 1
    assert Interview.objects.filter(status="confirmed").count() == 1
    assert Booking.objects.filter(user=shared).count() == 1


def test_direct_entries_for_one_interviewer_at_the_same_time_keep_one(company):
    interviewer = make_recruiter(company, "chokusetsu")
    start = in_days(5, 14)
    entry = actions.InterviewInput(
        stage=None,
        start_at=start,
        end_at=in_days(5, 15),
        place="本社",
        online_url="",
        interviewers=[interviewer],
        room=None,
        status=Interview.Status.CONFIRMED,
        note="",
    )
    people = [make_candidate(company, email=f"d{i}@example.com") for i in range(THREADS)]
    outcomes = run_together([partial(actions.register_interview, c, entry, interviewer) for c in people])
    assert len(winners(outcomes)) == 1
    assert Interview.objects.count() == 1


def test_two_ticks_racing_send_the_reminder_once(company):
    interviewer = make_recruiter(company, "remind")
    schedule = make_schedule(company, [interviewer])
    for i in range(5):
        slot = make_slot(schedule, in_days(1, 10 + i))
        actions.book(make_request(make_candidate(company, email=f"r{i}@example.com"), schedule), slot.pk)
    with time_machine.travel(in_days(0, 12), tick=False):
        outcomes = run_together([reminders.send_due_reminders for _ in range(4)])
    assert sum(int(str(o)) for o in outcomes) == 5
    assert Send.objects.filter(kind=Kind.INTERVIEW_REMINDER).count() == 5


def test_the_database_refuses_overlapping_bookings_whatever_path_writes_them(company):
    """The exclusion constraint holds even for a writer that skips the actions' checks."""
    from django.db import IntegrityError

    interviewer = make_recruiter(company, "db")
    candidate = make_candidate(company)
    first, second = (
        Interview.objects.create(company=company, candidate=candidate, start_at=in_days(2, h), end_at=in_days(2, h + 1))
        for h in (10, 10)
    )
    Booking.objects.create(
        company=company, interview=first, user=interviewer, start_at=in_days(2, 10), end_at=in_days(2, 11)
    )
    with pytest.raises(IntegrityError):
        Booking.objects.create(
            company=company,
            interview=second,
            user=interviewer,
            start_at=in_days(2, 10).replace(minute=30),
            end_at=in_days(2, 12),
        )
    # Touching ends are not an overlap.
    Booking.objects.create(
        company=company, interview=second, user=interviewer, start_at=in_days(2, 11), end_at=in_days(2, 12)
    )


def test_a_booking_of_the_same_interviewers_at_another_time_does_not_wait_for_an_open_one(company):
    interviewer = make_recruiter(company, "heiko")
    schedule = make_schedule(company, [interviewer])
    first, second = make_slot(schedule, in_days(3, 10)), make_slot(schedule, in_days(3, 13))
    held, release = threading.Event(), threading.Event()
    opened = make_request(make_candidate(company, email="open@example.com"), schedule)
    other = make_request(make_candidate(company, email="other@example.com"), schedule)

    def book_and_hold_open() -> None:
        try:
            with transaction.atomic():
                actions.book(opened, first.pk)
                held.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    thread = threading.Thread(target=book_and_hold_open)
    thread.start()
    try:
        assert held.wait(timeout=30)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '3s'")  # a wait on the open booking fails here
            booked = actions.book(other, second.pk)
    finally:
        release.set()
        thread.join()
    assert booked.slot_id == second.pk
    assert Booking.objects.filter(user=interviewer).count() == 2
