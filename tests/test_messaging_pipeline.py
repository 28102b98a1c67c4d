"""The outbox's safety nets: the sweeper (lost wake-ups, expired leases), idempotent drains,
the retry timing, the token bucket, and the Celery settings the pipeline relies on."""

import multiprocessing
import time
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.utils import timezone

from messaging.models import Channel, Delivery, Kind, Send
from messaging.outbox import drain as draining
from messaging.outbox import ratelimit, rows, tasks
from messaging.outbox import sweep as sweeping
from messaging.sending import compose
from messaging.sending.compose import Draft

pytestmark = pytest.mark.django_db


def make_send(company, recruiter, candidate) -> Send:
    return compose.create_send(
        Draft(kind=Kind.BULK, subject="件名", body="本文"), company=company, user=recruiter, candidates=[candidate.pk]
    )


def test_a_lost_wake_up_is_recovered_by_the_sweeper(company, recruiter, django_capture_on_commit_callbacks):
    from tests.conftest import make_candidate

    people = [make_candidate(company, email=f"s{i}@example.com") for i in range(3)]
    with django_capture_on_commit_callbacks(execute=False):  # the publish after commit is lost
        send = compose.create_send(
            Draft(kind=Kind.BULK, subject="件名", body="本文"),
            company=company,
            user=recruiter,
            candidates=[p.pk for p in people],
        )
    assert tasks.sweep()["woken"] == 0  # a fresh queued row is left to its own wake-up
    with time_machine.travel(timezone.now() + rows.stale_queued_after() + timedelta(seconds=1), tick=True):
        assert tasks.sweep()["woken"] == 1  # one drain for the send's channel, not one per row
    assert len(mail.outbox) == 3
    assert set(Delivery.objects.filter(send=send).values_list("status", flat=True)) == {"sent"}


def test_a_row_stuck_in_sending_past_its_lease_is_requeued_and_sent_once(
    company, recruiter, candidate, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        send = make_send(company, recruiter, candidate)
    [claimed] = rows.claim(send.pk, Channel.EMAIL, 10)  # a worker took it, then died
    assert claimed.status == "sending" and claimed.attempts == 1
    assert tasks.sweep()["requeued"] == 0  # the lease is still live
    with time_machine.travel(timezone.now() + rows.lease() + timedelta(seconds=1), tick=True):
        assert tasks.sweep() == {"requeued": 1, "woken": 1, "failed": 0}
    delivery = Delivery.objects.get(send=send)
    assert (delivery.status, delivery.attempts) == ("sent", 2)
    assert len(mail.outbox) == 1


def test_running_a_drain_again_sends_nothing_twice(company, recruiter, candidate, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        send = make_send(company, recruiter, candidate)
    assert tasks.drain(send.pk, Channel.EMAIL) == 0
    assert tasks.drain(send.pk, Channel.EMAIL) == 0
    assert len(mail.outbox) == 1


def test_claims_are_exclusive(company, recruiter, candidate, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        send = make_send(company, recruiter, candidate)
    assert len(rows.claim(send.pk, Channel.EMAIL, 10)) == 1
    assert rows.claim(send.pk, Channel.EMAIL, 10) == []


@pytest.mark.parametrize("attempts", range(1, 12))
def test_backoff_grows_with_jitter_and_never_exceeds_the_cap(attempts):
    ceiling = min(rows.MAX_COUNTDOWN, rows.RETRY_BASE_SECONDS * 2 ** (attempts - 1))
    waits = [rows.backoff(attempts) for _ in range(200)]
    assert all(ceiling / 2 <= w <= ceiling for w in waits)
    assert len({round(w, 3) for w in waits}) > 1  # jittered, not synchronised


def test_the_whole_retry_window_stays_far_inside_lines_24_hour_key_memory():
    worst = sum(min(rows.MAX_COUNTDOWN, rows.RETRY_BASE_SECONDS * 2 ** (n - 1)) for n in range(1, rows.MAX_ATTEMPTS))
    assert worst < 3600
    # Rate-limit 429s have their own cap (they don't spend attempts): still far inside 24 h.
    throttled = sum(
        min(rows.MAX_COUNTDOWN, rows.RETRY_BASE_SECONDS * 2 ** (n - 1)) for n in range(1, rows.MAX_THROTTLED + 1)
    )
    assert worst + throttled < 8 * 3600


def test_celery_settings_the_pipeline_relies_on():
    assert settings.CELERY_TASK_ACKS_LATE and settings.CELERY_TASK_REJECT_ON_WORKER_LOST
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
    assert rows.MAX_COUNTDOWN + settings.CELERY_TASK_TIME_LIMIT < settings.CELERY_VISIBILITY_TIMEOUT
    assert draining.DRAIN_BUDGET_SECONDS + 30 < settings.CELERY_TASK_SOFT_TIME_LIMIT
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["messaging-dispatch-scheduled"]["schedule"] <= 15
    assert schedule["messaging-sweep"]["task"] == "messaging.tasks.sweep"


def test_the_database_bucket_grants_the_burst_then_paces(settings):
    settings.REDIS_URL = ""
    limit = ratelimit.Limit(rate=10, burst=5)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        granted, wait = ratelimit.acquire("test:db", 8, limit)
        assert granted == 5 and wait == pytest.approx(0.3)
        clock.shift(0.25)
        granted, _ = ratelimit.acquire("test:db", 8, limit)
        assert granted == 2
        ratelimit.penalise("test:db", limit, seconds=1.0)
        assert ratelimit.acquire("test:db", 1, limit)[0] == 0


def test_many_refusals_at_once_pause_the_bucket_once(settings):
    settings.REDIS_URL = ""
    limit = ratelimit.Limit(rate=10, burst=5)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(8):  # a batch's pushes all refused with 429
            ratelimit.penalise("test:pause", limit, seconds=1.0)
        clock.shift(1.15)  # one second back to zero, then a token
        assert ratelimit.acquire("test:pause", 1, limit)[0] == 1


def _hammer(key: str, seconds: float, ready, starts, queue) -> None:
    # A forked child: it talks to Redis only and never touches the parent's database socket.
    limit = ratelimit.Limit(rate=100, burst=20)
    granted = 0
    ratelimit.acquire(f"{key}:connect", 0, limit)  # connected before the window opens, not inside it
    ready.put(True)
    deadline = starts.get(timeout=30) + seconds  # one window for all four, however late each one started
    while time.monotonic() < deadline:
        got, wait = ratelimit.acquire(key, 5, limit)
        granted += got
        if got < 5:
            time.sleep(min(wait, 0.01))
    queue.put(granted)


@pytest.mark.redis
def test_the_redis_bucket_holds_across_processes():
    """Four processes hammering one key for 2 s get at most rate × 2 s + burst tokens in total."""
    key = f"test:redis:{time.time()}"
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    ready, starts = context.Queue(), context.Queue()
    processes = [context.Process(target=_hammer, args=(key, 2.0, ready, starts, queue)) for _ in range(4)]
    for process in processes:
        process.start()
    for _ in processes:
        ready.get(timeout=30)
    start = time.monotonic()
    for _ in processes:
        starts.put(start)
    total = sum(queue.get(timeout=30) for _ in processes)
    for process in processes:
        process.join(timeout=10)
    assert 150 <= total <= 100 * 2.0 + 20 + 10  # +10: the start is not simultaneous


def test_a_stale_workers_outcome_does_not_overwrite_a_later_workers_sent(
    company, recruiter, candidate, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        send = make_send(company, recruiter, candidate)
    [stale] = rows.claim(send.pk, Channel.EMAIL, 10)  # worker A claims, then stalls past its lease
    with time_machine.travel(timezone.now() + rows.lease() + timedelta(seconds=1), tick=True):
        tasks.sweep()  # re-queued; worker B claims it and sends
    assert Delivery.objects.get(send=send).status == "sent"
    rows.apply_outcomes([rows.failed(stale, "worker A's late verdict")])  # A wakes up
    delivery = Delivery.objects.get(send=send)
    assert (delivery.status, delivery.reason) == ("sent", "")
    rows.apply_outcomes([rows.retry_or_fail(stale, "worker A again")])
    assert Delivery.objects.get(send=send).status == "sent"
    assert len(mail.outbox) == 1


def test_a_row_whose_worker_dies_on_every_attempt_ends_failed_instead_of_cycling(
    company, recruiter, candidate, django_capture_on_commit_callbacks, monkeypatch
):
    from messaging.outbox import tasks

    monkeypatch.setattr(tasks.drain, "delay", lambda *args, **kwargs: None)  # the drains die: claims below
    with django_capture_on_commit_callbacks(execute=False):
        send = make_send(company, recruiter, candidate)
    moment = timezone.now()
    for attempt in range(1, rows.MAX_ATTEMPTS + 1):
        with time_machine.travel(moment, tick=False):
            [claimed] = rows.claim(send.pk, Channel.EMAIL, 10)  # ...and the worker dies each time
            assert claimed.attempts == attempt
        moment += rows.lease() + timedelta(seconds=1)
        with time_machine.travel(moment, tick=False):
            result = sweeping.sweep(now=moment)
        assert result.failed == (1 if attempt == rows.MAX_ATTEMPTS else 0)
    delivery = Delivery.objects.get(send=send)
    assert (delivery.status, delivery.reason) == ("failed", "処理中に異常終了しました")
    send.refresh_from_db()
    assert send.status == Send.Status.DONE
    assert not mail.outbox


def test_the_claim_takes_due_rows_without_sorting_them(
    company, recruiter, candidate, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with django_capture_on_commit_callbacks(execute=False):
        send = make_send(company, recruiter, candidate)
    with CaptureQueriesContext(connection) as queries:
        rows.claim(send.pk, Channel.EMAIL, 10)
    [select] = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT") and "delivery" in q["sql"]][
        :1
    ]
    assert "ORDER BY" not in select
