"""Celery tasks of selection: thin wrappers, safe to run twice or concurrently."""

from __future__ import annotations

from celery import shared_task

from selection import reminders


@shared_task(name="selection.tasks.send_interview_reminders")
def send_interview_reminders() -> int:
    """Beat, every 5 minutes: the day-before interview reminders that are due."""
    return reminders.send_due_reminders()


@shared_task(name="selection.tasks.send_answer_reminders")
def send_answer_reminders() -> int:
    """Beat, every 5 minutes: reminders to candidates who have not answered a scheduling request."""
    return reminders.send_answer_reminders()
