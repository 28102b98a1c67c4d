"""Recovery in seconds: short leases that a live worker's heartbeat renews, the sweepers taking
a killed worker's rows back one lease later, and a Redis outage that fails no task."""

import os
import threading
from datetime import timedelta
from types import SimpleNamespace

import pytest
import redis
import time_machine
from django.conf import settings
from django.core import mail
from django.utils import timezone

from hrmos.queue import Heartbeat
from line_integration.models import LineWebhookEvent
from line_integration.processing import queue as events
from line_integration.processing import tasks as event_tasks
from messaging.models import Channel, Delivery, Kind
from messaging.outbox import drain as draining
from messaging.outbox import email, line, ratelimit, rows, tasks
from messaging.sending import compose
from messaging.sending.compose import Draft
from tests.conftest import make_candidate
from tests.test_line_events_queue import celery_not_eager, friend, store_texts  # noqa: F401 (fixtures)
from tests.test_messaging_line import bulk, outbox_by_key
from tests.test_messaging_line import friend as friend_of

pytestmark = pytest.mark.django_db

SWEEP_EVERY = timedelta(seconds=settings.CELERY_BEAT_SCHEDULE["messaging-sweep"]["schedule"])


def email_send(company, recruiter, count: int, django_capture_on_commit_callbacks):
    people = [make_candidate(company, email=f"r{n}@example.com") for n in range(count)]
    with django_capture_on_commit_callbacks(execute=False):  # the wake-up is lost with the worker
        return compose.create_send(
            Draft(kind=Kind.BULK, subject="件名", body="本文"),
            company=company,
            user=recruiter,
            candidates=[p.pk for p in people],
        )


# --- the bound, from the settings -------------------------------------------------------------


def test_a_killed_workers_rows_are_back_well_inside_90_seconds():
    """Worst case: killed just after a beat, the lease runs out, then the next sweep comes."""
    assert rows.lease() + SWEEP_EVERY <= timedelta(seconds=60)
    assert events.LEASE + timedelta(seconds=settings.CELERY_BEAT_SCHEDULE["line-events-sweep"]["schedule"]) <= (
        timedelta(seconds=60)
    )
    assert rows.stale_queued_after() + SWEEP_EVERY <= timedelta(seconds=60)


def test_the_broker_hands_out_a_dead_workers_task_only_after_any_live_one_could_hold_it():
    longest_countdown = max(rows.MAX_COUNTDOWN, events.EVENTS.backoff_cap, settings.CELERY_TASK_RETRY_BACKOFF_MAX)
    assert longest_countdown + settings.CELERY_TASK_TIME_LIMIT < settings.CELERY_VISIBILITY_TIMEOUT <= 15 * 60
    if settings.CELERY_BROKER_URL.startswith("redis"):
        assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] == settings.CELERY_VISIBILITY_TIMEOUT


# --- deliveries ---------------------------------------------------------------------------------


def test_a_live_drains_heartbeat_keeps_its_rows_past_the_lease(company, recruiter, django_capture_on_commit_callbacks):
    send = email_send(company, recruiter, 2, django_capture_on_commit_callbacks)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        held = rows.Held()
        held.add(rows.claim(send.pk, Channel.EMAIL, 10))
        for _ in range(6):  # three leases' worth of a slow batch, beating every third of a lease
            clock.shift(rows.lease() / 3)
            assert held.renew(timezone.now()) == 2
            assert tasks.sweep()["requeued"] == 0
    assert set(Delivery.objects.filter(send=send).values_list("status", flat=True)) == {"sending"}


def test_a_killed_drains_rows_are_sent_one_lease_and_one_sweep_later(
    company, recruiter, django_capture_on_commit_callbacks
):
    send = email_send(company, recruiter, 3, django_capture_on_commit_callbacks)
    killed_at = timezone.now()
    with time_machine.travel(killed_at, tick=False) as clock:
        held = rows.Held()
        held.add(rows.claim(send.pk, Channel.EMAIL, 2))  # 2 in flight, 1 never claimed
        held.renew(timezone.now())  # its last beat; then SIGKILL: nobody renews
        clock.shift(rows.lease() - timedelta(seconds=1))
        assert tasks.sweep() == {"requeued": 0, "woken": 0, "failed": 0}  # the drain may be alive
        clock.shift(SWEEP_EVERY)
        assert tasks.sweep() == {"requeued": 2, "woken": 1, "failed": 0}
        assert timezone.now() - killed_at <= timedelta(seconds=60)
    assert set(Delivery.objects.filter(send=send).values_list("status", flat=True)) == {"sent"}
    assert len(mail.outbox) == 3


def test_a_drain_that_finished_its_rows_renews_nothing(company, recruiter, django_capture_on_commit_callbacks):
    send = email_send(company, recruiter, 1, django_capture_on_commit_callbacks)
    held = rows.Held()
    batch = rows.claim(send.pk, Channel.EMAIL, 10)
    held.add(batch)
    rows.apply_outcomes([rows.sent(batch[0])])
    held.drop(batch)
    assert held.renew(timezone.now()) == 0
    assert Delivery.objects.get(send=send).lease_expires_at is None


def test_a_send_with_a_live_drain_is_not_woken_twice(company, recruiter, django_capture_on_commit_callbacks):
    send = email_send(company, recruiter, 3, django_capture_on_commit_callbacks)
    with time_machine.travel(timezone.now() + rows.stale_queued_after() + timedelta(seconds=1), tick=False):
        rows.claim(send.pk, Channel.EMAIL, 1)  # a drain is working on the send
        assert tasks.sweep()["woken"] == 0
        Delivery.objects.filter(send=send, status="sending").update(
            lease_expires_at=timezone.now() - timedelta(seconds=1)
        )  # ... and died
        assert tasks.sweep()["woken"] == 1


def test_the_drain_beats_while_it_works(company, recruiter, django_capture_on_commit_callbacks, monkeypatch):
    """The drain's heartbeat renews the rows of the batch it is working on (here: a beat in
    the middle of the batch)."""
    send = email_send(company, recruiter, 2, django_capture_on_commit_callbacks)
    heartbeats: list[Heartbeat] = []

    def enter(self: Heartbeat) -> Heartbeat:
        heartbeats.append(self)
        return self

    monkeypatch.setattr(Heartbeat, "__enter__", enter)
    beats: list[int] = []
    process = email.process

    def beating(batch):
        beats.append(heartbeats[-1].beat())
        process(batch)

    monkeypatch.setattr(email, "process", beating)
    tasks.drain(send.pk, Channel.EMAIL)
    assert beats == [2]
    assert len(mail.outbox) == 2


# --- a Redis outage -------------------------------------------------------------------------------


@pytest.fixture
def redis_down(settings, monkeypatch):
    """Redis refuses connections; sleeping advances the (frozen) clock instead of waiting."""
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    monkeypatch.setattr(ratelimit, "_redis", {})
    with time_machine.travel(timezone.now(), tick=False) as clock:
        monkeypatch.setattr(ratelimit.time, "sleep", lambda seconds: clock.shift(seconds))
        yield clock


def test_a_take_waits_for_redis_and_goes_on_when_it_is_back(monkeypatch, redis_down):
    outage = {"left": 40}  # 20 s of refusals at one try every half second
    real = ratelimit._acquire_redis

    def flaky(*args):
        if outage["left"]:
            outage["left"] -= 1
            return real(*args)  # a real redis.ConnectionError from the closed port
        return 5, 0.0

    monkeypatch.setattr(ratelimit, "_acquire_redis", flaky)
    started = timezone.now()
    assert ratelimit.take("line:push:test", 5, ratelimit.line_push_limit()) == 5
    assert timedelta(seconds=19) <= timezone.now() - started <= timedelta(seconds=21)


def test_a_take_gives_up_after_the_longest_outage_it_waits_for(redis_down):
    started = timezone.now()
    with pytest.raises(ratelimit.Unavailable):
        ratelimit.take("line:push:test", 5, ratelimit.line_push_limit())
    assert timezone.now() - started == timedelta(seconds=ratelimit.REDIS_WAIT_SECONDS)


def test_a_pause_after_a_429_with_redis_down_does_not_raise(redis_down):
    ratelimit.penalise("line:push:test", ratelimit.line_push_limit())


@pytest.mark.redis
def test_a_line_send_in_a_redis_outage_goes_back_unspent_and_is_sent_once_when_redis_returns(
    linked_company, recruiter, line_emulator, line_pair, django_capture_on_commit_callbacks, redis_down, settings
):
    people = [friend_of(line_emulator, line_pair, linked_company, n) for n in range(3)]
    with django_capture_on_commit_callbacks(execute=False):
        send = bulk(linked_company, recruiter, people)
    drained = draining.drain(send.pk, Channel.LINE)
    waiting = list(Delivery.objects.filter(send=send, channel=Channel.LINE))
    assert {(d.status, d.attempts, d.reason) for d in waiting} == {("queued", 0, line.REASON_REDIS_DOWN)}
    assert drained.wake_in == pytest.approx(line.REDIS_DOWN_RETRY_SECONDS, abs=1)
    assert line_emulator.outbox(line_pair.messaging_channel_id) == []

    settings.REDIS_URL = os.environ["REDIS_URL"]  # Redis is back
    ratelimit._redis.clear()
    redis_down.shift(line.REDIS_DOWN_RETRY_SECONDS)
    draining.drain(send.pk, Channel.LINE)
    assert set(Delivery.objects.filter(send=send, channel=Channel.LINE).values_list("status", flat=True)) == {"sent"}
    assert sorted(len(pushes) for pushes in outbox_by_key(line_emulator, line_pair).values()) == [1, 1, 1]


def test_a_drain_whose_next_wake_up_cannot_be_published_does_not_fail(
    company, recruiter, django_capture_on_commit_callbacks, monkeypatch
):
    send = email_send(company, recruiter, 1, django_capture_on_commit_callbacks)

    def broker_down(*args, **kwargs):
        raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.drain, "delay", broker_down)
    monkeypatch.setattr(tasks.draining, "drain", lambda *args: draining.Drained(0, out_of_time=True))
    assert tasks.drain(send.pk, Channel.EMAIL) == 0  # out of time: the next drain cannot be published
    monkeypatch.setattr(tasks, "wake_later", broker_down)
    monkeypatch.setattr(tasks.draining, "drain", lambda *args: draining.Drained(0, wake_in=10))
    assert tasks.drain(send.pk, Channel.EMAIL) == 0
    monkeypatch.setattr(tasks, "cache", SimpleNamespace(add=broker_down))
    assert tasks.sweep()["woken"] == 0  # the sweep itself does not fail either


# --- webhook events -------------------------------------------------------------------------------


def test_a_killed_workers_events_are_processed_one_lease_and_one_sweep_later(
    client,
    company,
    friend,  # noqa: F811
    monkeypatch,
    celery_not_eager,  # noqa: F811
):
    store_texts(client, company, 3)
    woken = []
    monkeypatch.setattr(event_tasks.process_pending, "delay", lambda *args: woken.append(args))
    with time_machine.travel(timezone.now(), tick=False) as clock:
        events._claim_batch(company.pk, 2)  # then SIGKILL
        clock.shift(events.LEASE - timedelta(seconds=1))
        event_tasks.sweep()
        assert woken == []  # the holder may still be alive
        clock.shift(timedelta(seconds=settings.CELERY_BEAT_SCHEDULE["line-events-sweep"]["schedule"]))
        event_tasks.sweep()
        assert woken == [(company.pk,)]
        assert len(events.process_pending(company).results) == 3
    assert set(LineWebhookEvent.objects.values_list("outcome", flat=True)) == {"processed"}


def test_a_live_workers_heartbeat_keeps_its_events(client, company, friend):  # noqa: F811
    store_texts(client, company, 2)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        batch = events._claim_batch(company.pk, 2)
        beat = events._heartbeat([e.pk for e in batch])
        for _ in range(6):
            clock.shift(events.LEASE / 3)
            assert beat.beat() == 2
            assert events.sweep().companies == []
            assert events.process_pending(company).results == []  # nobody else takes them


def test_a_company_being_drained_is_not_woken_again(client, company, friend):  # noqa: F811
    store_texts(client, company, 3)
    with time_machine.travel(timezone.now() + events.STALE_AFTER + timedelta(seconds=1), tick=False):
        events._claim_batch(company.pk, 1)
        assert events.sweep().companies == []


# --- the heartbeat thread -------------------------------------------------------------------------


def test_the_heartbeat_beats_until_the_work_is_done_and_outlives_a_failed_beat():
    beats: list[int] = []
    third = threading.Event()

    def renew(now) -> int:
        beats.append(1)
        if len(beats) == 1:
            raise ConnectionError("the database blinked")
        if len(beats) >= 3:
            third.set()
        return 1

    with Heartbeat(renew, every=0.001):
        assert third.wait(timeout=10)
    count = len(beats)
    assert count >= 3
    assert len(beats) == count  # stopped with the work


def test_an_event_drain_whose_follow_ups_cannot_be_published_does_not_fail(
    client,
    company,
    friend,  # noqa: F811
    monkeypatch,
    celery_not_eager,  # noqa: F811
):
    store_texts(client, company, 2)

    def broker_down(*args, **kwargs):
        raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(events, "BUDGET_SECONDS", 0.0)  # out of budget at once: wants a fresh task
    monkeypatch.setattr(event_tasks.process_pending, "delay", broker_down)
    assert event_tasks.process_pending(company.pk) == 0
    monkeypatch.setattr(events, "BUDGET_SECONDS", 50.0)
    assert event_tasks.process_pending(company.pk) == 2
    assert set(LineWebhookEvent.objects.values_list("outcome", flat=True)) == {"processed"}


def test_running_tasks_go_on_when_the_broker_connection_is_lost():
    assert settings.CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS is False
