"""Result notices under concurrency, on PostgreSQL with real threads: two recruiters changing
one candidate's result at the same moment leave one current result and exactly one pending
notice, the final result's; concurrent dispatcher ticks and 「今すぐ送信」 send each notice once."""

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connections

from messaging.models import Kind, Send
from messaging.outbox import tasks
from messaging.sending import scheduling
from results import actions
from results.models import SelectionResult
from tests.conftest import make_candidate
from tests.results_support import FAILED, ON_HOLD, PASSED, delayed, stage

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TOKYO = ZoneInfo("Asia/Tokyo")
NOON = datetime(2026, 12, 8, 12, 0, tzinfo=TOKYO)
DUE = datetime(2026, 12, 11, 10, 0, tzinfo=TOKYO)
ROUNDS = 12


def together(*calls: Callable[[], object]) -> list[object]:
    """Run the calls in threads released at the same moment; their return values in order."""
    barrier = threading.Barrier(len(calls))
    answers: list[object] = [None] * len(calls)

    def run(index: int, call: Callable[[], object]) -> None:
        barrier.wait()
        try:
            answers[index] = call()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


@pytest.fixture(autouse=True)
def no_workers(monkeypatch):
    monkeypatch.setattr(tasks, "wake_on_commit", lambda *args, **kwargs: None)  # count claims, send nothing


def test_two_racing_changes_leave_one_pending_notice_for_the_final_result(company, recruiter):
    for outcome in (FAILED, ON_HOLD, PASSED):
        delayed(company, "一次面接", outcome, days=2)
    interview = stage(company, "一次面接")
    with time_machine.travel(NOON, tick=True):
        for round_number in range(ROUNDS):
            candidate = make_candidate(company, stage=interview, email=f"race{round_number}@example.com")
            actions.record_result(candidate, interview, PASSED, user=recruiter, move=False)  # a notice pending
            together(
                partial(actions.record_result, candidate, interview, FAILED, user=recruiter, move=False),
                partial(actions.record_result, candidate, interview, ON_HOLD, user=None, move=False),
            )
            [current] = SelectionResult.objects.filter(candidate=candidate, is_current=True)
            assert SelectionResult.objects.filter(candidate=candidate).count() == 3
            sends = Send.objects.filter(kind=Kind.SELECTION_RESULT, messages__candidate=candidate)
            [pending] = sends.filter(status=Send.Status.SCHEDULED)
            assert pending.context == {"selection_result": current.pk} and current.notice_id == pending.pk
            assert set(sends.exclude(pk=pending.pk).values_list("status", flat=True)) == {Send.Status.CANCELLED}


def test_two_racing_bulk_recordings_of_the_same_candidates_never_deadlock(company, recruiter):
    delayed(company, "一次面接", FAILED)
    delayed(company, "一次面接", ON_HOLD)
    interview = stage(company, "一次面接")
    with time_machine.travel(NOON, tick=True):
        candidates = [make_candidate(company, stage=interview, email=f"b{i}@example.com") for i in range(8)]
        everyone = candidates[0].__class__.objects.filter(company=company)
        together(
            lambda: actions.record_results(company, everyone, FAILED, user=recruiter),
            lambda: actions.record_results(company, everyone.order_by("-pk"), ON_HOLD, user=recruiter),
        )
    for candidate in candidates:
        [current] = SelectionResult.objects.filter(candidate=candidate, is_current=True)
        sends = Send.objects.filter(kind=Kind.SELECTION_RESULT, messages__candidate=candidate)
        [pending] = sends.filter(status=Send.Status.SCHEDULED)
        assert pending.context == {"selection_result": current.pk}


def test_concurrent_ticks_and_send_now_send_each_notice_once(company, recruiter):
    delayed(company, "一次面接", FAILED)
    interview = stage(company, "一次面接")
    with time_machine.travel(NOON, tick=True):
        results = [
            actions.record_result(
                make_candidate(company, stage=interview, email=f"t{i}@example.com"), interview, FAILED, user=recruiter
            ).result
            for i in range(ROUNDS)
        ]
    notices = [result.notice for result in results]
    with time_machine.travel(DUE + timedelta(seconds=1), tick=True):
        answers = together(
            lambda: [pk for _ in range(5) for pk in scheduling.dispatch_due(limit=3)],
            lambda: [pk for _ in range(5) for pk in scheduling.dispatch_due(limit=3)],
            lambda: [n.pk for n in notices if scheduling.send_scheduled_now(n, user=recruiter)],
        )
    claimed = [pk for answer in answers for pk in answer]  # type: ignore[attr-defined]
    assert sorted(claimed) == sorted(n.pk for n in notices)  # each exactly once
    assert set(Send.objects.filter(pk__in=claimed).values_list("status", flat=True)) == {Send.Status.QUEUED}
