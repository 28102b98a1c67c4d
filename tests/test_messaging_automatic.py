"""Automatic messages (confirmations, reminders, notices): email only whatever the candidate's
LINE state, in the caller's transaction, with a calendar file, and at most once per key."""

import threading

import pytest
from django.core import mail
from django.db import connection, transaction

from messaging.models import AutomaticSendKey, Channel, Delivery, Kind, Message, Send
from messaging.sending.automatic import send_automatic, send_automatic_many
from tests.conftest import make_candidate

pytestmark = pytest.mark.django_db

ICS = ("event.ics", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "text/calendar")


def confirm(company, candidate, **fields):
    values = {
        "company": company,
        "candidate": candidate,
        "subject": "【{{企業名}}】お申し込みを受け付けました",
        "body": "{{候補者氏名}}様\nお申し込みありがとうございます。",
    }
    values.update(fields)
    return send_automatic(Kind.EVENT_APPLICATION_CONFIRMATION, **values)


def test_an_automatic_message_goes_by_email_only_to_a_line_friend(
    linked_company, line_friend_candidate, line_emulator, line_pair, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        send = confirm(linked_company, line_friend_candidate, attachments=[ICS])
    assert send.is_automatic and not send.send_line
    assert list(Delivery.objects.filter(send=send).values_list("channel", flat=True)) == [Channel.EMAIL]
    [email] = mail.outbox
    assert email.subject == "【株式会社テスト】お申し込みを受け付けました"
    assert email.attachments[0][0] == "event.ics" and email.attachments[0][2].startswith("text/calendar")
    assert line_emulator.outbox(line_pair.messaging_channel_id) == []


def test_it_commits_or_rolls_back_with_the_callers_transaction(company, candidate):
    with pytest.raises(RuntimeError), transaction.atomic():
        confirm(company, candidate)
        raise RuntimeError("the application it confirms failed")
    assert not Send.objects.exists() and not Message.objects.exists()


def test_the_same_key_sends_once(company, candidate, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = confirm(company, candidate, once_key="event_reminder:application:1")
        again = confirm(company, candidate, once_key="event_reminder:application:1")
    assert first is not None and again is None
    assert AutomaticSendKey.objects.get().send == first
    assert len(mail.outbox) == 1


def test_a_manual_kind_is_refused(company, candidate):
    with pytest.raises(ValueError):
        send_automatic(Kind.BULK, company=company, candidate=candidate, subject="件名", body="本文")


def test_it_appears_on_the_timeline_marked_automatic(recruiter_client, company, candidate):
    confirm(company, candidate)
    page = recruiter_client.get(f"/messages/candidates/{candidate.pk}/timeline/").content.decode()
    assert "自動送信" in page and "イベント申し込み完了時の確認・キャンセル" in page


def test_the_send_history_lists_it_as_the_candidate_read_it(recruiter_client, company, candidate):
    confirm(company, candidate)
    listing = recruiter_client.get("/messages/sends/").content.decode()
    assert f"【{company.name}】お申し込みを受け付けました" in listing and "{{企業名}}" not in listing


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_ticks_racing_on_one_key_send_exactly_once(company):
    candidate = make_candidate(company, email="race@example.com")
    results: list[object] = []
    barrier = threading.Barrier(8)

    def tick() -> None:
        try:
            barrier.wait()
            with transaction.atomic():
                results.append(confirm(company, candidate, once_key="event_reminder:application:42"))
        finally:
            connection.close()

    threads = [threading.Thread(target=tick) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(result is not None for result in results) == 1
    assert Send.objects.count() == 1 and AutomaticSendKey.objects.count() == 1


def remind_many(company, once_keys):
    return send_automatic_many(
        Kind.EVENT_REMINDER,
        company=company,
        once_keys=once_keys,
        subject="【{{企業名}}】明日です",
        body="{{候補者氏名}}様\n明日お待ちしております。",
    )


def test_a_batch_is_one_send_rendered_per_candidate_and_skips_keys_used_before(
    recruiter_client, company, django_capture_on_commit_callbacks
):
    people = [make_candidate(company, last_name=f"佐藤{i}", email=f"sato{i}@example.com") for i in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        first = remind_many(company, {people[0].pk: "event_reminder:1"})
        send = remind_many(company, {person.pk: f"event_reminder:{i + 1}" for i, person in enumerate(people)})
        again = remind_many(company, {people[1].pk: "event_reminder:2"})
    assert first is not None and send is not None and again is None
    assert send.recipient_count == 2 and not send.send_line
    assert sorted(email.to[0].split("<")[1] for email in mail.outbox) == [
        "sato0@example.com>",
        "sato1@example.com>",
        "sato2@example.com>",
    ]
    assert {email.body.splitlines()[0] for email in mail.outbox} == {"佐藤0 花子様", "佐藤1 花子様", "佐藤2 花子様"}
    assert AutomaticSendKey.objects.filter(send=send).count() == 2
    page = recruiter_client.get(f"/messages/candidates/{people[2].pk}/timeline/").content.decode()
    assert "自動送信" in page and "佐藤2 花子様" in page


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_batches_racing_on_the_same_keys_send_each_key_once(company):
    people = [make_candidate(company, email=f"race{i}@example.com") for i in range(30)]
    barrier = threading.Barrier(4)

    def tick(order: int) -> None:
        mine = people[::-1] if order % 2 else people  # the same keys, claimed in either order
        try:
            barrier.wait()
            with transaction.atomic():
                remind_many(company, {person.pk: f"event_reminder:{person.pk}" for person in mine})
        finally:
            connection.close()

    threads = [threading.Thread(target=tick, args=(order,)) for order in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    per_candidate = list(Delivery.objects.values_list("candidate_id", flat=True))
    assert sorted(per_candidate) == sorted(person.pk for person in people)
    assert AutomaticSendKey.objects.count() == 30 and not AutomaticSendKey.objects.filter(send=None).exists()


@pytest.fixture
def reminder_kind(monkeypatch):
    from messaging.sending import automatic

    info = automatic.AutomaticKind(
        Kind.EVENT_REMINDER, "明日は{{イベント名}}です", "本文", trigger="開催前日", can_disable=True, has_hour=True
    )
    monkeypatch.setitem(automatic._kinds, info.kind, info)
    return info


def test_a_company_without_settings_gets_the_registered_defaults(company, reminder_kind):
    from messaging.sending.automatic import template_for

    template = template_for(company, Kind.EVENT_REMINDER)
    assert (template.subject, template.enabled, template.hour) == ("明日は{{イベント名}}です", True, 10)


def test_a_companys_own_template_switch_and_hour_win(company, other_company, reminder_kind):
    from messaging.models import AutomaticMessageSetting
    from messaging.sending.automatic import template_for

    AutomaticMessageSetting.objects.create(
        company=company, kind=Kind.EVENT_REMINDER, subject="前日のご案内", body="本文", enabled=False, hour=18
    )
    mine = template_for(company, Kind.EVENT_REMINDER)
    assert (mine.subject, mine.enabled, mine.hour) == ("前日のご案内", False, 18)
    assert template_for(other_company, Kind.EVENT_REMINDER).enabled is True
