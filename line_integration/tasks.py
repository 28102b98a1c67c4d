"""Celery tasks for received LINE events: thin wrappers taking ids, safe to run twice.

How processing is woken (the webhook's hot path must stay cheap): publishing one Celery
message per webhook request costs a broker round trip and kombu's serialisation in the
request, for work that batches naturally. So the webhook calls `wake()` on commit, which only
sets an in-process flag; a daemon thread per process publishes ONE `process_pending` task per
wake-up, at most every `WAKE_INTERVAL` seconds, and that task drains every due event (claimed
in batches, so several workers share the work). The flag is cleared *before* each publish, so
a commit after a publish always causes another publish: every stored event is followed by a
task published after its commit. A process that dies in that short window leaves rows that
`sweep` (beat, every 30 s) processes once they are `events.STALE_AFTER` old; on exit the
thread flushes a pending wake-up. With `task_always_eager` (tests), `wake()` drains inline.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from line_integration import events

logger = logging.getLogger(__name__)

WAKE_INTERVAL = 0.05  # seconds between two wake-up publishes of one process

DB_RETRY = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "max_retries": 5,
}


def _schedule_retries(results: list[events.Result]) -> None:
    if process_event.app.conf.task_always_eager:
        return  # tests drive retries explicitly; the sweeper covers them in production
    for result in results:
        if result.outcome == events.RETRY and result.retry_in is not None:
            process_event.apply_async((result.event_id,), countdown=result.retry_in)


@shared_task(**DB_RETRY)
def process_pending() -> int:
    """Drain every due event (woken after webhook commits)."""
    results = events.process_pending()
    _schedule_retries(results)
    if len(results) >= events.DRAIN_LIMIT and not process_pending.app.conf.task_always_eager:
        process_pending.delay()  # a backlog: carry on in a fresh task rather than hold this one
    return len(results)


@shared_task(**DB_RETRY)
def process_event(event_id: int) -> str | None:
    """One event: a retry with backoff (content still being prepared), or a manual re-run."""
    result = events.process_event(event_id)
    if result is None:
        return None
    _schedule_retries([result])
    return result.outcome


@shared_task(**DB_RETRY)
def sweep() -> int:
    """Beat: events left unprocessed (a lost wake-up, a worker that died mid-claim) and retries
    whose countdown task was lost."""
    results = events.process_pending(stale_only=True)
    if results:
        logger.info("LINE event sweeper processed %d events", len(results))
    _schedule_retries(results)
    return len(results)


@shared_task
def purge_old_events() -> int:
    """Beat, daily: drop processed events older than LINE_WEBHOOK_EVENT_RETENTION_DAYS."""
    deleted = events.purge_processed(older_than=timedelta(days=settings.LINE_WEBHOOK_EVENT_RETENTION_DAYS))
    if deleted:
        logger.info("Purged %d processed LINE webhook events", deleted)
    return deleted


class Waker:
    """Coalesces wake-ups of `process_pending` per process (see the module docstring)."""

    def __init__(self, interval: float = WAKE_INTERVAL) -> None:
        self.interval = interval
        self.published = 0
        self._flag = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    def __call__(self) -> None:
        if self._flag.is_set() and self._pid == os.getpid():
            return  # a publish is already due after this commit (the common case under load)
        if process_pending.app.conf.task_always_eager:
            process_pending.delay()
            return
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
            self._publish()
            time.sleep(self.interval)

    def _publish(self) -> None:
        try:
            process_pending.apply_async()
            self.published += 1
        except Exception:
            logger.exception("Could not wake LINE event processing; the sweeper will process the events")

    def flush(self) -> None:
        if self._flag.is_set() and self._pid == os.getpid():
            self._flag.clear()
            self._publish()


wake = Waker()
atexit.register(wake.flush)
