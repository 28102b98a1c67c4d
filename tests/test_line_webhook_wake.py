"""The webhook's wake-up after commit: a flag in the request, coalesced publishes off it."""

import time

import pytest

from hrmos.celery import app as celery_app
from line_integration import tasks


@pytest.mark.redis
def test_a_burst_of_wake_ups_publishes_a_few_tasks_not_one_per_request():
    celery_app.conf.task_always_eager = False
    queue = celery_app.conf.task_default_queue
    with celery_app.connection_for_write() as connection:
        client = connection.default_channel.client
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


def test_with_eager_tasks_a_wake_up_drains_inline(db):
    assert celery_app.conf.task_always_eager
    tasks.wake()  # nothing pending: it simply returns
