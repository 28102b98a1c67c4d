"""What events say through messaging: the confirmation email (with its calendar file) on
apply, change and cancel; the day-before reminder, once; イベント案内 and participants'
messages from the compose screen, with a personal link and LINE when switched on."""

import re

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.test import Client
from icalendar import Calendar

from events import actions, reminders
from events.links import date_text
from events.models import Application, EventLink
from hrmos.personal_links import hash_token
from messaging.models import AutomaticMessageSetting, Channel, Delivery, Kind, Send
from messaging.sending import compose
from messaging.sending.compose import Draft
from tests.conftest import make_candidate
from tests.events_support import add_date, local, make_event

pytestmark = pytest.mark.django_db

URL = re.compile(re.escape(settings.SITE_URL) + r"/e/([A-Za-z0-9_-]+)/")


def calendar_of(email) -> Calendar:
    [(name, content, mimetype)] = email.attachments
    assert name.endswith(".ics") and mimetype.startswith("text/calendar")
    return Calendar.from_ical(content)


def test_applying_sends_the_confirmation_email_with_the_date_and_a_calendar_file(
    company, candidate, django_capture_on_commit_callbacks
):
    event = make_event(company)
    date = event.dates.get()
    with django_capture_on_commit_callbacks(execute=True):
        actions.apply(date, candidate, Application.Source.PERSONAL)
    [email] = mail.outbox
    assert email.subject == "【株式会社テスト】会社説明会 お申し込み内容のご連絡"
    assert "以下の日程でお申し込みを受け付けました。" in email.body
    assert "本社 10階" in email.body and "筆記用具" in email.body
    [token] = URL.findall(str(email.body))
    assert EventLink.objects.get().token_hash == hash_token(token)
    calendar = calendar_of(email)
    assert str(calendar["method"]) == "REQUEST"
    [vevent] = calendar.walk("VEVENT")
    assert vevent.decoded("dtstart") == date.starts_at
    assert Send.objects.get().kind == Kind.EVENT_APPLICATION_CONFIRMATION


def test_a_change_and_a_cancel_each_send_their_own_confirmation(company, candidate, django_capture_on_commit_callbacks):
    event = make_event(company, dates=2)
    first, second = event.dates.order_by("starts_at")
    with django_capture_on_commit_callbacks(execute=True):
        application = actions.apply(first, candidate, Application.Source.PERSONAL)
        application = actions.change_date(application, second)
        actions.cancel(application)
    applied, changed, cancelled = mail.outbox
    assert "日程を以下に変更しました" in changed.body
    assert "キャンセルしました" in cancelled.body
    assert str(calendar_of(changed)["method"]) == "REQUEST"
    assert str(calendar_of(cancelled)["method"]) == "CANCEL"
    sequences = [calendar_of(email).walk("VEVENT")[0].decoded("sequence") for email in (applied, changed, cancelled)]
    assert sequences == sorted(sequences) and len(set(sequences)) == 3


def test_a_line_friend_gets_the_confirmation_by_email_only(
    linked_company, line_friend_candidate, line_emulator, line_pair, django_capture_on_commit_callbacks
):
    event = make_event(linked_company)
    with django_capture_on_commit_callbacks(execute=True):
        actions.apply(event.dates.get(), line_friend_candidate, Application.Source.PERSONAL)
    send = Send.objects.get()
    assert not send.send_line
    assert list(Delivery.objects.filter(send=send).values_list("channel", flat=True)) == [Channel.EMAIL]
    assert line_emulator.outbox(line_pair.messaging_channel_id) == []


# ---------------------------------------------------------------------------- reminders


def tomorrow_event(company, candidate):
    event = make_event(company, days=1)
    with time_machine.travel(local(0, 8)):
        application = actions.apply(event.dates.get(), candidate, Application.Source.PERSONAL)
    return event, application


def reminders_sent() -> int:
    return Delivery.objects.filter(send__kind=Kind.EVENT_REMINDER).count()


def test_the_reminder_goes_at_the_companys_hour_the_day_before_once(company, candidate):
    tomorrow_event(company, candidate)
    with time_machine.travel(local(0, 9, 59)):
        assert reminders.send_due_reminders() == 0
    with time_machine.travel(local(0, 10, 0)):
        assert reminders.send_due_reminders() == 1
        assert reminders.send_due_reminders() == 0
    with time_machine.travel(local(0, 18)):
        assert reminders.send_due_reminders() == 0
    assert reminders_sent() == 1
    send = Send.objects.get(kind=Kind.EVENT_REMINDER)
    assert not send.send_line


def test_one_tick_sends_one_reminder_per_date_each_with_the_candidates_own_date(
    recruiter_client, company, django_capture_on_commit_callbacks
):
    event = make_event(company, days=1)
    afternoon = event.dates.get()
    evening = add_date(event, local(1, 18))
    people = [make_candidate(company, last_name=f"佐藤{n}", email=f"sato{n}@example.com") for n in range(3)]
    with time_machine.travel(local(0, 8)):
        for person, date in zip(people, (afternoon, afternoon, evening), strict=True):
            actions.apply(date, person, Application.Source.PERSONAL)
    with time_machine.travel(local(0, 10)), django_capture_on_commit_callbacks(execute=True):
        assert reminders.send_due_reminders() == 3
    assert Send.objects.filter(kind=Kind.EVENT_REMINDER).count() == 2
    reminded = {email.body.splitlines()[0]: email.body for email in mail.outbox if "明日は" in email.subject}
    assert len(reminded) == 3
    assert date_text(afternoon) in reminded["佐藤0 花子 様"] and date_text(afternoon) in reminded["佐藤1 花子 様"]
    assert date_text(evening) in reminded["佐藤2 花子 様"] and date_text(afternoon) not in reminded["佐藤2 花子 様"]
    timeline = recruiter_client.get(f"/messages/candidates/{people[2].pk}/timeline/").content.decode()
    assert "自動送信" in timeline and date_text(evening) in timeline


def test_the_reminder_hour_is_the_companys(company, candidate):
    AutomaticMessageSetting.objects.create(company=company, kind=Kind.EVENT_REMINDER, subject="", body="", hour=15)
    tomorrow_event(company, candidate)
    with time_machine.travel(local(0, 14)):
        assert reminders.send_due_reminders() == 0
    with time_machine.travel(local(0, 15)):
        assert reminders.send_due_reminders() == 1


def test_no_reminder_for_an_application_cancelled_before_the_tick(company, candidate):
    _event, application = tomorrow_event(company, candidate)
    with time_machine.travel(local(0, 9)):
        actions.cancel(application)
    with time_machine.travel(local(0, 10)):
        assert reminders.send_due_reminders() == 0
    assert reminders_sent() == 0


def test_no_reminder_for_a_cancelled_date_or_when_turned_off(company, candidate, recruiter):
    event, _application = tomorrow_event(company, candidate)
    other = make_candidate(company, email="other@example.com")
    quiet = make_event(company, days=1, title="座談会", reminder_enabled=False)
    with time_machine.travel(local(0, 8)):
        actions.apply(quiet.dates.get(), other, Application.Source.PERSONAL)
        actions.cancel_date(event.dates.get(), recruiter, local(0, 8))
    with time_machine.travel(local(0, 10)):
        assert reminders.send_due_reminders() == 0


def test_a_moved_application_gets_the_reminder_for_its_new_date(company, candidate):
    event = make_event(company, days=1, dates=2)
    first, second = event.dates.order_by("starts_at")
    with time_machine.travel(local(0, 8)):
        application = actions.apply(first, candidate, Application.Source.PERSONAL)
    with time_machine.travel(local(0, 10)):
        assert reminders.send_due_reminders() == 1
        application = actions.change_date(application, second, by_recruiter=True)
    with time_machine.travel(local(1, 10)):
        assert reminders.send_due_reminders() == 1
    assert reminders_sent() == 2


def test_the_tick_task_sends_due_reminders(company, candidate):
    from events.tasks import send_reminders

    tomorrow_event(company, candidate)
    with time_machine.travel(local(0, 11)):
        assert send_reminders.delay().get() == 1


# ---------------------------------------------------------------------------- compose kinds

INVITE = "/messages/compose/?kind=event_invitation"


def test_the_candidate_list_and_page_offer_the_event_invitation(recruiter_client, candidate):
    assert f'formaction="{INVITE}"' in recruiter_client.get("/candidates/").content.decode()
    page = recruiter_client.get(f"/candidates/{candidate.pk}/").content.decode()
    assert f'href="/messages/compose/candidate/{candidate.pk}/?kind=event_invitation"' in page
    assert f'href="/events/candidates/{candidate.pk}/book/"' in page


def test_the_invitation_compose_screen_asks_which_event(recruiter_client, company, candidate):
    event = make_event(company)
    hidden = make_event(company, title="非公開の説明会", is_published=False)
    page = recruiter_client.post(INVITE, {"ids": [candidate.pk]}).content.decode()
    assert "イベント案内" in page and f'<option value="{event.pk}">会社説明会</option>' in page
    assert f'<option value="{hidden.pk}">' not in page
    assert "{{イベント申込URL}}" in page


def test_an_invitation_by_email_and_line_carries_a_personal_link_that_applies(
    linked_company, recruiter, line_friend_candidate, line_emulator, line_pair, django_capture_on_commit_callbacks
):
    event = make_event(linked_company)
    draft = Draft(
        kind=Kind.EVENT_INVITATION,
        subject="{{イベント名}}のご案内",
        body="{{候補者氏名}}様\n{{開催日時}}\n{{イベント申込URL}}",
        send_line=True,
        context={"event": event.pk},
    )
    with django_capture_on_commit_callbacks(execute=True):
        compose.create_send(draft, company=linked_company, user=recruiter, candidates=[line_friend_candidate.pk])
    line = Delivery.objects.get(channel=Channel.LINE)
    assert line.status == "sent"
    [entry] = line_emulator.outbox(line_pair.messaging_channel_id)
    [token] = URL.findall(entry["messages"][0]["text"])
    phone = Client()
    with django_capture_on_commit_callbacks(execute=True):
        phone.post(f"/e/{token}/", {"action": "apply", "date": event.dates.get().pk})
    assert Application.objects.get().candidate == line_friend_candidate
    confirmation = Send.objects.get(kind=Kind.EVENT_APPLICATION_CONFIRMATION)
    assert list(Delivery.objects.filter(send=confirmation).values_list("channel", flat=True)) == [Channel.EMAIL]


def test_participants_messages_go_to_the_chosen_date_and_status_with_line(
    recruiter_client, linked_company, recruiter, line_friend_candidate, django_capture_on_commit_callbacks
):
    event = make_event(linked_company, dates=2)
    first, second = event.dates.order_by("starts_at")
    attended = actions.apply(first, line_friend_candidate, Application.Source.PERSONAL)
    actions.set_attendance([attended], Application.Status.ATTENDED, recruiter)
    actions.apply(first, make_candidate(linked_company, email="absent@example.com"), Application.Source.PERSONAL)
    actions.apply(second, make_candidate(linked_company, email="second@example.com"), Application.Source.PERSONAL)
    handoff = recruiter_client.get(f"/events/{event.pk}/message/?date={first.pk}&status=attended")
    assert handoff.status_code == 302 and "kind=event_message" in handoff["Location"]
    page = recruiter_client.get(handoff["Location"]).content.decode()
    assert "1名" in page and f'<option value="{event.pk}" selected>' in page
    posted = recruiter_client.post(
        handoff["Location"],
        {
            "compose": "1",
            "kind": Kind.EVENT_MESSAGE,
            "all_matching": "1",
            "query": f"event=d{first.pk}&event_status=attended",
            "about": event.pk,
            "subject": "{{イベント名}}へのご参加ありがとうございました",
            "body": "{{候補者氏名}}様\nアンケートにご協力ください。",
            "send_line": "on",
            "timing": "now",
        },
    )
    assert posted.status_code == 302
    send = Send.objects.get(kind=Kind.EVENT_MESSAGE)
    assert send.send_line and send.context == {"event": event.pk}
    recipients = set(Delivery.objects.filter(send=send).values_list("candidate_id", "channel"))
    assert recipients == {(line_friend_candidate.pk, Channel.EMAIL), (line_friend_candidate.pk, Channel.LINE)}


# ---------------------------------------------------------------------------- per-event texts


def test_an_events_own_confirmation_text_is_used(company, candidate, django_capture_on_commit_callbacks):
    event = make_event(
        company, confirmation_subject="{{イベント名}}：受付完了", confirmation_body="{{申込状況}}\n{{開催日時}}"
    )
    with django_capture_on_commit_callbacks(execute=True):
        actions.apply(event.dates.get(), candidate, Application.Source.PERSONAL)
    [email] = mail.outbox
    assert email.subject == "会社説明会：受付完了"
    assert email.body.startswith("以下の日程でお申し込みを受け付けました。\n")


def test_an_events_own_reminder_text_is_used(company, candidate):
    event = make_event(company, days=1, reminder_subject="明日です", reminder_body="{{会場}}でお待ちしています。")
    with time_machine.travel(local(0, 8)):
        actions.apply(event.dates.get(), candidate, Application.Source.PERSONAL)
    with time_machine.travel(local(0, 10)):
        reminders.send_due_reminders()
    send = Send.objects.get(kind=Kind.EVENT_REMINDER)
    assert (send.subject, send.body) == ("明日です", "{{会場}}でお待ちしています。")


def test_an_events_text_with_a_placeholder_it_cannot_fill_is_refused(recruiter_client, company):
    event = make_event(company)
    date = event.dates.get()
    page = recruiter_client.post(
        f"/events/{event.pk}/edit/",
        {
            "title": "会社説明会",
            "reminder_body": "{{申込状況}} {{フォームURL}}",
            "dates-TOTAL_FORMS": "1",
            "dates-INITIAL_FORMS": "1",
            "dates-0-pk": date.pk,
            "dates-0-starts_at": local(7, 14).strftime("%Y-%m-%dT%H:%M"),
            "dates-0-ends_at": local(7, 16).strftime("%Y-%m-%dT%H:%M"),
            "dates-0-capacity": "10",
        },
    )
    body = page.content.decode()
    assert (
        "{{申込状況}} はこのメールでは使えません。" in body and "{{フォームURL}} はこのメールでは使えません。" in body
    )
    event.refresh_from_db()
    assert event.reminder_body == ""


def test_the_event_page_previews_its_automatic_emails(recruiter_client, company):
    event = make_event(company)
    page = recruiter_client.get(f"/events/{event.pk}/").content.decode()
    assert "【株式会社テスト】会社説明会 お申し込み内容のご連絡" in page
    assert "【株式会社テスト】明日は会社説明会です" in page and "（イベント申込URL）" in page


def test_the_confirmation_shows_on_the_candidates_timeline_as_automatic(
    recruiter_client, company, candidate, django_capture_on_commit_callbacks
):
    event = make_event(company)
    with django_capture_on_commit_callbacks(execute=True):
        actions.apply(event.dates.get(), candidate, Application.Source.PERSONAL)
    page = recruiter_client.get(f"/messages/candidates/{candidate.pk}/timeline/").content.decode()
    assert "会社説明会 お申し込み内容のご連絡" in page and "自動送信" in page
