"""Celery tasks of selection: thin wrappers, safe to run twice or concurrently."""

from __future__ import annotations

from celery import shared_task

from selection import reminders


@shared_task(name="selection.tasks.send_interview_reminders")
def send_interview_reminders() -> int:
    """Beat, every 5 minutes: the day-before interview reminders that are due."""
    return reminders.send_due_reminders()
