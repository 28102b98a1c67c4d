"""Celery tasks for received LINE events: thin wrappers taking ids, safe to run twice.

How processing is woken (the webhook's hot path must stay cheap): publishing one Celery
message per webhook request costs a broker round trip and kombu's serialisation in the
request (about as much as the rest of the request, see benchmarks/README.md), for work that
batches naturally. So the webhook calls `wake(company_id)` on commit,
which only records the company in an in-process set; a daemon thread per process publishes ONE
`process_pending(company_id)` task per company woken, at most every `WAKE_INTERVAL` seconds,
and that task drains the company's due events for up to `queue.BUDGET_SECONDS`, then hands
over to a fresh task (so companies take turns in the queue instead of one burst holding a
worker). The set is swapped out *before* each publish, so a commit after a publish always
causes another publish: every stored event is followed by a task published after its commit.
A process that dies in that short window leaves rows that `sweep` (beat, every 30 s) hands out
once they are `queue.STALE_AFTER` old; on exit the thread flushes pending wake-ups. With
`task_always_eager` (tests), `wake()` drains inline.

Content downloads are tasks of their own (`download_content(event_id)`), enqueued when a
content message has been put on the timeline.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from datetime import timedelta
from typing import TypedDict

from celery import shared_task
from celery.contrib.django.task import DjangoTask
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction

from line_integration.processing import queue

logger = logging.getLogger(__name__)

# Seconds between two wake-up publishes of one process. The first wake-up after a quiet spell
# is published at once; under load a process publishes at most 4 a second (each costs ~0.7 ms of
# the web worker's GIL), and an event waits at most this long before a worker is told about it.
WAKE_INTERVAL = 0.25


class RetryOptions(TypedDict):
    """The retry options of `shared_task`, typed so that `**DB_RETRY` is checked key by key."""

    autoretry_for: tuple[type[BaseException], ...]
    retry_backoff: bool
    retry_backoff_max: int
    max_retries: int


DB_RETRY: RetryOptions = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "max_retries": 5,
}


def _eager() -> bool:
    return bool(process_pending.app.conf.task_always_eager)


def _follow_up(results: list[queue.Result]) -> None:
    """Downloads for the content messages just put on the timeline; countdown tasks for
    retries; a wake-up when events of a user who linked meanwhile became due again."""
    for result in results:
        if result.wake_company is not None:
            wake_on_commit(result.wake_company)
        try:
            if result.outcome == queue.CONTENT:
                download_content.delay_on_commit(result.event_id)
            elif result.outcome == queue.RETRY and result.retry_in is not None and not _eager():
                # Tests drive retries explicitly; in production the sweeper covers a lost countdown.
                process_event.apply_async((result.event_id,), countdown=result.retry_in)
        except Exception:
            # The broker is down: the row is stored and due, the sweeper hands it out later.
            logger.warning("could not publish the follow-up of LINE event %s", result.event_id, exc_info=True)


@shared_task(name="line_integration.tasks.process_pending", **DB_RETRY)
def process_pending(company_id: int | None = None) -> int:
    """Drain one company's due events (every company's when None) for a bounded time."""
    try:
        drained = queue.process_pending(company_id)
    except SoftTimeLimitExceeded:
        if not _eager():
            _carry_on(company_id)  # its unstarted rows were handed back: carry on afresh
        raise
    _follow_up(drained.results)
    if drained.more and not _eager():
        _carry_on(company_id)  # a backlog: carry on in a fresh task rather than hold this one
    return len(drained.results)


def _carry_on(company_id: int | None) -> None:
    try:
        process_pending.delay(company_id)
    except Exception:
        logger.warning("could not publish the next LINE event drain; the sweeper will wake it", exc_info=True)


# base=DjangoTask (already every task's class, see hrmos/celery.py) tells mypy about delay_on_commit.
@shared_task(name="line_integration.tasks.process_event", base=DjangoTask, **DB_RETRY)
def process_event(event_id: int) -> str | None:
    """One event: a retry with backoff, or a manual re-run (admin's 再処理)."""
    result = queue.process_event(event_id)
    if result is None:
        return None
    _follow_up([result])
    return result.outcome


@shared_task(name="line_integration.tasks.download_content", base=DjangoTask, **DB_RETRY)
def download_content(event_id: int) -> str | None:
    """The image, video, audio or file of one message event (see queue.download_content)."""
    result = queue.download_content(event_id)
    if result is None:
        return None
    _follow_up([result])
    return result.outcome


@shared_task(name="line_integration.tasks.sweep", **DB_RETRY)
def sweep() -> int:
    """Beat: wake processing for events left unprocessed (a lost wake-up, a worker that died
    mid-claim, a retry whose countdown task was lost) and fail events no worker ever finished."""
    swept = queue.sweep()
    for company_id in swept.companies:
        process_pending.delay(company_id)
    for event_id in swept.downloads:
        download_content.delay(event_id)
    handed_out = len(swept.companies) + len(swept.downloads)
    if handed_out:
        logger.info("LINE event sweeper woke %d companies and %d downloads", len(swept.companies), len(swept.downloads))
    return swept.failed + handed_out


@shared_task(name="line_integration.tasks.purge_old_events")
def purge_old_events() -> int:
    """Beat, daily: drop processed events older than LINE_WEBHOOK_EVENT_RETENTION_DAYS."""
    deleted = queue.purge_processed(older_than=timedelta(days=settings.LINE_WEBHOOK_EVENT_RETENTION_DAYS))
    if deleted:
        logger.info("Purged %d processed LINE webhook events", deleted)
    return deleted


class Waker:
    """Coalesces wake-ups of `process_pending` per process and company (see the module docstring)."""

    def __init__(self, interval: float = WAKE_INTERVAL) -> None:
        self.interval = interval
        self.published = 0
        self._due: set[int | None] = set()
        self._flag = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    def __call__(self, company_id: int | None = None) -> None:
        if self._pid == os.getpid() and company_id in self._due:
            return  # a publish is already due after this commit (the common case under load)
        if _eager():
            process_pending.delay(company_id)
            return
        with self._lock:
            self._due.add(company_id)
        self._flag.set()
        if self._pid != os.getpid() or self._thread is None or not self._thread.is_alive():
            self._start()

    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
                return
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._loop, name="line-event-waker", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while True:
            self._flag.wait()
            self._flag.clear()
            self._publish_due()
            time.sleep(self.interval)

    def _publish_due(self) -> None:
        with self._lock:
            due, self._due = self._due, set()
        for company_id in due:
            try:
                process_pending.apply_async((company_id,))
                self.published += 1
            except Exception:
                logger.exception("Could not wake LINE event processing; the sweeper will process the events")

    def flush(self) -> None:
        if self._pid == os.getpid() and self._due:
            self._flag.clear()
            self._publish_due()


wake = Waker()
atexit.register(wake.flush)


def wake_on_commit(company_id: int) -> None:
    """Wake the company's event processing once the current transaction commits."""
    transaction.on_commit(lambda: wake(company_id))
