"""The recruiter's screens: the 選考 tab with 「面接を登録」, the interview list, schedules
with slots on a week view (one, in bulk, delete free ones), the scheduling request on the
compose screen, and the demo seed."""

from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from hrmos.models import Company
from selection import actions
from selection.models import Interview, Schedule, Slot
from tests.conftest import make_candidate, make_recruiter
from tests.selection_support import in_days, make_request, make_schedule, make_slot

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return response.content.decode()


@pytest.fixture
def schedule(company, recruiter):
    return make_schedule(company, [recruiter])


def interview_post(**fields) -> dict:
    data = {
        "start_at": in_days(2, 14).strftime("%Y-%m-%dT%H:%M"),
        "end_at": in_days(2, 15).strftime("%Y-%m-%dT%H:%M"),
        "status": "confirmed",
        "place": "本社 3F",
    }
    data.update(fields)
    return data


def test_the_selection_tab_registers_an_interview_and_shows_the_history(recruiter_client, recruiter, candidate):
    tab = f"/selection/candidates/{candidate.pk}/"
    assert "面接の履歴はまだありません。" in text(recruiter_client.get(tab))
    response = recruiter_client.post(f"{tab}interviews/new/", interview_post(interviewers=[recruiter.pk]))
    assert response.status_code == 302 and response["Location"] == tab
    page = text(recruiter_client.get(tab))
    assert "確定" in page and "本社 3F" in page and "採用 太郎" in page and "実施済みにする" in page
    interview = Interview.objects.get()
    assert list(interview.interviewers.all()) == [recruiter] and interview.created_by == recruiter


def test_registering_over_a_busy_interviewer_or_backwards_is_refused(recruiter_client, recruiter, company, candidate):
    url = f"/selection/candidates/{candidate.pk}/interviews/new/"
    recruiter_client.post(url, interview_post(interviewers=[recruiter.pk]))
    other = make_candidate(company, email="o@example.com")
    busy = recruiter_client.post(
        f"/selection/candidates/{other.pk}/interviews/new/", interview_post(interviewers=[recruiter.pk])
    )
    assert busy.status_code == 200 and "採用 太郎 さんは" in text(busy) and "別の面接が入っているため" in text(busy)
    backwards = recruiter_client.post(url, interview_post(end_at=in_days(2, 13).strftime("%Y-%m-%dT%H:%M")))
    assert "終了は開始より後の時刻にしてください。" in text(backwards)
    assert Interview.objects.count() == 1


def test_an_interviewer_of_another_company_is_not_offered(recruiter_client, other_company_recruiter, candidate):
    url = f"/selection/candidates/{candidate.pk}/interviews/new/"
    response = recruiter_client.post(url, interview_post(interviewers=[other_company_recruiter.pk]))
    assert "有効な選択肢を指定してください" in text(response) or "正しく選択してください" in text(response)
    assert not Interview.objects.exists()


def test_marking_done_and_cancelling(recruiter_client, recruiter, candidate):
    recruiter_client.post(
        f"/selection/candidates/{candidate.pk}/interviews/new/", interview_post(interviewers=[recruiter.pk])
    )
    interview = Interview.objects.get()
    recruiter_client.post(f"/selection/interviews/{interview.pk}/status/", {"status": "cancelled"})
    interview.refresh_from_db()
    assert interview.status == "cancelled" and not interview.bookings.exists()
    response = recruiter_client.post(f"/selection/interviews/{interview.pk}/status/", {"status": "nonsense"})
    assert response.status_code == 302


def test_the_interview_list_shows_today_and_this_week_by_interviewer(recruiter_client, company, recruiter):
    colleague = make_recruiter(company, "colleague")
    today = timezone.localdate()
    for name, person, day in (("今日", recruiter, 0), ("同僚", colleague, 0), ("来週", recruiter, 7 - today.weekday())):
        candidate = make_candidate(company, email=f"{name}@example.com", last_name=name)
        start = in_days(day, 23) if day == 0 else in_days(day, 10)
        entry = actions.InterviewInput(
            None, start, start + timedelta(minutes=30), "", "", [person], None, "confirmed", ""
        )
        actions.register_interview(candidate, entry, recruiter)
    listed = text(recruiter_client.get("/selection/"))
    assert "今日 花子" in listed and "同僚 花子" in listed and "来週 花子" not in listed
    mine = text(recruiter_client.get(f"/selection/?period=today&interviewer={recruiter.pk}"))
    assert "今日 花子" in mine and "同僚 花子" not in mine
    assert "来週 花子" in text(recruiter_client.get("/selection/?period=upcoming"))
    assert recruiter_client.get("/selection/?interviewer=abc&period=zzz").status_code == 200


def test_creating_a_schedule_needs_an_interviewer_or_a_room(recruiter_client, recruiter):
    refused = recruiter_client.post("/selection/schedules/new/", {"name": "一次面接", "duration_minutes": 60})
    assert "面接官か会議室のどちらかを指定してください" in text(refused)
    created = recruiter_client.post(
        "/selection/schedules/new/",
        {
            "name": "一次面接",
            "duration_minutes": 45,
            "interviewers": [recruiter.pk],
            "deadline_days": 1,
            "reminder_days": 2,
        },
    )
    schedule = Schedule.objects.get()
    assert created["Location"] == f"/selection/schedules/{schedule.pk}/"
    assert list(schedule.interviewers.all()) == [recruiter]


def next_monday() -> date:
    today = timezone.localdate()
    return today + timedelta(days=7 - today.weekday())


def bulk(client, schedule, **fields):
    monday = next_monday()
    data = {
        "first_day": monday.isoformat(),
        "last_day": (monday + timedelta(days=6)).isoformat(),
        "weekdays": ["0", "2"],
        "day_start": "10:00",
        "day_end": "12:30",
        "minutes": "60",
    }
    data.update(fields)
    return client.post(f"/selection/schedules/{schedule.pk}/slots/bulk/", data)


def test_bulk_slots_skip_overlaps_and_refuse_absurd_requests(recruiter_client, schedule):
    make_slot(schedule, in_days((next_monday() - timezone.localdate()).days, 10).replace(minute=30))
    response = bulk(recruiter_client, schedule)
    assert response.status_code == 302
    assert Slot.objects.filter(schedule=schedule).count() == 1 + 2  # Monday's two overlap 10:30; Wednesday's two
    page = text(recruiter_client.get(response["Location"]))
    assert "面接枠を2件追加しました（重複・過去の2枠はスキップ）。" in page
    huge = bulk(
        recruiter_client,
        schedule,
        last_day=(next_monday() + timedelta(days=400)).isoformat(),
        minutes="5",
        weekdays=[str(d) for d in range(7)],
        day_start="00:00",
        day_end="23:55",
    )
    assert huge.status_code == 400 and "一度に作成できる面接枠は500件までです。" in text(huge)
    backwards = bulk(recruiter_client, schedule, day_start="12:00", day_end="10:00")
    assert "時間帯の終了は開始より後にしてください。" in text(backwards)
    assert Slot.objects.filter(schedule=schedule).count() == 3


def test_one_slot_at_a_time_and_the_week_view_shows_who_booked(recruiter_client, company, schedule):
    url = f"/selection/schedules/{schedule.pk}/slots/new/"
    past = recruiter_client.post(url, {"start_at": in_days(-1).strftime("%Y-%m-%dT%H:%M")})
    assert past.status_code == 400 and "過去の日時には面接枠を作成できません。" in text(past)
    start = in_days(1, 15)
    assert recruiter_client.post(url, {"start_at": start.strftime("%Y-%m-%dT%H:%M")}).status_code == 302
    overlap = recruiter_client.post(url, {"start_at": start.replace(minute=30).strftime("%Y-%m-%dT%H:%M")})
    assert "同じ時間帯に重なる面接枠がすでにあります。" in text(overlap)
    slot = Slot.objects.get()
    actions.book(make_request(make_candidate(company, last_name="予約"), schedule), slot.pk)
    week = timezone.localdate(start).isoformat()
    view = text(recruiter_client.get(f"/selection/schedules/{schedule.pk}/?week={week}"))
    assert "予約 花子" in view and "15:00〜16:00" in view


def test_free_slots_can_be_deleted_booked_ones_cannot(recruiter_client, company, schedule):
    free, taken = make_slot(schedule, in_days(3, 10)), make_slot(schedule, in_days(3, 11))
    actions.book(make_request(make_candidate(company), schedule), taken.pk)
    recruiter_client.post(f"/selection/schedules/{schedule.pk}/slots/{free.pk}/delete/")
    refused = recruiter_client.post(f"/selection/schedules/{schedule.pk}/slots/{taken.pk}/delete/", follow=True)
    assert "予約済みの面接枠は削除できません。" in text(refused)
    assert list(Slot.objects.all()) == [taken]


def test_the_compose_screen_offers_the_schedule_and_the_line_switch(recruiter_client, candidate, schedule):
    page = text(recruiter_client.get(f"/messages/compose/candidate/{candidate.pk}/?kind=scheduling_request"))
    assert "日程調整のご依頼" in page and "一次面接" in page and "{{日程調整URL}}" in page
    assert 'name="send_line"' in page


def test_the_candidate_page_has_the_tab_and_the_request_action(recruiter_client, candidate):
    page = text(recruiter_client.get(f"/candidates/{candidate.pk}/"))
    assert f"/selection/candidates/{candidate.pk}/" in page and "日程調整を依頼" in page
    assert "?kind=scheduling_request" in page


def test_the_demo_has_a_schedule_with_slots_and_interviews():
    call_command("seed_demo", stdout=StringIO())
    company = Company.objects.get(name="株式会社デモ商事")
    schedule = Schedule.objects.get(company=company)
    assert schedule.interviewers.count() == 2 and schedule.slots.exists()
    assert Interview.objects.filter(company=company, status="confirmed").count() == 3
    call_command("seed_demo", stdout=StringIO())
    assert Schedule.objects.filter(company=company).count() == 1


def test_withdrawing_a_request_ends_its_link(recruiter_client, client, candidate, schedule):
    from tests.selection_support import make_token

    request = make_request(candidate, schedule)
    token = make_token(request)
    tab = text(recruiter_client.get(f"/selection/candidates/{candidate.pk}/"))
    assert "「一次面接」の日程調整を依頼中" in tab
    recruiter_client.post(f"/selection/requests/{request.pk}/withdraw/")
    request.refresh_from_db()
    assert request.cancelled_at is not None
    assert "この日程調整は終了しました" in text(client.get(f"/s/{token}/"))
    assert "依頼中" not in text(recruiter_client.get(f"/selection/candidates/{candidate.pk}/"))


def test_an_ended_schedule_is_no_longer_offered(recruiter_client, candidate, schedule):
    recruiter_client.post(f"/selection/schedules/{schedule.pk}/archive/")
    schedule.refresh_from_db()
    assert schedule.archived_at is not None
    listed = text(recruiter_client.get("/selection/schedules/"))
    assert "「一次面接」を終了しました。" in listed and f'/selection/schedules/{schedule.pk}/"' not in listed
    page = text(recruiter_client.get(f"/messages/compose/candidate/{candidate.pk}/?kind=scheduling_request"))
    assert f'value="{schedule.pk}"' not in page


def test_editing_a_booked_interview_moves_it_off_its_slot_and_tells_the_candidate(
    recruiter_client, recruiter, company, candidate, schedule, django_capture_on_commit_callbacks
):
    from django.core import mail

    slot = make_slot(schedule, in_days(3, 10))
    with django_capture_on_commit_callbacks(execute=True):
        interview = actions.book(make_request(candidate, schedule), slot.pk)
    mail.outbox.clear()
    url = f"/selection/interviews/{interview.pk}/edit/"
    assert "日時を変えると予約していた面接枠は空きに戻り" in text(recruiter_client.get(url))
    with django_capture_on_commit_callbacks(execute=True):
        response = recruiter_client.post(url, interview_post(interviewers=[recruiter.pk]))
    assert response.status_code == 302
    interview.refresh_from_db()
    assert interview.slot is None and interview.start_at == in_days(2, 14) and interview.sequence == 1
    [email] = mail.outbox
    assert "面接の日時を以下に変更しました。" in email.body and email.attachments[0][0] == "invite.ics"
    other = make_request(make_candidate(company, email="next@example.com"), schedule)
    assert actions.book(other, slot.pk).slot == slot  # the slot is free again


def test_an_adjusting_interview_is_confirmed_only_if_its_people_are_free(
    recruiter_client, recruiter, company, candidate
):
    url = f"/selection/candidates/{candidate.pk}/interviews/new/"
    recruiter_client.post(url, interview_post(interviewers=[recruiter.pk], status="adjusting"))
    tentative = Interview.objects.get()
    assert not tentative.bookings.exists() and "確定にする" in text(
        recruiter_client.get(f"/selection/candidates/{candidate.pk}/")
    )
    other = make_candidate(company, email="o@example.com")
    recruiter_client.post(
        f"/selection/candidates/{other.pk}/interviews/new/", interview_post(interviewers=[recruiter.pk])
    )
    refused = recruiter_client.post(
        f"/selection/interviews/{tentative.pk}/status/", {"status": "confirmed"}, follow=True
    )
    assert "別の面接が入っているため" in text(refused)
    tentative.refresh_from_db()
    assert tentative.status == "adjusting"


def test_the_week_view_warns_when_an_interviewer_left_the_company(recruiter_client, company, other_company):
    leaver = make_recruiter(company, "leaver")
    schedule = make_schedule(company, [leaver])
    leaver.is_active = False
    leaver.save()
    page = text(recruiter_client.get(f"/selection/schedules/{schedule.pk}/"))
    assert "採用 太郎 さんはこの企業の採用担当者ではなくなったため" in page
