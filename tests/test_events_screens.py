"""The recruiter's イベント管理: list, create and edit with dates, copy, delete, 開催中止,
participants and attendance, CSV export, 代行予約, the candidate page's history and the
candidate list's event filters."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from events import actions
from events.models import Application, Event, EventDate
from tests.conftest import make_candidate
from tests.events_support import add_date, local, make_event

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return response.content.decode()


def event_post(**overrides) -> dict:
    data = {
        "title": "会社説明会（オンライン）",
        "description": "事業紹介と座談会\nhttps://example.com/info",
        "place": "",
        "online_url": "https://meet.example.com/x",
        "belongings": "筆記用具",
        "contact": "recruit@example.com",
        "is_published": "on",
        "reminder_enabled": "on",
        "dates-TOTAL_FORMS": "2",
        "dates-INITIAL_FORMS": "0",
        "dates-0-starts_at": local(10, 14).strftime("%Y-%m-%dT%H:%M"),
        "dates-0-ends_at": local(10, 16).strftime("%Y-%m-%dT%H:%M"),
        "dates-0-capacity": "30",
        "dates-1-starts_at": local(12, 10).strftime("%Y-%m-%dT%H:%M"),
        "dates-1-ends_at": local(12, 12).strftime("%Y-%m-%dT%H:%M"),
        "dates-1-capacity": "20",
        "dates-1-place": "東京本社",
    }
    data.update(overrides)
    return data


def test_the_navigation_leads_to_event_management(recruiter_client):
    page = text(recruiter_client.get("/candidates/"))
    assert 'href="/events/"' in page and "イベント管理" in page


def test_creating_an_event_with_two_dates_defaults_the_deadlines_to_the_day_before(recruiter_client, company):
    response = recruiter_client.post("/events/new/", event_post())
    event = Event.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/events/{event.pk}/"
    first, second = event.dates.order_by("starts_at")
    assert (first.capacity, second.capacity, second.place) == (30, 20, "東京本社")
    assert first.application_deadline == first.cancel_deadline == local(9, 23, 59)
    detail = text(recruiter_client.get(response["Location"]))
    assert "0 / 30名" in detail and "0 / 20名" in detail and f"/e/p/{event.public_id}/" in detail


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"dates-0-ends_at": local(10, 13).strftime("%Y-%m-%dT%H:%M")}, "終了日時は開始日時より後にしてください。"),
        ({"dates-0-starts_at": local(-1, 14).strftime("%Y-%m-%dT%H:%M")}, "過去の日時には日程を作成できません。"),
        ({"dates-0-capacity": "0"}, "定員は1名以上にしてください。"),
        ({"title": "説明会\x00"}, "使用できない文字（NUL文字）"),
        ({"title": "あ" * 101}, "100文字以内で入力してください"),
        ({"dates-TOTAL_FORMS": "0"}, "日程を1つ以上登録してください。"),
        (
            {"dates-0-application_deadline": local(11, 9).strftime("%Y-%m-%dT%H:%M")},
            "締切は開始日時より前にしてください。",
        ),
    ],
)
def test_bad_event_input_is_refused_with_a_message(recruiter_client, overrides, message):
    response = recruiter_client.post("/events/new/", event_post(**overrides))
    assert response.status_code == 200
    assert message in text(response)
    assert not Event.objects.exists()


def edit_post(event: Event, **overrides) -> dict:
    date = event.dates.get()
    data = event_post(**{"dates-TOTAL_FORMS": "1", "dates-INITIAL_FORMS": "1"})
    data.update(
        {
            "dates-0-pk": str(date.pk),
            "dates-0-starts_at": timezone.localtime(date.starts_at).strftime("%Y-%m-%dT%H:%M"),
            "dates-0-ends_at": timezone.localtime(date.ends_at).strftime("%Y-%m-%dT%H:%M"),
            "dates-0-capacity": str(date.capacity),
        }
    )
    data.update(overrides)
    return data


def test_capacity_below_the_seats_taken_is_refused_with_the_count(recruiter_client, company):
    event = make_event(company, capacity=5)
    date = event.dates.get()
    for number in range(3):
        actions.apply(date, make_candidate(company, email=f"c{number}@example.com"), Application.Source.PERSONAL)
    response = recruiter_client.post(f"/events/{event.pk}/edit/", edit_post(event, **{"dates-0-capacity": "2"}))
    assert "現在の申込数（3名）より少なくできません" in text(response)
    date.refresh_from_db()
    assert date.capacity == 5


def test_a_date_with_applications_cannot_be_deleted(recruiter_client, company, candidate):
    event = make_event(company)
    actions.apply(event.dates.get(), candidate, Application.Source.PERSONAL)
    data = edit_post(event, **{"dates-0-DELETE": "on", "dates-TOTAL_FORMS": "2"})  # row 1: a new date
    response = recruiter_client.post(f"/events/{event.pk}/edit/", data)
    assert "申込があるため削除できません" in text(response)
    assert event.dates.count() == 1


def test_editing_keeps_the_dates_and_adds_a_new_one(recruiter_client, company):
    event = make_event(company)
    data = edit_post(event, **{"dates-TOTAL_FORMS": "2", "title": "会社説明会（改）"})
    data.update(
        {
            "dates-1-starts_at": local(20, 10).strftime("%Y-%m-%dT%H:%M"),
            "dates-1-ends_at": local(20, 11).strftime("%Y-%m-%dT%H:%M"),
            "dates-1-capacity": "8",
        }
    )
    assert recruiter_client.post(f"/events/{event.pk}/edit/", data).status_code == 302
    event.refresh_from_db()
    assert event.title == "会社説明会（改）" and event.dates.count() == 2


def test_the_list_shows_upcoming_and_past_events_with_seats(recruiter_client, company, candidate):
    upcoming = make_event(company, capacity=12)
    actions.apply(upcoming.dates.get(), candidate, Application.Source.PERSONAL)
    past = make_event(company, title="昨年の説明会", is_published=False)
    EventDate.objects.filter(event=past).update(
        starts_at=local(-3, 10),
        ends_at=local(-3, 12),
        application_deadline=local(-4, 10),
        cancel_deadline=local(-4, 10),
    )
    page = text(recruiter_client.get("/events/"))
    assert "会社説明会" in page and "1 / 12名" in page and "昨年の説明会" not in page
    assert "昨年の説明会" in text(recruiter_client.get("/events/?tab=past"))


def test_copying_makes_an_unpublished_event_with_the_dates_to_come(recruiter_client, company, candidate):
    event = make_event(company, dates=2)
    add_date(event, local(-2, 10))
    actions.apply(event.dates.order_by("starts_at").last(), candidate, Application.Source.RECRUITER)
    response = recruiter_client.post(f"/events/{event.pk}/copy/")
    copy = Event.objects.exclude(pk=event.pk).get()
    assert response["Location"] == f"/events/{copy.pk}/edit/"
    assert copy.title == "会社説明会のコピー" and not copy.is_published
    assert copy.dates.count() == 2 and sum(copy.dates.values_list("taken", flat=True)) == 0


def test_deleting_is_refused_while_there_are_applications(recruiter_client, company, candidate):
    event = make_event(company)
    actions.apply(event.dates.get(), candidate, Application.Source.PERSONAL)
    assert "申込が1件あるため削除できません" in text(recruiter_client.get(f"/events/{event.pk}/delete/"))
    page = recruiter_client.post(f"/events/{event.pk}/delete/", follow=True)
    assert "申込が1件あるため削除できません" in text(page)
    assert Event.objects.filter(pk=event.pk).exists()


def test_an_event_without_applications_is_deleted(recruiter_client, company):
    event = make_event(company)
    page = recruiter_client.post(f"/events/{event.pk}/delete/", follow=True)
    assert "を削除しました" in text(page) and not Event.objects.exists()


def test_cancelling_a_date_cancels_its_applications_and_offers_a_message(
    recruiter_client, company, candidate, django_capture_on_commit_callbacks
):
    event = make_event(company, dates=2)
    first = event.dates.order_by("starts_at").first()
    actions.apply(first, candidate, Application.Source.PERSONAL)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        page = recruiter_client.post(f"/events/{event.pk}/dates/{first.pk}/cancel/", follow=True)
    body = text(page)
    assert "開催中止にしました。申込1件をキャンセル" in body
    assert "参加者にメッセージを送信" in body and f"?date={first.pk}&amp;status=cancelled" in body
    assert Application.objects.get().status == Application.Status.CANCELLED
    first.refresh_from_db()
    assert first.is_cancelled and first.taken == 0
    [email] = mail.outbox
    assert "開催中止" in email.body and email.attachments[0][0] == "cancel.ics"


def test_attendance_one_row_by_htmx_and_in_bulk(recruiter_client, company, recruiter):
    event = make_event(company)
    date = event.dates.get()
    one, two, three = (
        actions.apply(date, make_candidate(company, email=f"a{n}@example.com"), Application.Source.PERSONAL)
        for n in range(3)
    )
    row = recruiter_client.post(
        f"/events/{event.pk}/attendance/", {"ids": one.pk, "status": "attended", "row": "1"}, HTTP_HX_REQUEST="true"
    )
    assert row.status_code == 200 and f'id="application-{one.pk}"' in text(row) and "出席" in text(row)
    page = recruiter_client.post(
        f"/events/{event.pk}/attendance/", {"ids": [two.pk, three.pk], "status": "absent"}, follow=True
    )
    assert "2名の出欠を「欠席」にしました" in text(page)
    statuses = dict(Application.objects.values_list("pk", "status"))
    assert statuses == {one.pk: "attended", two.pk: "absent", three.pk: "absent"}


def test_attendance_goes_back_to_a_page_of_this_site_only(recruiter_client, company):
    event = make_event(company)
    application = actions.apply(event.dates.get(), make_candidate(company), Application.Source.PERSONAL)
    url = f"/events/{event.pk}/attendance/"
    for target, expected in (
        (f"/candidates/?event={event.pk}", f"/candidates/?event={event.pk}"),
        ("https://evil.example/", f"/events/{event.pk}/"),
        ("x" * 5000, f"/events/{event.pk}/"),
    ):
        response = recruiter_client.post(url, {"ids": application.pk, "status": "attended", "next": target})
        assert (response.status_code, response["Location"]) == (302, expected)


def test_the_participants_csv_has_a_bom_and_one_row_each(recruiter_client, company, candidate):
    event = make_event(company)
    actions.apply(event.dates.get(), candidate, Application.Source.PERSONAL)
    response = recruiter_client.get(f"/events/{event.pk}/export/")
    content = b"".join(response.streaming_content).decode("utf-8")
    assert content.startswith("\ufeff日程,会場,状態,姓,名")
    assert "申込済み,山田,花子,ヤマダ,ハナコ,hanako@example.com,東京大学,2027,個人用URL" in content


def test_booking_for_a_candidate_from_the_event_page(recruiter_client, company, candidate):
    event = make_event(company)
    date = event.dates.get()
    EventDate.objects.filter(pk=date.pk).update(application_deadline=timezone.now() - timedelta(hours=1))
    page = recruiter_client.post(
        f"/events/{event.pk}/book/", {"email": "HANAKO@example.com", "date": date.pk}, follow=True
    )
    assert "山田 花子さんを" in text(page) and "代行予約しました" in text(page)
    assert Application.objects.get().source == Application.Source.RECRUITER
    unknown = recruiter_client.post(
        f"/events/{event.pk}/book/", {"email": "who@example.com", "date": date.pk}, follow=True
    )
    assert "このメールアドレスの候補者は登録されていません" in text(unknown)


def test_booking_a_full_date_from_the_candidate_page_is_refused(recruiter_client, company, candidate):
    event = make_event(company, capacity=1)
    date = event.dates.get()
    actions.apply(date, make_candidate(company, email="first@example.com"), Application.Source.PERSONAL)
    page = text(recruiter_client.get(f"/events/candidates/{candidate.pk}/book/"))
    assert "満席" in page
    refused = recruiter_client.post(f"/events/candidates/{candidate.pk}/book/", {"date": date.pk}, follow=True)
    assert "予約できませんでした：この日程は満席です" in text(refused)


def test_the_candidate_page_shows_the_event_history(recruiter_client, company, candidate):
    event = make_event(company)
    actions.apply(event.dates.get(), candidate, Application.Source.PUBLIC, created_candidate=True)
    page = text(recruiter_client.get(f"/events/candidates/{candidate.pk}/"))
    assert "会社説明会" in page and "申込済み" in page and "このイベントから登録" in page


def test_the_candidate_list_filters_by_event_date_and_status(recruiter_client, company, candidate, recruiter):
    event = make_event(company, dates=2)
    first, second = event.dates.order_by("starts_at")
    attended = actions.apply(first, candidate, Application.Source.PERSONAL)
    actions.set_attendance([attended], Application.Status.ATTENDED, recruiter)
    actions.apply(first, make_candidate(company, last_name="欠席", email="x@example.com"), Application.Source.PERSONAL)
    actions.apply(
        second, make_candidate(company, last_name="二日目", email="y@example.com"), Application.Source.PERSONAL
    )
    make_candidate(company, last_name="未申込", email="z@example.com")
    page = text(recruiter_client.get(f"/candidates/?event=d{first.pk}&event_status=attended"))
    assert "山田" in page and "欠席 花子" not in page and "二日目" not in page and "未申込" not in page
    page = text(recruiter_client.get(f"/candidates/?event=e{event.pk}"))
    assert "山田" in page and "欠席 花子" in page and "二日目" in page and "未申込" not in page


def test_another_companys_event_is_not_found(client, other_company_recruiter, company):
    event = make_event(company)
    client.force_login(other_company_recruiter)
    assert client.get(f"/events/{event.pk}/").status_code == 404
    assert client.post(f"/events/{event.pk}/attendance/", {"status": "attended"}).status_code == 404
