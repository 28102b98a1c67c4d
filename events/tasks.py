from celery import shared_task

from events import reminders


@shared_task(name="events.tasks.send_reminders")
def send_reminders() -> int:
    """Beat tick (every minute): the day-before reminders that are due."""
    return reminders.send_due_reminders()
