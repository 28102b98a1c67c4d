"""The 選考結果 screens as a recruiter uses them: the candidate tab's form and pending notices,
the list's bulk recording, and the per-stage notice settings. Bad input gets a clear message."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from candidates.models import Candidate
from messaging.models import Send
from results import actions
from results.models import NoticeSetting, SelectionResult
from tests.conftest import make_candidate, make_recruiter
from tests.results_support import FAILED, PASSED, delayed, stage

pytestmark = pytest.mark.django_db


def tab(candidate) -> str:
    return reverse("results:candidate_tab", args=[candidate.pk])


def page(response) -> str:
    return response.content.decode()


@pytest.fixture
def interviewee(company):
    return make_candidate(company, stage=stage(company, "一次面接"))


def test_the_tab_starts_empty_with_the_form_on_the_current_step(recruiter_client, interviewee):
    text = page(recruiter_client.get(tab(interviewee)))
    assert "選考結果はまだ登録されていません。" in text
    assert "一次面接（現在）" in text and "（一次面接 → 二次面接）" in text
    assert "内定" not in text.split('name="stage"')[1].split("</select>")[0]  # only open steps


def test_recording_a_pass_moves_on_and_says_so(recruiter_client, company, interviewee):
    data = {"stage": stage(company, "一次面接").pk, "outcome": PASSED, "note": "落ち着いた受け答え", "move": "on"}
    text = page(recruiter_client.post(tab(interviewee), data, follow=True))
    assert "一次面接の選考結果を「合格」で登録しました。選考ステップを「二次面接」に進めました。" in text
    assert "落ち着いた受け答え" in text and "二次面接へ" in text
    interviewee.refresh_from_db()
    assert interviewee.stage.name == "二次面接"


def test_a_delayed_notice_is_shown_with_its_time_and_buttons(recruiter_client, company, interviewee):
    delayed(company, "一次面接", FAILED)
    data = {"stage": stage(company, "一次面接").pk, "outcome": FAILED}
    text = page(recruiter_client.post(tab(interviewee), data, follow=True))
    send = SelectionResult.objects.get(candidate=interviewee).notice
    local = timezone.localtime(send.scheduled_at)
    assert f"結果の通知は {local:%Y/%m/%d %H:%M} にメールで送信されます。" in text
    assert "送信予約中の結果通知" in text and "今すぐ送信" in text and "キャンセル" in text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"note": "x"}, "選考結果（合格・不合格・保留）を選んでください。"),
        ({"outcome": "maybe"}, "選考結果（合格・不合格・保留）を選んでください。"),
        ({"outcome": PASSED, "note": "a" * 100_000}, "メモは2,000文字以内で入力してください（100000文字あります）。"),
        ({"outcome": PASSED, "note": "a\x00b"}, "使用できない文字（NUL文字）が含まれています。"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(recruiter_client, company, interviewee, data, message):
    response = recruiter_client.post(tab(interviewee), {"stage": stage(company, "一次面接").pk, **data})
    assert response.status_code == 200 and message in page(response)
    assert not SelectionResult.objects.exists()


def test_a_step_that_takes_no_result_or_another_companys_is_refused(
    recruiter_client, company, other_company, interviewee
):
    other = stage(other_company, "一次面接")
    for stage_pk in (stage(company, "内定").pk, other.pk, "abc"):
        response = recruiter_client.post(tab(interviewee), {"stage": stage_pk, "outcome": PASSED})
        assert "この選考ステップには選考結果を登録できません。" in page(response)
    assert not SelectionResult.objects.exists()


def test_cancel_and_send_now_from_the_tab(recruiter_client, company, recruiter, interviewee):
    delayed(company, "一次面接", FAILED)
    result = actions.record_result(interviewee, stage(company, "一次面接"), FAILED, user=recruiter).result
    text = page(recruiter_client.post(reverse("results:notice_cancel", args=[result.pk]), follow=True))
    assert "一次面接の選考結果の通知をキャンセルしました。このメールは送信されません。" in text
    assert "通知はキャンセル済み" in text
    text = page(recruiter_client.post(reverse("results:notice_send_now", args=[result.pk]), follow=True))
    assert "今すぐ送信できませんでした。通知はすでに送信されたか、キャンセルされています。" in text


def test_send_now_from_the_tab_queues_the_notice(recruiter_client, company, recruiter, interviewee):
    delayed(company, "一次面接", FAILED)
    result = actions.record_result(interviewee, stage(company, "一次面接"), FAILED, user=recruiter).result
    text = page(recruiter_client.post(reverse("results:notice_send_now", args=[result.pk]), follow=True))
    assert "一次面接の選考結果の通知を今すぐ送信しました。" in text
    assert Send.objects.get(pk=result.notice_id).status != Send.Status.SCHEDULED


def test_another_companys_notice_cannot_be_cancelled(client, company, other_company, recruiter, interviewee):
    delayed(company, "一次面接", FAILED)
    result = actions.record_result(interviewee, stage(company, "一次面接"), FAILED, user=recruiter).result
    client.force_login(make_recruiter(other_company, "outsider"))
    assert client.post(reverse("results:notice_cancel", args=[result.pk])).status_code == 404
    assert client.post(reverse("results:notice_send_now", args=[result.pk])).status_code == 404
    assert Send.objects.get(pk=result.notice_id).status == Send.Status.SCHEDULED


def test_bulk_from_the_list_shows_the_selection_then_records(recruiter_client, company):
    a = make_candidate(company, stage=stage(company, "一次面接"), email="a@example.com")
    b = make_candidate(company, stage=stage(company, "書類選考"), email="b@example.com")
    c = make_candidate(company, stage=stage(company, "内定"), email="c@example.com")
    ids = [a.pk, b.pk, c.pk]
    text = page(recruiter_client.post(reverse("results:bulk"), {"ids": ids}))
    assert "選択した<strong>3名</strong>" in text and "内定・不採用・辞退の1名には登録しません。" in text
    response = recruiter_client.post(
        reverse("results:bulk"), {"ids": ids, "record": "1", "outcome": PASSED, "move": "on"}, follow=True
    )
    text = page(response)
    assert "2名の選考結果を「合格」で登録しました。2名を次の選考ステップに進めました。" in text
    assert "内定・不採用・辞退の選考ステップにいる1名" in text
    assert dict(Candidate.objects.filter(company=company).values_list("email", "stage__name")) == {
        "a@example.com": "二次面接",
        "b@example.com": "一次面接",
        "c@example.com": "内定",
    }


def test_bulk_on_the_filtered_list_records_everyone_matching(recruiter_client, company):
    interview = stage(company, "一次面接")
    for i in range(3):
        make_candidate(company, stage=interview, email=f"m{i}@example.com")
    make_candidate(company, stage=stage(company, "書類選考"), email="other@example.com")
    data = {"all_matching": "1", "query": f"stage={interview.pk}", "record": "1", "outcome": FAILED}
    recruiter_client.post(reverse("results:bulk"), data)
    assert SelectionResult.objects.filter(stage=interview, outcome=FAILED).count() == 3
    assert SelectionResult.objects.count() == 3


def test_bulk_without_a_result_chosen_says_so(recruiter_client, company, interviewee):
    response = recruiter_client.post(reverse("results:bulk"), {"ids": [interviewee.pk], "record": "1"})
    assert "選考結果（合格・不合格・保留）を選んでください。" in page(response)
    assert not SelectionResult.objects.exists()


def test_bulk_with_nobody_selected_says_so(recruiter_client):
    text = page(recruiter_client.post(reverse("results:bulk"), {"ids": ["999999"]}))
    assert "候補者が選択されていません。" in text


def test_the_list_offers_the_bulk_action(recruiter_client, interviewee):
    assert f'formaction="{reverse("results:bulk")}"' in page(recruiter_client.get(reverse("candidates:list")))


def settings_post(company, outcome, **fields):
    data = {
        "outcome": outcome,
        "enabled": "1",
        "timing": "delayed",
        "delay_days": "3",
        "notice_hour": "10",
        "subject": "【{{企業名}}】選考結果のご連絡",
        "body": "{{候補者氏名}} 様\n{{選考ステップ}}の結果：{{選考結果}}",
    }
    data.update(fields)
    return data


def test_the_settings_list_starts_with_every_notice_off(recruiter_client):
    text = page(recruiter_client.get(reverse("results:settings")))
    assert "一次面接" in text and text.count("送信しない") >= 15 and "内定" not in text


def test_saving_a_stage_and_results_timing_and_text(recruiter_client, company):
    interview = stage(company, "一次面接")
    url = reverse("results:stage_settings", args=[interview.pk])
    response = recruiter_client.post(url, settings_post(company, FAILED), follow=True)
    assert "「一次面接」の不合格の通知設定を保存しました。" in page(response)
    setting = NoticeSetting.objects.get(stage=interview, outcome=FAILED)
    assert (setting.enabled, setting.timing, setting.delay_days, setting.hour) == (True, "delayed", 3, 10)
    assert "3日後 10:00" in page(recruiter_client.get(reverse("results:settings")))


def test_text_left_as_the_automatic_template_keeps_following_it(recruiter_client, company):
    from results import notices

    interview = stage(company, "一次面接")
    data = settings_post(company, PASSED, subject=notices.DEFAULT_SUBJECT, body=notices.DEFAULT_BODY)
    recruiter_client.post(reverse("results:stage_settings", args=[interview.pk]), data)
    setting = NoticeSetting.objects.get(stage=interview, outcome=PASSED)
    assert (setting.subject, setting.body) == ("", "")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"delay_days": "99"}, "日数は0〜30で入力してください（0は当日）。"),
        ({"delay_days": "三"}, "日数は半角数字で入力してください。"),
        ({"notice_hour": "25"}, "送信時刻は0時〜23時から選んでください。"),
        ({"body": "{{面接日時}}に"}, "このメールでは使えない差し込み項目があります"),
        ({"body": "{{存在しない}}"}, "このメールでは使えない差し込み項目があります：{{存在しない}}"),
        ({"subject": ""}, "件名を入力してください。"),
        ({"body": "  "}, "本文を入力してください。"),
    ],
)
def test_bad_settings_are_refused_with_a_clear_message(recruiter_client, company, fields, message):
    url = reverse("results:stage_settings", args=[stage(company, "一次面接").pk])
    response = recruiter_client.post(url, settings_post(company, FAILED, **fields))
    assert response.status_code == 200 and message in page(response)
    assert not NoticeSetting.objects.exists()


def test_a_step_that_takes_no_result_has_no_settings_page(recruiter_client, company):
    assert recruiter_client.get(reverse("results:stage_settings", args=[stage(company, "内定").pk])).status_code == 404


def test_the_automatic_settings_page_links_to_the_per_stage_settings(recruiter_client):
    text = page(recruiter_client.get(reverse("messaging:automatic_settings")))
    section = text.split('id="automatic-selection_result"')[1].split('id="automatic-')[0]
    assert reverse("results:settings") in section and "まだ有効になっていません" not in section


def test_the_pending_notice_is_in_the_scheduled_send_list(recruiter_client, company, recruiter, interviewee):
    delayed(company, "一次面接", FAILED)
    actions.record_result(interviewee, stage(company, "一次面接"), FAILED, user=recruiter)
    text = page(recruiter_client.get(reverse("messaging:send_list") + "?tab=scheduled"))
    assert "選考結果の自動通知" in text or "一次面接の選考結果のご連絡" in text
    later = timezone.localtime(timezone.now() + timedelta(days=3))
    assert later.strftime("%m/%d") in text or later.strftime("%-m/%-d") in text


def test_a_pending_notice_can_be_moved_to_another_time_keeping_its_placeholders(
    recruiter_client, company, recruiter, interviewee
):
    delayed(company, "一次面接", FAILED)
    notice = actions.record_result(interviewee, stage(company, "一次面接"), FAILED, user=recruiter).result.notice
    later = timezone.localtime(notice.scheduled_at + timedelta(days=1))
    data = {
        "subject": notice.subject,
        "body": notice.body,
        "scheduled_at": later.strftime("%Y-%m-%dT%H:%M"),
        "version": notice.version,
    }
    text = page(recruiter_client.post(reverse("messaging:send_edit", args=[notice.pk]), data, follow=True))
    assert "送信予約を変更しました。" in text
    notice.refresh_from_db()
    assert notice.scheduled_at == later


def test_bulk_refuses_more_than_it_can_record_in_one_go(recruiter_client, company, monkeypatch):
    from results import views

    monkeypatch.setattr(views, "BULK_MAX", 2)
    ids = [make_candidate(company, stage=stage(company, "一次面接"), email=f"x{i}@example.com").pk for i in range(3)]
    data = {"ids": ids, "record": "1", "outcome": PASSED}
    text = page(recruiter_client.post(reverse("results:bulk"), data))
    assert "一度に登録できるのは2名までです（3名を選択中）。" in text
    assert not SelectionResult.objects.exists()


def test_the_list_filters_by_the_result_at_the_current_step(recruiter_client, company, recruiter):
    interview = stage(company, "一次面接")
    failed = make_candidate(company, stage=interview, email="f@example.com", last_name="落選")
    make_candidate(company, stage=interview, email="w@example.com", last_name="未決")
    moved_on = make_candidate(company, stage=interview, email="m@example.com", last_name="通過")
    actions.record_result(failed, interview, FAILED, user=recruiter)
    actions.record_result(moved_on, interview, PASSED, user=recruiter)  # now at 二次面接, no result there yet

    def shown(value: str) -> set[str]:
        text = page(recruiter_client.get(reverse("candidates:list") + f"?result={value}"))
        return {name for name in ("落選", "未決", "通過") if f"{name} 花子</a>" in text}

    assert shown("failed") == {"落選"}
    assert shown("none") == {"未決", "通過"}
    assert shown("passed") == set()
