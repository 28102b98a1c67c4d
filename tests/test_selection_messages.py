"""Scheduling messages: the request (a manual send: email, and LINE for friends when switched
on) with a personal {{日程調整URL}}; the confirmation (email only, with an .ics) on book,
change and cancel; the day-before reminder exactly once per interview and start time; and the
interview placeholders refused for a recipient without an interview."""

import re
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.test import Client
from icalendar import Calendar

from hrmos.personal_links import hash_token
from messaging.models import AutomaticMessageSetting, Channel, Delivery, Kind, Send
from messaging.sending import compose
from messaging.sending.compose import ComposeError, Draft
from selection import actions, reminders
from selection.links import REQUEST_BODY, REQUEST_SUBJECT
from selection.models import Interview, SchedulingLink
from tests.conftest import make_candidate, make_recruiter
from tests.selection_support import in_days, make_request, make_schedule, make_slot

pytestmark = pytest.mark.django_db

URL = re.compile(re.escape(settings.SITE_URL) + r"/s/([A-Za-z0-9_-]+)/")


@pytest.fixture
def schedule(company, recruiter):
    return make_schedule(company, [recruiter], online_url="https://meet.example.com/abc")


def scheduling_request(company, recruiter, candidates, **fields) -> Send:
    values: dict[str, Any] = {"kind": Kind.SCHEDULING_REQUEST, "subject": REQUEST_SUBJECT, "body": REQUEST_BODY}
    values.update(fields)
    return compose.create_send(Draft(**values), company=company, user=recruiter, candidates=[c.pk for c in candidates])


def calendar_of(email) -> Calendar:
    [(name, content, _type)] = email.attachments
    assert name in ("invite.ics", "cancel.ics")
    return Calendar.from_ical(content)


def booked(candidate, schedule, slot, capture) -> Interview:
    with capture(execute=True):
        return actions.book(make_request(candidate, schedule), slot.pk)


def test_the_request_email_carries_a_personal_url_that_books(
    company, recruiter, candidate, schedule, django_capture_on_commit_callbacks
):
    slot = make_slot(schedule, in_days(3))
    with django_capture_on_commit_callbacks(execute=True):
        scheduling_request(company, recruiter, [candidate], context={"schedule": schedule.pk})
    [email] = mail.outbox
    assert email.subject == "【株式会社テスト】一次面接の日程調整のお願い"
    [token] = URL.findall(str(email.body))
    assert SchedulingLink.objects.get().token_hash == hash_token(token)
    phone = Client()
    assert phone.get(f"/s/{token}/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert phone.post(f"/s/{token}/", {"slot": slot.pk}).status_code == 302
    assert Interview.objects.get().candidate == candidate


def test_a_line_friend_gets_the_request_on_line_and_the_confirmation_by_email_only(
    linked_company, recruiter, line_friend_candidate, line_emulator, line_pair, django_capture_on_commit_callbacks
):
    schedule = make_schedule(linked_company, [recruiter])
    slot = make_slot(schedule, in_days(3))
    with django_capture_on_commit_callbacks(execute=True):
        scheduling_request(
            linked_company, recruiter, [line_friend_candidate], context={"schedule": schedule.pk}, send_line=True
        )
    [entry] = line_emulator.outbox(line_pair.messaging_channel_id)
    [line_token] = URL.findall(entry["messages"][0]["text"])
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert Client().post(f"/s/{line_token}/", {"slot": slot.pk}).status_code == 302
    confirmation = Send.objects.get(kind=Kind.SCHEDULING_CONFIRMATION)
    assert not confirmation.send_line
    assert list(Delivery.objects.filter(send=confirmation).values_list("channel", flat=True)) == [Channel.EMAIL]
    assert len(mail.outbox) == 1 and len(line_emulator.outbox(line_pair.messaging_channel_id)) == 1


def test_booking_changing_and_cancelling_each_confirm_with_an_ics(
    company, candidate, schedule, django_capture_on_commit_callbacks
):
    first, second = make_slot(schedule, in_days(3, 10)), make_slot(schedule, in_days(4, 14))
    interview = booked(candidate, schedule, first, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        actions.book(interview.request, second.pk)
        actions.cancel_booking(interview.request)
    booked_mail, changed_mail, cancelled_mail = mail.outbox
    assert "以下の日時で面接のご予約を承りました。" in booked_mail.body
    assert "面接の日時を以下に変更しました。" in changed_mail.body
    assert "以下の面接をキャンセルしました。" in cancelled_mail.body
    assert "https://meet.example.com/abc" in booked_mail.body and URL.search(str(booked_mail.body))
    events = [calendar_of(email) for email in mail.outbox]
    assert [str(cal["method"]) for cal in events] == ["REQUEST", "REQUEST", "CANCEL"]
    uids = {str(cal.walk("VEVENT")[0]["uid"]) for cal in events}
    assert uids == {f"interview-{interview.pk}@{company.public_id}"}
    assert [cal.walk("VEVENT")[0].decoded("sequence") for cal in events] == [0, 1, 2]
    assert events[1].walk("VEVENT")[0].decoded("dtstart") == second.start_at


def test_a_recruiter_cancelling_a_booked_interview_tells_the_candidate(
    company, recruiter, candidate, schedule, django_capture_on_commit_callbacks
):
    interview = booked(candidate, schedule, make_slot(schedule, in_days(3)), django_capture_on_commit_callbacks)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        actions.set_status(interview, Interview.Status.CANCELLED, recruiter)
    [email] = mail.outbox
    assert "以下の面接をキャンセルしました。" in email.body and str(calendar_of(email)["method"]) == "CANCEL"


# ---------------------------------------------------------------------------- reminders


def reminder_count() -> int:
    return Send.objects.filter(kind=Kind.INTERVIEW_REMINDER).count()


def test_the_reminder_goes_the_day_before_at_the_companys_hour_once(
    company, candidate, schedule, django_capture_on_commit_callbacks
):
    interview = booked(candidate, schedule, make_slot(schedule, in_days(2, 15)), django_capture_on_commit_callbacks)
    AutomaticMessageSetting.objects.create(company=company, kind=Kind.INTERVIEW_REMINDER, hour=18)
    mail.outbox.clear()
    with time_machine.travel(in_days(0, 19), tick=False):
        assert reminders.send_due_reminders() == 0  # two days before
    with time_machine.travel(in_days(1, 17).replace(minute=59), tick=False):
        assert reminders.send_due_reminders() == 0  # the day before, before the hour
    with time_machine.travel(in_days(1, 18), tick=False), django_capture_on_commit_callbacks(execute=True):
        assert reminders.send_due_reminders() == 1
        assert reminders.send_due_reminders() == 0
    [email] = mail.outbox
    assert email.subject == "【株式会社テスト】明日の面接のご案内" and not email.attachments
    assert "https://meet.example.com/abc" in email.body
    assert list(Delivery.objects.filter(send__kind=Kind.INTERVIEW_REMINDER).values_list("channel", flat=True)) == [
        Channel.EMAIL
    ]
    assert interview.pk


def test_a_moved_interview_gets_one_reminder_for_its_new_time(
    company, candidate, schedule, django_capture_on_commit_callbacks
):
    first, later = make_slot(schedule, in_days(1, 10)), make_slot(schedule, in_days(1, 16))
    schedule.deadline_days = 0
    schedule.save()
    interview = booked(candidate, schedule, first, django_capture_on_commit_callbacks)
    with time_machine.travel(in_days(0, 11), tick=False):
        assert reminders.send_due_reminders() == 1
        actions.book(interview.request, later.pk)
        assert reminders.send_due_reminders() == 1
        assert reminders.send_due_reminders() == 0
    assert reminder_count() == 2


def test_no_reminder_for_a_cancelled_interview_or_when_turned_off(
    company, recruiter, candidate, schedule, django_capture_on_commit_callbacks
):
    cancelled = booked(candidate, schedule, make_slot(schedule, in_days(1, 10)), django_capture_on_commit_callbacks)
    actions.set_status(cancelled, Interview.Status.CANCELLED, recruiter)
    other = make_candidate(company, email="other@example.com")
    booked(other, schedule, make_slot(schedule, in_days(1, 13)), django_capture_on_commit_callbacks)
    AutomaticMessageSetting.objects.create(company=company, kind=Kind.INTERVIEW_REMINDER, enabled=False)
    with time_machine.travel(in_days(0, 20), tick=False):
        assert reminders.send_due_reminders() == 0
    AutomaticMessageSetting.objects.filter(company=company).update(enabled=True)
    with time_machine.travel(in_days(0, 20), tick=False):
        assert reminders.send_due_reminders() == 1
    assert Send.objects.get(kind=Kind.INTERVIEW_REMINDER).deliveries.get().candidate == other


# ---------------------------------------------------------------------------- placeholders


def test_interview_placeholders_are_refused_for_someone_without_an_interview(
    company, recruiter, candidate, schedule, django_capture_on_commit_callbacks
):
    booked(candidate, schedule, make_slot(schedule, in_days(3)), django_capture_on_commit_callbacks)
    nobody = make_candidate(company, email="none@example.com", last_name="佐藤")
    body = "{{候補者氏名}}様\n{{選考ステップ}}は{{面接日時}}です（{{面接場所}}）。"
    with pytest.raises(ComposeError) as refused:
        scheduling_request(company, recruiter, [candidate, nobody], kind=Kind.BULK, subject="ご案内", body=body)
    assert "{{面接日時}} に差し込む値がない宛先があります（佐藤 花子さん）。" in refused.value.errors["body"]
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        scheduling_request(company, recruiter, [candidate], kind=Kind.BULK, subject="ご案内", body=body)
    [email] = mail.outbox
    assert "面接は" in email.body and "（本社）" in email.body


def test_the_scheduling_url_needs_a_schedule(company, recruiter, candidate):
    with pytest.raises(ComposeError) as refused:
        scheduling_request(company, recruiter, [candidate], kind=Kind.BULK, subject="ご案内")
    assert "{{日程調整URL}} は日程調整を選んだときだけ使えます。" in refused.value.errors["body"]
    with pytest.raises(ComposeError) as refused:
        scheduling_request(company, recruiter, [candidate])
    assert refused.value.errors["schedule"] == ["日程調整を選んでください。"]


def test_an_interviewer_of_another_schedule_cannot_be_double_booked_directly(company, candidate, schedule, recruiter):
    slot = make_slot(schedule, in_days(3, 10))
    actions.book(make_request(candidate, schedule), slot.pk)
    entry = actions.InterviewInput(
        stage=None,
        start_at=in_days(3, 10).replace(minute=30),
        end_at=in_days(3, 11).replace(minute=30),
        place="",
        online_url="",
        interviewers=[recruiter, make_recruiter(company, "second")],
        room=None,
        status=Interview.Status.CONFIRMED,
        note="",
    )
    with pytest.raises(actions.Conflict, match=r"採用 太郎 さんは .* に別の面接が入っているため"):
        actions.register_interview(make_candidate(company, email="x@example.com"), entry, recruiter)
    assert Interview.objects.count() == 1


# ---------------------------------------------------------------------------- reminders to answer


def answer_reminders() -> list[Send]:
    return list(Send.objects.filter(kind=Kind.SCHEDULING_ANSWER_REMINDER).order_by("pk"))


def test_an_unanswered_request_is_reminded_every_n_days_at_most_three_times(
    company, candidate, schedule, django_capture_on_commit_callbacks
):
    make_slot(schedule, in_days(30))
    with time_machine.travel(in_days(0, 9), tick=False):
        make_request(candidate, schedule)
    for day, expected in ((1, 0), (2, 1), (3, 1), (4, 2), (6, 3), (8, 3), (12, 3)):
        with time_machine.travel(in_days(day, 12), tick=False), django_capture_on_commit_callbacks(execute=True):
            reminders.send_answer_reminders()
            reminders.send_answer_reminders()
        assert len(answer_reminders()) == expected, day
    assert len(mail.outbox) == 3
    assert all(URL.search(str(email.body)) for email in mail.outbox)
    assert "まだご回答をいただいておりません" in mail.outbox[0].body
    with time_machine.travel(in_days(2, 22), tick=False):  # never at night
        assert reminders.send_answer_reminders() == 0


def test_no_reminder_once_answered_or_withdrawn_or_without_free_slots(company, candidate, schedule):
    slot = make_slot(schedule, in_days(30))
    with time_machine.travel(in_days(0, 9), tick=False):
        answered = make_request(candidate, schedule)
        withdrawn = make_request(make_candidate(company, email="w@example.com"), schedule)
    actions.book(answered, slot.pk)
    withdrawn.cancelled_at = in_days(0, 10)
    withdrawn.save()
    with time_machine.travel(in_days(3, 12), tick=False):
        assert reminders.send_answer_reminders() == 0
    assert not answer_reminders()
