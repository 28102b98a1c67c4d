"""How stored events are shared out: per company, in small claims, within a time budget,
content downloads in tasks of their own, and rows whose worker never finished."""

import base64
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
import time_machine
from celery.exceptions import SoftTimeLimitExceeded
from django.utils import timezone

from hrmos.celery import app as celery_app
from line_integration.models import LineAccount, LineWebhookEvent
from line_integration.processing import handlers, tasks
from line_integration.processing import queue as events
from line_integration.signals import line_message_received
from messaging.models import Message
from tests.conftest import make_candidate, not_live
from tests.line_webhook_helpers import USER_ID, body_of, event_of, fixture_body, link_directly, post

pytestmark = pytest.mark.django_db


@pytest.fixture
def friend(company):
    link_directly(company)
    candidate = make_candidate(company)
    LineAccount.objects.create(company=company, candidate=candidate, line_user_id=USER_ID, friend_state="friend")
    return candidate


@pytest.fixture
def celery_not_eager():
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = True


def store_texts(client, company, count: int) -> list[LineWebhookEvent]:
    """`count` text messages stored by the webhook, not processed (their wake-up never runs)."""
    messages = []
    for n in range(count):
        event = event_of("message_text")
        event["webhookEventId"] = f"01JDXQ4T8S3M5Q0B7W1Y2Z{n:04d}"
        event["message"] = dict(event["message"], id=f"5364123891012{n:05d}", text=f"メッセージ{n}")
        event["timestamp"] += n
        messages.append(event)
    assert post(client, company, body_of(*messages)).status_code == 200
    return list(LineWebhookEvent.objects.filter(company=company).order_by("timestamp"))


@contextmanager
def on_message(handler):
    line_message_received.connect(handler, dispatch_uid="test_queue_receiver")
    try:
        yield
    finally:
        line_message_received.disconnect(dispatch_uid="test_queue_receiver")


def fresh(rows: list[LineWebhookEvent]) -> list[LineWebhookEvent]:
    return [LineWebhookEvent.objects.get(pk=row.pk) for row in rows]


# --- the time budget ---------------------------------------------------------------------------


def test_a_drain_stops_at_its_budget_and_hands_back_the_rows_it_did_not_start(client, company, friend):
    rows = store_texts(client, company, 3)

    with time_machine.travel(timezone.now(), tick=False) as clock, on_message(lambda **kwargs: clock.shift(30)):
        drained = events.process_pending(company, budget=50)

    first, second, third = fresh(rows)
    assert [r.outcome for r in drained.results] == ["processed", "processed"] and drained.more
    assert first.processed_at and second.processed_at
    assert (third.processed_at, third.claimed_until, third.attempts) == (None, None, 0)  # as if never claimed


def test_a_task_out_of_budget_hands_over_to_a_fresh_task(client, company, friend, monkeypatch, celery_not_eager):
    store_texts(client, company, 1)
    monkeypatch.setattr(events, "BUDGET_SECONDS", 0.0)
    handed_over = []
    monkeypatch.setattr(tasks.process_pending, "delay", lambda *args: handed_over.append(args))

    assert tasks.process_pending(company.pk) == 0

    assert handed_over == [(company.pk,)]
    assert LineWebhookEvent.objects.get().claimed_until is None


def test_claims_are_small(client, company, friend):
    rows = store_texts(client, company, events.BATCH + 5)
    claimed_while_running: list[int] = []

    def look(**kwargs):
        if not claimed_while_running:
            claimed_while_running.append(LineWebhookEvent.objects.filter(claimed_until__isnull=False).count())

    with on_message(look):
        events.process_pending(company)

    assert claimed_while_running == [events.BATCH]
    assert all(row.outcome == "processed" for row in fresh(rows))


# --- the soft time limit and killed workers ------------------------------------------------------


def test_a_soft_time_limit_is_not_taken_for_the_events_failure(client, company, friend):
    rows = store_texts(client, company, 3)

    def out_of_time(**kwargs):
        raise SoftTimeLimitExceeded()

    with on_message(out_of_time), pytest.raises(SoftTimeLimitExceeded):
        events.process_pending(company)

    running, *unstarted = fresh(rows)
    assert running.claimed_until is not None and running.next_attempt_at is None and running.detail == ""
    assert [(r.claimed_until, r.attempts) for r in unstarted] == [(None, 0), (None, 0)]


def test_a_task_stopped_by_the_soft_time_limit_hands_over_and_stops(
    client, company, friend, monkeypatch, celery_not_eager
):
    store_texts(client, company, 2)
    handed_over = []
    monkeypatch.setattr(tasks.process_pending, "delay", lambda *args: handed_over.append(args))

    def out_of_time(**kwargs):
        raise SoftTimeLimitExceeded()

    with on_message(out_of_time), pytest.raises(SoftTimeLimitExceeded):
        tasks.process_pending(company.pk)

    assert handed_over == [(company.pk,)]


def test_a_row_whose_worker_was_killed_at_every_attempt_is_not_claimed_again(client, company, friend):
    (row,) = store_texts(client, company, 1)
    # The 10th claim's lease ran out: its worker was killed before writing anything.
    LineWebhookEvent.objects.filter(pk=row.pk).update(
        attempts=events.MAX_ATTEMPTS, claimed_until=timezone.now() - timedelta(seconds=1), detail="前回の記録"
    )

    assert events.process_event(row.pk) is None
    assert events.process_pending(company).results == []
    assert tasks.sweep.delay().get() == 1

    row.refresh_from_db()
    assert row.outcome == "failed" and row.processed_at is not None and row.claimed_until is None
    assert "10回処理を始めましたが、いずれも完了しませんでした" in row.detail and "前回の記録" in row.detail
    assert not Message.objects.exists()


def test_a_row_still_held_by_its_last_worker_is_not_failed_yet(client, company, friend):
    (row,) = store_texts(client, company, 1)
    LineWebhookEvent.objects.filter(pk=row.pk).update(
        attempts=events.MAX_ATTEMPTS, claimed_until=timezone.now() + timedelta(minutes=1)
    )

    assert events.sweep().failed == 0
    assert LineWebhookEvent.objects.get(pk=row.pk).processed_at is None


def test_a_retry_asked_for_on_the_last_attempt_fails_the_event(client, company, friend):
    (row,) = store_texts(client, company, 1)
    LineWebhookEvent.objects.filter(pk=row.pk).update(attempts=events.MAX_ATTEMPTS - 1)

    def not_now(**kwargs):
        raise handlers.Retry("まだです")

    with on_message(not_now):
        assert events.process_event(row.pk).outcome == "failed"
    row.refresh_from_db()
    assert row.processed_at is not None and row.detail == "まだです"


def test_retries_are_spread_out_not_in_step():
    delays = {events.EVENTS.backoff(3) for _ in range(50)}
    assert len(delays) > 1
    assert all(10 <= delay <= 20 for delay in delays)  # between half and all of 5·2²


# --- one company at a time ---------------------------------------------------------------------


def test_a_drain_for_one_company_leaves_the_others_events_to_their_own_task(client, company, other_company, friend):
    link_directly(other_company)
    store_texts(client, company, 2)
    post(client, other_company, fixture_body("postback"))

    drained = events.process_pending(company)

    assert len(drained.results) == 2
    assert LineWebhookEvent.objects.get(company=other_company).processed_at is None
    assert {r.outcome for r in events.process_pending(other_company).results} == {"ignored"}


def test_the_sweeper_wakes_one_task_per_company_with_lost_events(
    client, company, other_company, friend, monkeypatch, celery_not_eager
):
    link_directly(other_company)
    store_texts(client, company, 3)
    post(client, other_company, fixture_body("postback"))
    woken = []
    monkeypatch.setattr(tasks.process_pending, "delay", lambda *args: woken.append(args))

    with time_machine.travel(timezone.now() + events.STALE_AFTER + timedelta(seconds=1)):
        tasks.sweep()

    assert sorted(woken) == sorted([(company.pk,), (other_company.pk,)])


# --- content downloads: a task per message ------------------------------------------------------

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _file_event(line_emulator, line_pair, data: bytes) -> bytes:
    sent = line_emulator.send_message(
        line_pair.messaging_channel_id,
        line_pair.persona_id,
        type="file",
        content_base64=base64.b64encode(data).decode(),
        file_name="成績証明書.pdf",
        content_type="application/pdf",
    )
    event = dict(event_of("message_file"), webhookEventId=sent["webhook_event_id"], timestamp=int(time.time() * 1000))
    event["source"] = {"type": "user", "userId": line_pair.user_id}
    event["message"] = sent["message"]
    return body_of(event, destination=line_pair.bot_user_id)


def test_processing_puts_a_file_on_the_timeline_and_leaves_its_download_to_a_task_of_its_own(
    client, line_emulator, line_pair, linked_company, line_friend_candidate
):
    post(client, linked_company, _file_event(line_emulator, line_pair, PDF), secret=line_pair.messaging_channel_secret)

    drained = events.process_pending(linked_company)

    row = LineWebhookEvent.objects.get()
    message = Message.objects.get()
    assert [r.outcome for r in drained.results] == ["content"]
    assert (row.outcome, row.processed_at, row.attempts) == ("content", None, 0)
    assert message.extra["content_status"] == "pending" and not message.attachments.exists()
    assert events.process_pending(linked_company).results == []  # the drain never downloads

    assert events.download_content(row.pk).outcome == "processed"
    assert message.attachments.get().file.read() == PDF
    assert events.download_content(row.pk) is None  # done: a repeated task changes nothing


def test_the_webhook_path_queues_the_download_after_the_timeline_message(
    client, line_emulator, line_pair, linked_company, line_friend_candidate, django_capture_on_commit_callbacks
):
    body = _file_event(line_emulator, line_pair, PDF)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        post(client, linked_company, body, secret=line_pair.messaging_channel_secret)

    assert len(not_live(callbacks)) == 2  # the wake-up, then (from inside it) the download task
    assert LineWebhookEvent.objects.get().outcome == "processed"
    assert Message.objects.get().attachments.get().name == "成績証明書.pdf"


def test_a_file_over_the_size_cap_is_not_stored_and_the_timeline_says_so(
    settings,
    client,
    line_emulator,
    line_pair,
    linked_company,
    line_friend_candidate,
    django_capture_on_commit_callbacks,
):
    settings.LINE_CONTENT_MAX_BYTES = 1000
    body = _file_event(line_emulator, line_pair, b"%PDF" + b"x" * 2000)

    with django_capture_on_commit_callbacks(execute=True):
        post(client, linked_company, body, secret=line_pair.messaging_channel_secret)

    row = LineWebhookEvent.objects.get()
    message = Message.objects.get()
    assert row.outcome == "processed" and "ファイルが大きすぎるため取得しませんでした" in row.detail
    assert message.extra["content_status"] == "failed" and not message.attachments.exists()


def test_the_sweeper_queues_a_download_whose_task_was_lost(
    client, line_emulator, line_pair, linked_company, line_friend_candidate
):
    post(client, linked_company, _file_event(line_emulator, line_pair, PDF), secret=line_pair.messaging_channel_secret)
    events.process_pending(linked_company)  # on the timeline; its download task never ran

    assert events.sweep().downloads == []  # just queued: its own task may be on its way
    with time_machine.travel(timezone.now() + events.STALE_AFTER + timedelta(seconds=1)):
        assert tasks.sweep.delay().get() == 1

    assert LineWebhookEvent.objects.get().outcome == "processed"
    assert Message.objects.get().attachments.exists()


def test_the_admins_reprocess_of_a_content_event_runs_it_whole_again(
    client, line_emulator, line_pair, linked_company, line_friend_candidate, django_capture_on_commit_callbacks
):
    post(client, linked_company, _file_event(line_emulator, line_pair, PDF), secret=line_pair.messaging_channel_secret)
    events.process_pending(linked_company)
    row = LineWebhookEvent.objects.get()
    # What the admin's 再処理 action writes.
    LineWebhookEvent.objects.filter(pk=row.pk).update(
        processed_at=None, outcome="", attempts=0, next_attempt_at=None, claimed_until=None
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.process_event.delay(row.pk).get() == "content"  # then its download task runs

    assert LineWebhookEvent.objects.get().outcome == "processed"
    assert Message.objects.count() == 1 and Message.objects.get().attachments.count() == 1


# --- friend registration racing an event being processed ----------------------------------------


def test_a_candidate_who_links_while_their_message_is_processed_still_gets_it_on_the_timeline(
    client, company, monkeypatch, django_capture_on_commit_callbacks
):
    link_directly(company)
    post(client, company, fixture_body("message_text"))
    candidate = make_candidate(company)
    handle_message = handlers.HANDLERS["message"]
    raced: list[str] = []

    def linked_meanwhile(event):
        outcome = handle_message(event)  # no account yet: "unlinked", about to be written
        if not raced:
            raced.append(outcome)
            # Friend registration commits the account and reconciles right now: the row is
            # claimed and has no outcome yet, so reconcile_user cannot see it.
            LineAccount.objects.create(company=company, candidate=candidate, line_user_id=USER_ID)
            assert events.reconcile_user(company, USER_ID) == 0
        return outcome

    monkeypatch.setitem(handlers.HANDLERS, "message", linked_meanwhile)
    with django_capture_on_commit_callbacks(execute=True):
        events.process_pending(company)

    assert raced == ["unlinked"]
    assert Message.objects.filter(candidate=candidate).count() == 1
    assert LineWebhookEvent.objects.get().outcome == "processed"
