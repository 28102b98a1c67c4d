"""Celery tasks of the outbox, and how workers are woken. Thin wrappers taking ids; all are
safe to run twice or concurrently (claims are exclusive; the rows are the truth, a task only
wakes a worker up)."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from messaging.models import Channel, DeliveryAttempt
from messaging.outbox import drain as draining
from messaging.outbox import rows
from messaging.outbox import sweep as sweeping

log = logging.getLogger(__name__)

PARALLEL_DRAINS: dict[str, int] = {Channel.LINE: 2, Channel.EMAIL: 2}
SWEEP_WAKE_DEDUP_SECONDS = 20


@shared_task(
    name="messaging.tasks.drain",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=5,
)
def drain(send_id: int, channel: str) -> int:
    """Deliver a send's due rows on one channel (see outbox/drain.py), then carry on in a
    fresh task or wake one later if rows are left."""
    drained = draining.drain(send_id, channel)
    try:
        if drained.out_of_time:
            drain.delay(send_id, channel)
        elif drained.wake_in is not None:
            wake_later(send_id, channel, drained.wake_in)
    except Exception:
        # Redis (broker and cache) is down: the rows are saved and queued, and the sweeper wakes
        # a drain for them once it is back. The task itself did its work: it does not fail.
        log.warning("could not wake the next drain of send %s (%s); the sweeper will", send_id, channel, exc_info=True)
    return drained.handled


@shared_task(name="messaging.tasks.sweep")
def sweep() -> dict[str, int]:
    """Beat, every 30 s: recover rows whose worker died or whose wake-up was lost."""
    swept = sweeping.sweep()
    woken = 0
    try:
        for send_id, channel in swept.due:
            if cache.add(f"messaging:sweep:{send_id}:{channel}", 1, timeout=SWEEP_WAKE_DEDUP_SECONDS):
                drain.delay(send_id, channel)
                woken += 1
    except Exception:
        log.warning("sweeper: Redis is unreachable; the next sweep wakes the drains", exc_info=True)
    return {"requeued": swept.requeued, "woken": woken, "failed": swept.failed}


def parallelism(channel: str, count: int) -> int:
    return max(1, min(PARALLEL_DRAINS.get(channel, 1), math.ceil(count / rows.BATCH.get(channel, 50))))


def wake_on_commit(send_id: int, channels: Iterable[str], count: int) -> None:
    """Enqueue the drains on commit, LINE's first: LINE is paced by the platform (rate limit,
    HTTP round trips) while email is bound by our own CPU, so with a small worker pool LINE
    goes first and email follows as workers free up (or in parallel on a bigger pool).

    The rows are committed by then, so a publish that fails (the broker is down) must not
    fail the caller: the recruiter's send exists and the sweeper wakes it later. Celery's
    `delay_on_commit` registers a non-robust callback, whose exception would escape the
    request after COMMIT (a 500 for a saved send) and skip the callbacks after it."""
    for channel in sorted(channels, key=lambda c: c != Channel.LINE):
        for _ in range(parallelism(channel, count)):
            _publish_on_commit(send_id, channel)


def _publish_on_commit(send_id: int, channel: str) -> None:
    def publish_drain() -> None:  # a named function: Django logs robust callbacks by __qualname__
        try:
            drain.delay(send_id, channel)
        except Exception:
            log.exception("could not publish the drain of send %s (%s); the sweeper will wake it", send_id, channel)

    transaction.on_commit(publish_drain, robust=True)


def wake_later(send_id: int, channel: str, countdown: float) -> None:
    """Re-enqueue a drain after a short wait; deduplicated so retries don't pile up tasks."""
    countdown = max(1, min(rows.MAX_COUNTDOWN, math.ceil(countdown)))
    if cache.add(f"messaging:wake:{send_id}:{channel}", 1, timeout=countdown):
        drain.apply_async((send_id, channel), countdown=countdown)


@shared_task(name="messaging.tasks.purge_old_attempts")
def purge_old_attempts() -> int:
    """Beat, daily, next to the webhook events' purge: drop delivery attempts older than
    DELIVERY_ATTEMPT_RETENTION_DAYS (the deliveries themselves stay)."""
    cutoff = timezone.now() - timedelta(days=settings.DELIVERY_ATTEMPT_RETENTION_DAYS)
    deleted, _ = DeliveryAttempt.objects.filter(started_at__lt=cutoff).delete()
    if deleted:
        log.info("Purged %d delivery attempts", deleted)
    return deleted
