"""Scheduled sends (送信予約): claimed by the beat tick when due, editable and cancellable
until then, and a cancel that races the dispatcher never sends."""

import threading
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone

from messaging import rules
from messaging.models import Channel, Delivery, Kind, Message, Send
from messaging.outbox import tasks
from messaging.sending import compose, scheduling
from messaging.sending.compose import Draft
from tests.conftest import make_candidate, not_live
from tests.test_messaging_compose import befriend, linked

pytestmark = pytest.mark.django_db


def schedule(company, recruiter, candidates, *, minutes: int = 30, **fields) -> Send:
    values: dict[str, Any] = {
        "kind": Kind.BULK,
        "subject": "面接のご案内",
        "body": "{{姓}}様",
        "scheduled_at": timezone.now() + timedelta(minutes=minutes),
    }
    values.update(fields)
    return compose.create_send(Draft(**values), company=company, user=recruiter, candidates=[c.pk for c in candidates])


def dispatch_at(moment, capture) -> list[int]:
    """Run the beat tick at `moment`, executing what it enqueues on commit (the workers)."""
    with time_machine.travel(moment, tick=True), capture(execute=True):
        return scheduling.dispatch_due()


def test_a_scheduled_send_writes_its_rows_but_publishes_nothing(
    company, recruiter, candidate, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = schedule(company, recruiter, [candidate])
    assert not_live(callbacks) == []  # no eta/countdown task: the database row is the schedule
    assert result.status == Send.Status.SCHEDULED
    assert list(Delivery.objects.filter(send=result).values_list("status", flat=True)) == ["scheduled"]
    assert Message.objects.get(send=result).occurred_at == result.scheduled_at


def test_it_goes_out_on_time_and_not_before(company, recruiter, candidate, django_capture_on_commit_callbacks):
    result = schedule(company, recruiter, [candidate], minutes=10)
    with django_capture_on_commit_callbacks(execute=True):
        assert scheduling.dispatch_due() == []
    assert not mail.outbox
    with time_machine.travel(result.scheduled_at + timedelta(seconds=5), tick=True):
        with django_capture_on_commit_callbacks(execute=True):
            assert scheduling.dispatch_due() == [result.pk]
        assert len(mail.outbox) == 1
        result.refresh_from_db()
        assert result.status == Send.Status.DONE
        assert Delivery.objects.get(send=result).status == "sent"
        # The timeline item moves to the moment it actually went out.
        assert Message.objects.get(send=result).occurred_at >= result.scheduled_at


def test_a_cancelled_send_never_goes_out(company, recruiter, candidate, django_capture_on_commit_callbacks):
    result = schedule(company, recruiter, [candidate], minutes=10)
    assert scheduling.cancel_scheduled_send(result, user=recruiter)
    assert dispatch_at(result.scheduled_at + timedelta(minutes=1), django_capture_on_commit_callbacks) == []
    assert not mail.outbox
    delivery = Delivery.objects.get(send=result)
    assert (delivery.status, delivery.reason) == ("cancelled", rules.REASON_CANCELLED)


def test_cancel_after_dispatch_is_too_late(company, recruiter, candidate, django_capture_on_commit_callbacks):
    result = schedule(company, recruiter, [candidate], minutes=10)
    with time_machine.travel(result.scheduled_at + timedelta(seconds=1)):
        with django_capture_on_commit_callbacks(execute=False):
            scheduling.dispatch_due()
        assert not scheduling.cancel_scheduled_send(result, user=recruiter)
    result.refresh_from_db()
    assert result.status == Send.Status.QUEUED


def test_an_edit_with_a_stale_version_changes_nothing(company, recruiter, candidate):
    result = schedule(company, recruiter, [candidate])
    new_time = timezone.now() + timedelta(hours=2)
    edited = Draft(kind=Kind.BULK, subject="変更後", body="{{候補者氏名}}様 変更後", scheduled_at=new_time)
    assert scheduling.edit_scheduled_send(result, edited, version=result.version, user=recruiter)
    assert not scheduling.edit_scheduled_send(result, edited, version=result.version, user=recruiter)
    result.refresh_from_db()
    assert (result.subject, result.version, result.scheduled_at) == ("変更後", 2, new_time)
    message = Message.objects.get(send=result)
    assert (message.subject, message.body, message.occurred_at) == ("変更後", "山田 花子様 変更後", new_time)


def edit_post(send: Send, **fields) -> dict:
    later = timezone.localtime(timezone.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    data = {"subject": send.subject, "body": send.body, "scheduled_at": later, "version": send.version}
    data.update(fields)
    return data


def test_a_scheduled_friend_invitation_can_be_edited(recruiter_client, company, recruiter, candidate):
    linked(company)
    body = "{{姓}}様\n友達登録はこちら：{{LINE友達登録URL}}"
    result = schedule(company, recruiter, [candidate], body=body, include_friend_invitation=True)
    response = recruiter_client.post(
        reverse("messaging:send_edit", args=[result.pk]),
        edit_post(result, body=body + "\n（再送）"),
        follow=True,
    )
    assert "送信予約を変更しました。" in response.content.decode()
    result.refresh_from_db()
    assert result.body.endswith("（再送）") and result.include_friend_invitation


def test_an_edit_posted_as_send_now_stays_a_reservation_with_a_clear_message(
    recruiter_client, company, recruiter, candidate
):
    result = schedule(company, recruiter, [candidate])
    response = recruiter_client.post(
        reverse("messaging:send_edit", args=[result.pk]), edit_post(result, timing="now", scheduled_at="")
    )
    assert response.status_code == 200
    assert "送信予約日時を入力してください。" in response.content.decode()
    result.refresh_from_db()
    assert (result.status, result.version) == (Send.Status.SCHEDULED, 1)
    assert result.scheduled_at is not None


def test_editing_a_reservation_without_a_time_is_refused(company, recruiter, candidate):
    result = schedule(company, recruiter, [candidate])
    with pytest.raises(compose.ComposeError) as caught:
        scheduling.edit_scheduled_send(
            result, Draft(kind=Kind.BULK, subject="件名", body="本文", scheduled_at=None), version=1, user=recruiter
        )
    assert caught.value.errors["scheduled_at"] == ["送信予約日時を入力してください。"]
    result.refresh_from_db()
    assert result.scheduled_at is not None and result.version == 1


def test_a_candidate_deleted_before_the_send_is_skipped_with_the_reason(
    company, recruiter, django_capture_on_commit_callbacks
):
    keep = make_candidate(company, email="keep@example.com")
    gone = make_candidate(company, email="gone@example.com", last_name="削除")
    result = schedule(company, recruiter, [keep, gone], minutes=5)
    gone.delete()
    dispatch_at(result.scheduled_at + timedelta(seconds=1), django_capture_on_commit_callbacks)
    rows = {d.recipient_name: (d.status, d.reason) for d in Delivery.objects.filter(send=result)}
    assert rows["山田 花子"] == ("sent", "")
    assert rows["削除 花子"] == ("skipped", rules.REASON_CANDIDATE_DELETED)
    assert [m.recipients() for m in mail.outbox] == [['"山田 花子" <keep@example.com>']]


def test_line_unlinked_before_the_send_is_skipped_with_the_reason(
    company, recruiter, candidate, django_capture_on_commit_callbacks
):
    integration = linked(company)
    befriend(candidate, 7)
    result = schedule(company, recruiter, [candidate], minutes=5, send_line=True)
    assert Delivery.objects.get(send=result, channel=Channel.LINE).status == "scheduled"
    integration.clear_link()
    integration.save()
    dispatch_at(result.scheduled_at + timedelta(seconds=1), django_capture_on_commit_callbacks)
    line = Delivery.objects.get(send=result, channel=Channel.LINE)
    assert (line.status, line.reason) == ("skipped", rules.REASON_UNLINKED)
    assert Delivery.objects.get(send=result, channel=Channel.EMAIL).status == "sent"


def test_a_candidate_who_blocked_before_the_send_is_skipped(
    company, recruiter, candidate, django_capture_on_commit_callbacks
):
    linked(company)
    account = befriend(candidate, 8)
    result = schedule(company, recruiter, [candidate], minutes=5, send_line=True)
    account.friend_state = account.FriendState.BLOCKED
    account.save()
    dispatch_at(result.scheduled_at + timedelta(seconds=1), django_capture_on_commit_callbacks)
    line = Delivery.objects.get(send=result, channel=Channel.LINE)
    assert (line.status, line.reason) == ("skipped", rules.REASON_BLOCKED)


# --- concurrency (PostgreSQL: real row locks and SKIP LOCKED) ------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_cancel_racing_the_dispatcher_never_sends(company, recruiter, monkeypatch):
    """Two connections, 60 rounds: the dispatcher and a cancel fire at the same moment. Each
    round ends as exactly one of: cancelled and nothing queued, or dispatched and the cancel
    told "too late"."""
    monkeypatch.setattr(tasks, "wake_on_commit", lambda *args, **kwargs: None)  # no workers: count claims
    candidate = make_candidate(company, email="race@example.com")
    outcomes = {"cancelled": 0, "dispatched": 0}
    for _ in range(60):
        with time_machine.travel(timezone.now() - timedelta(minutes=1)):
            result = schedule(
                company, recruiter, [candidate], minutes=0, scheduled_at=timezone.now() + timedelta(seconds=30)
            )
        barrier = threading.Barrier(2)
        answers: dict[str, Any] = {}

        def dispatch(result=result, barrier=barrier, answers=answers):
            barrier.wait()
            answers["dispatched"] = scheduling.dispatch_due()
            connections.close_all()

        def cancel(result=result, barrier=barrier, answers=answers):
            barrier.wait()
            answers["cancelled"] = scheduling.cancel_scheduled_send(result, user=None)
            connections.close_all()

        threads = [threading.Thread(target=dispatch), threading.Thread(target=cancel)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        result.refresh_from_db()
        statuses = set(Delivery.objects.filter(send=result).values_list("status", flat=True))
        if answers["cancelled"]:
            assert result.status == Send.Status.CANCELLED
            assert statuses == {"cancelled"}
            assert result.pk not in answers["dispatched"]
            outcomes["cancelled"] += 1
        else:
            assert result.status == Send.Status.QUEUED
            assert statuses == {"queued"}
            outcomes["dispatched"] += 1
    assert sum(outcomes.values()) == 60


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_never_claim_the_same_send(company, recruiter, monkeypatch):
    monkeypatch.setattr(tasks, "wake_on_commit", lambda *args, **kwargs: None)
    candidate = make_candidate(company, email="two@example.com")
    with time_machine.travel(timezone.now() - timedelta(minutes=5)):
        ids = {schedule(company, recruiter, [candidate], minutes=1).pk for _ in range(120)}
    claimed: list[list[int]] = [[], []]

    def run(slot: int) -> None:
        while batch := scheduling.dispatch_due(limit=7):
            claimed[slot].extend(batch)
        connections.close_all()

    threads = [threading.Thread(target=run, args=(slot,)) for slot in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed[0] + claimed[1]) == sorted(ids)
    assert not set(claimed[0]) & set(claimed[1])
    assert connection.vendor == "postgresql"


def test_dispatch_wakes_one_drain_per_channel_not_one_per_row(company, recruiter, django_capture_on_commit_callbacks):
    linked(company)
    people = [make_candidate(company, email=f"p{i}@example.com") for i in range(30)]
    result = schedule(company, recruiter, people, minutes=5, send_line=True)
    with (
        time_machine.travel(result.scheduled_at + timedelta(seconds=1)),
        django_capture_on_commit_callbacks(execute=False) as callbacks,
    ):
        assert scheduling.dispatch_due() == [result.pk]
    assert len(not_live(callbacks)) == 3  # a drain for email, one for LINE, and the completion check
