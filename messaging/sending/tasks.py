"""Celery tasks of sending: thin wrappers, safe to run twice or concurrently."""

from __future__ import annotations

from celery import shared_task

from messaging.sending import scheduling


@shared_task(name="messaging.tasks.dispatch_scheduled")
def dispatch_scheduled() -> int:
    """Beat, every 15 s: hand due scheduled sends to the workers."""
    return len(scheduling.dispatch_due())
