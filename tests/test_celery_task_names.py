"""Task names are part of the deployment contract: tasks already queued (and beat's schedule)
name them, so moving a task's module must not change its name."""

from hrmos.celery import app

EXPECTED = {
    "messaging.tasks.drain",
    "messaging.tasks.dispatch_scheduled",
    "messaging.tasks.sweep",
    "line_integration.tasks.process_pending",
    "line_integration.tasks.process_event",
    "line_integration.tasks.download_content",
    "line_integration.tasks.sweep",
    "line_integration.tasks.purge_old_events",
    "messaging.tasks.purge_old_attempts",
    "events.tasks.send_reminders",
    "selection.tasks.send_interview_reminders",
    "selection.tasks.send_answer_reminders",
}


def test_the_app_registers_exactly_the_pinned_task_names():
    app.loader.import_default_modules()
    ours = {name for name in app.tasks if not name.startswith("celery.")}
    assert ours == EXPECTED


def test_every_beat_entry_names_a_registered_task(settings):
    app.loader.import_default_modules()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks
