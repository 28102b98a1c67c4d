"""The candidate's pages: the personal link (apply, change date, cancel) and the event's
public page, and what each refuses, in words a candidate understands."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from candidates.models import Candidate
from events.models import Application, EventDate
from tests.conftest import make_candidate
from tests.events_support import add_date, local, make_event, personal_path

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return response.content.decode()


def seats(date: EventDate) -> int:
    date.refresh_from_db()
    return date.taken


def test_the_personal_page_shows_the_event_and_its_dates_with_remaining_seats(client, company, candidate):
    event = make_event(company, dates=2, capacity=5)
    page = client.get(personal_path(candidate, event))
    assert page.status_code == 200
    assert "会社説明会" in text(page) and "残り5席" in text(page)
    assert page["X-Robots-Tag"] == "noindex, nofollow"


def test_a_candidate_applies_changes_date_and_cancels_through_the_link(client, company, candidate):
    event = make_event(company, dates=2)
    first, second = event.dates.order_by("starts_at")
    path = personal_path(candidate, event)

    page = client.post(path, {"action": "apply", "date": first.pk}, follow=True)
    assert "お申し込みを受け付けました" in text(page)
    assert "山田 花子 様のお申し込み" in text(page)
    assert seats(first) == 1

    page = client.post(path, {"action": "change", "date": second.pk}, follow=True)
    assert "日程を変更しました" in text(page)
    assert (seats(first), seats(second)) == (0, 1)
    assert Application.objects.get().date == second

    page = client.post(path, {"action": "cancel"}, follow=True)
    assert "キャンセルしました" in text(page)
    assert seats(second) == 0
    assert Application.objects.get().status == Application.Status.CANCELLED
    assert "キャンセル済み" in text(page)


def test_a_full_date_shows_full_and_refuses(client, company, candidate):
    event = make_event(company, capacity=1)
    date = event.dates.get()
    other = make_candidate(company, email="other@example.com")
    client.post(personal_path(other, event), {"action": "apply", "date": date.pk})
    path = personal_path(candidate, event)
    assert "満席" in text(client.get(path))
    refused = client.post(path, {"action": "apply", "date": date.pk})
    assert refused.status_code == 409
    assert "この日程は満席です" in text(refused)
    assert seats(date) == 1


def test_after_the_deadline_the_date_shows_closed_and_refuses(client, company, candidate):
    event = make_event(company, dates=2)
    first = event.dates.order_by("starts_at").first()
    EventDate.objects.filter(pk=first.pk).update(application_deadline=timezone.now() - timedelta(minutes=1))
    path = personal_path(candidate, event)
    assert "受付終了" in text(client.get(path))
    refused = client.post(path, {"action": "apply", "date": first.pk})
    assert "この日程の申込受付は終了しました" in text(refused)
    assert not Application.objects.exists()


def test_a_cancelled_date_refuses(client, company, candidate):
    event = make_event(company, dates=2)
    first = event.dates.order_by("starts_at").first()
    EventDate.objects.filter(pk=first.pk).update(cancelled_at=timezone.now())
    refused = client.post(personal_path(candidate, event), {"action": "apply", "date": first.pk})
    assert "開催中止" in text(refused)
    assert not Application.objects.exists()


def test_applying_twice_holds_one_seat(client, company, candidate):
    event = make_event(company, dates=2)
    first, second = event.dates.order_by("starts_at")
    path = personal_path(candidate, event)
    client.post(path, {"action": "apply", "date": first.pk})
    refused = client.post(path, {"action": "apply", "date": second.pk})
    assert "すでにこのイベントにお申し込み済みです" in text(refused)
    assert (seats(first), seats(second)) == (1, 0)


def test_cancelling_after_the_cancel_deadline_is_refused(client, company, candidate):
    event = make_event(company)
    date = event.dates.get()
    path = personal_path(candidate, event)
    client.post(path, {"action": "apply", "date": date.pk})
    EventDate.objects.filter(pk=date.pk).update(cancel_deadline=timezone.now() - timedelta(minutes=1))
    page = client.get(path)
    assert "受付期限を過ぎました" in text(page)
    refused = client.post(path, {"action": "cancel"})
    assert "キャンセルの受付期限を過ぎています" in text(refused)
    assert Application.objects.get().status == Application.Status.APPLIED


def test_a_tampered_or_foreign_token_shows_the_invalid_page(client, company, candidate):
    event = make_event(company)
    path = personal_path(candidate, event)
    assert client.get(path[:-3] + "x/").status_code == 404
    assert "このURLは無効です" in text(client.get("/e/" + "a" * 500 + "/"))


def test_the_link_expires_after_the_events_last_deadline(client, company, candidate):
    event = make_event(company)
    path = personal_path(candidate, event)
    with time_machine.travel(local(30, 10)):
        page = client.get(path)
    assert page.status_code == 410
    assert "受付は終了しました" in text(page)


def test_posting_a_date_of_another_event_is_refused(client, company, candidate):
    event, other = make_event(company), make_event(company, title="座談会")
    refused = client.post(personal_path(candidate, event), {"action": "apply", "date": other.dates.get().pk})
    assert "日程を選んでください" in text(refused)
    assert not Application.objects.exists()


# ---------------------------------------------------------------------------- public page

FORM = {
    "last_name": "佐藤",
    "first_name": "一郎",
    "last_name_kana": "サトウ",
    "first_name_kana": "イチロウ",
    "email": "Ichiro@Example.com",
    "university": "京都大学",
    "graduation_year": "2027",
}


def public_path(event) -> str:
    return f"/e/p/{event.public_id}/"


def test_the_public_page_creates_a_new_candidate_at_entry(client, company):
    event = make_event(company)
    date = event.dates.get()
    page = client.post(public_path(event), {**FORM, "date": date.pk}, follow=True)
    assert "お申し込みを受け付けました" in text(page)
    candidate = Candidate.objects.get(email="ichiro@example.com")
    assert candidate.stage.name == "エントリー"
    application = Application.objects.get(candidate=candidate)
    assert (application.source, application.created_candidate) == (Application.Source.PUBLIC, True)
    assert seats(date) == 1


def test_a_known_email_applies_as_that_candidate_and_the_page_says_the_same(client, company, candidate):
    event = make_event(company)
    date = event.dates.get()
    page = client.post(public_path(event), {**FORM, "email": "hanako@example.com", "date": date.pk}, follow=True)
    assert "お申し込みを受け付けました" in text(page)
    assert Candidate.objects.count() == 1
    candidate.refresh_from_db()
    assert candidate.last_name == "山田"  # what a stranger typed changes nothing
    assert Application.objects.get().candidate == candidate


def test_a_known_email_that_already_holds_a_seat_sees_the_same_page_and_nothing_changes(client, company, candidate):
    event = make_event(company, dates=2)
    first, second = event.dates.order_by("starts_at")
    client.post(personal_path(candidate, event), {"action": "apply", "date": first.pk})
    mail.outbox.clear()
    page = client.post(public_path(event), {**FORM, "email": "hanako@example.com", "date": second.pk}, follow=True)
    assert "お申し込みを受け付けました" in text(page)
    assert (seats(first), seats(second)) == (1, 0)


def test_the_public_form_says_what_is_missing(client, company):
    event = make_event(company)
    page = client.post(public_path(event), {"email": "not-an-email", "first_name": "\x00"})
    assert page.status_code == 400
    body = text(page)
    assert "姓を入力してください" in body and "メールアドレスの形式が正しくありません" in body
    assert "参加する日程を選んでください" in body
    assert not Candidate.objects.exists()


def test_a_full_date_on_the_public_page_creates_no_candidate(client, company, candidate):
    event = make_event(company, capacity=1)
    date = event.dates.get()
    client.post(personal_path(candidate, event), {"action": "apply", "date": date.pk})
    refused = client.post(public_path(event), {**FORM, "date": date.pk})
    assert "満席" in text(refused)
    assert Candidate.objects.count() == 1


def test_the_public_page_is_throttled_per_address(client, company):
    event = make_event(company, capacity=100)
    date = event.dates.get()
    for number in range(20):
        client.post(public_path(event), {**FORM, "email": f"p{number}@example.com", "date": date.pk})
    refused = client.post(public_path(event), {**FORM, "email": "late@example.com", "date": date.pk})
    assert refused.status_code == 429
    assert "しばらく時間をおいてから" in text(refused)
    assert not Candidate.objects.filter(email="late@example.com").exists()


def test_an_unpublished_event_has_no_public_page(client, company):
    event = make_event(company, is_published=False)
    page = client.get(public_path(event))
    assert page.status_code == 404
    assert "公開されていません" in text(page)


def test_a_date_in_the_past_is_not_offered(client, company):
    event = make_event(company)
    add_date(event, local(-1, 10))
    page = client.get(public_path(event))
    assert text(page).count("data-date-option") == 1


def test_an_unpublished_events_personal_page_takes_no_application(client, company, candidate):
    event = make_event(company, is_published=False)
    path = personal_path(candidate, event)
    assert "受付終了" in text(client.get(path))
    refused = client.post(path, {"action": "apply", "date": event.dates.get().pk})
    assert "この日程の申込受付は終了しました" in text(refused)
    assert not Application.objects.exists()
