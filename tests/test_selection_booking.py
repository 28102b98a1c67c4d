"""Booking through the candidate's page: free slots, book, change, cancel, the deadline, a slot
taken meanwhile, and the links that lead nowhere. Every answer is a page, never a 500."""

import pytest
import time_machine
from django.test import Client

from selection import actions
from selection.models import Interview, Slot
from tests.conftest import make_candidate, make_recruiter
from tests.selection_support import in_days, make_request, make_schedule, make_slot, make_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def interviewer(company):
    return make_recruiter(company, "mensetsukan")


@pytest.fixture
def schedule(company, interviewer):
    return make_schedule(company, [interviewer], online_url="https://meet.example.com/abc")


@pytest.fixture
def slots(schedule) -> list[Slot]:
    return [make_slot(schedule, in_days(3, hour)) for hour in (10, 11, 13)]


@pytest.fixture
def page(candidate, schedule) -> str:
    return f"/s/{make_token(make_request(candidate, schedule))}/"


def text(response) -> str:
    return response.content.decode()


def test_the_page_lists_the_free_future_slots_and_books_one(client: Client, candidate, slots, page):
    past = make_slot(slots[0].schedule, in_days(-1, 10))
    shown = client.get(page)
    assert shown.status_code == 200
    body = text(shown)
    assert "山田 花子 様" in body and "ご希望の日時を選んでください" in body
    assert all(f'value="{slot.pk}"' in body for slot in slots) and f'value="{past.pk}"' not in body
    booked = client.post(page, {"slot": slots[1].pk})
    assert booked.status_code == 302 and booked["Location"] == f"{page}?done=booked"
    interview = Interview.objects.get()
    assert (interview.candidate, interview.slot, interview.status) == (candidate, slots[1], "confirmed")
    assert interview.start_at == slots[1].start_at and interview.online_url == "https://meet.example.com/abc"
    after = text(client.get(booked["Location"]))
    assert "面接のご予約が確定しました。" in after and "ご予約中の日時" in after and "予約をキャンセルする" in after


def test_changing_moves_the_interview_and_frees_the_old_slot(client, company, schedule, slots, page):
    client.post(page, {"slot": slots[0].pk})
    changed = client.post(page, {"slot": slots[2].pk})
    assert changed["Location"].endswith("?done=changed")
    interview = Interview.objects.get()
    assert interview.slot == slots[2] and interview.sequence == 1
    other = make_request(make_candidate(company, email="other@example.com"), schedule)
    assert actions.book(other, slots[0].pk).slot == slots[0]  # the old slot is free again


def test_cancelling_frees_the_slot_and_the_candidate_may_book_again(client, company, schedule, slots, page):
    client.post(page, {"slot": slots[0].pk})
    cancelled = client.post(page, {"action": "cancel"})
    assert cancelled["Location"].endswith("?done=cancelled")
    assert Interview.objects.get().status == "cancelled"
    assert f'value="{slots[0].pk}"' in text(client.get(page))
    other = make_request(make_candidate(company, email="other@example.com"), schedule)
    assert actions.book(other, slots[0].pk).slot == slots[0]


def test_a_slot_taken_meanwhile_says_so_and_shows_the_free_ones(client, company, schedule, slots, page):
    actions.book(make_request(make_candidate(company, email="quick@example.com"), schedule), slots[0].pk)
    refused = client.post(page, {"slot": slots[0].pk})
    assert refused.status_code == 409
    body = text(refused)
    assert "ほかの方の予約で埋まってしまいました" in body
    assert f'value="{slots[0].pk}"' not in body and f'value="{slots[1].pk}"' in body
    assert Interview.objects.count() == 1


def test_a_slot_whose_interviewer_is_busy_elsewhere_is_not_offered(client, company, interviewer, slots, page):
    elsewhere = make_schedule(company, [interviewer], name="二次面接")
    overlapping = make_slot(elsewhere, slots[0].start_at)
    actions.book(make_request(make_candidate(company, email="b@example.com"), elsewhere), overlapping.pk)
    assert f'value="{slots[0].pk}"' not in text(client.get(page))
    assert client.post(page, {"slot": slots[0].pk}).status_code == 409


def test_after_the_deadline_the_page_says_whom_to_contact(client, slots, page):
    client.post(page, {"slot": slots[0].pk})
    with time_machine.travel(in_days(2, 23).replace(minute=59, second=59), tick=False):
        assert "予約をキャンセルする" in text(client.get(page))
    with time_machine.travel(in_days(3, 0).replace(minute=0, second=1), tick=False):
        body = text(client.get(page))
        assert "変更・キャンセルの受付は終了しました" in body and "株式会社テスト 採用担当者" in body
        assert "予約をキャンセルする" not in body
        assert client.post(page, {"action": "cancel"}).status_code == 409
        assert client.post(page, {"slot": slots[2].pk}).status_code == 409
    assert Interview.objects.get().slot == slots[0]


def test_nothing_chosen_or_garbage_is_a_message_not_an_error(client, slots, page):
    assert "ご希望の日時を選択してください。" in text(client.post(page, {}))
    assert client.post(page, {"slot": "abc"}).status_code == 400
    assert client.post(page, {"slot": "999999"}).status_code == 409
    assert not Interview.objects.exists()


def test_another_schedules_slot_cannot_be_booked_through_this_link(client, company, interviewer, page):
    foreign = make_slot(make_schedule(company, [interviewer], name="別枠"), in_days(5))
    assert client.post(page, {"slot": foreign.pk}).status_code == 409
    assert not Interview.objects.exists()


def test_unknown_and_withdrawn_links(client, candidate, schedule, slots):
    assert client.get("/s/nothing-here/").status_code == 404
    request = make_request(candidate, schedule)
    page = f"/s/{make_token(request, 'withdrawn')}/"
    request.cancelled_at = in_days(0)
    request.save()
    withdrawn = client.get(page)
    assert withdrawn.status_code == 410 and "この日程調整は終了しました" in text(withdrawn)
    assert client.post(page, {"slot": slots[0].pk}).status_code == 410
    assert not Interview.objects.exists()


def test_an_interviewer_removed_from_the_company_cannot_be_booked(
    client, other_company, interviewer, schedule, slots, page
):
    interviewer.company = other_company
    interviewer.save()
    assert "現在、予約できる日時がありません。" in text(client.get(page))
    assert client.post(page, {"slot": slots[0].pk}).status_code == 409
    assert not Interview.objects.exists()


def test_a_double_tap_books_once(client, slots, page):
    client.post(page, {"slot": slots[0].pk})
    client.post(page, {"slot": slots[0].pk})
    assert Interview.objects.count() == 1 and Interview.objects.get().sequence == 0


def test_the_page_is_not_cached_and_not_indexed(client, page):
    response = client.get(page)
    assert "no-store" in response["Cache-Control"] and response["X-Robots-Tag"] == "noindex, nofollow"


def test_a_room_shared_by_two_schedules_is_booked_once_at_a_time(company):
    from selection.models import Room

    room = Room.objects.create(company=company, name="会議室A")
    first = make_schedule(company, [make_recruiter(company, "a")], name="一次面接", room=room)
    second = make_schedule(company, [make_recruiter(company, "b")], name="二次面接", room=room)
    slot_a, slot_b = make_slot(first, in_days(3, 10)), make_slot(second, in_days(3, 10).replace(minute=30))
    actions.book(make_request(make_candidate(company, email="a@example.com"), first), slot_a.pk)
    with pytest.raises(actions.Refused):
        actions.book(make_request(make_candidate(company, email="b@example.com"), second), slot_b.pk)
    assert Interview.objects.count() == 1


def test_the_token_is_masked_in_the_request_log():
    import logging

    from selection.public_views import redact_scheduling_tokens

    record = logging.LogRecord("django.request", logging.WARNING, "", 0, "Not Found: %s", ("/s/secret-token/",), None)
    redact_scheduling_tokens.filter(record)
    assert record.getMessage() == "Not Found: /s/…/"
