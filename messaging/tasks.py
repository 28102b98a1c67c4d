"""Celery tasks: thin wrappers taking ids. All are safe to run twice or concurrently."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from messaging import pipeline, scheduling


@shared_task(
    name="messaging.tasks.drain",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=5,
)
def drain(send_id: int, channel: str) -> int:
    """Deliver a send's due rows on one channel (see pipeline.drain)."""
    return pipeline.drain(send_id, channel)


@shared_task(name="messaging.tasks.dispatch_scheduled")
def dispatch_scheduled() -> int:
    """Beat, every 15 s: hand due scheduled sends to the workers."""
    return len(scheduling.dispatch_due())


@shared_task(name="messaging.tasks.sweep")
def sweep() -> dict[str, int]:
    """Beat, every 30 s: recover rows whose worker died or whose wake-up was lost."""
    return pipeline.sweep()
