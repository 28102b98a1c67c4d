"""The webhook's wake-up after commit: a set of company ids in the request, coalesced
publishes off it (one process_pending task per company)."""

import time

import pytest

from hrmos.celery import app as celery_app
from line_integration.models import LineWebhookEvent
from line_integration.processing import tasks
from tests.line_webhook_helpers import fixture_body, link_directly, post


@pytest.mark.redis
def test_a_burst_of_wake_ups_publishes_a_few_tasks_not_one_per_request():
    celery_app.conf.task_always_eager = False
    queue = celery_app.conf.task_default_queue
    with celery_app.connection_for_write() as connection:
        # The Redis transport's channel: kombu's stubs only know the generic one.
        client = connection.default_channel.client  # type: ignore[attr-defined]
        before = client.llen(queue)
        waker = tasks.Waker(interval=0.05)
        started = time.monotonic()
        for _ in range(500):
            waker()
        elapsed = time.monotonic() - started
        deadline = time.monotonic() + 5
        while waker.published == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
        added = client.llen(queue) - before
        for _ in range(added):  # leave the broker as we found it
            client.lpop(queue)
    assert elapsed < 0.05  # the request side only sets a flag
    assert 1 <= waker.published == added <= 5


def test_wake_ups_become_one_task_per_company_woken(monkeypatch):
    celery_app.conf.task_always_eager = False
    published: list[tuple] = []
    monkeypatch.setattr(tasks.process_pending, "apply_async", lambda args=(), **options: published.append(args))
    waker = tasks.Waker(interval=0.01)
    for _ in range(100):
        waker(1)
        waker(2)
    deadline = time.monotonic() + 5
    while {(1,), (2,)} - set(published) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert set(published) == {(1,), (2,)}
    assert len(published) <= 4  # coalesced: not one task per wake-up


@pytest.mark.django_db
@pytest.mark.usefixtures("both_webhook_paths")
def test_with_eager_tasks_a_wake_up_processes_the_companys_events_inline(client, company):
    link_directly(company)
    post(client, company, fixture_body("postback"))  # stored; its on-commit wake-up is not run here
    assert LineWebhookEvent.objects.get().processed_at is None

    tasks.wake(company.pk)

    row = LineWebhookEvent.objects.get()
    assert row.outcome == "ignored" and row.processed_at is not None
