"""The automatic result notice: off unless set up, at once or N days later at an hour (Japan
time) as a scheduled send, cancelled or sent now until it goes, replaced when the result
changes, exactly once per result, and by email only."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail

from candidates.models import Candidate
from messaging.models import AutomaticMessageSetting, Channel, Delivery, Kind, Send
from messaging.sending import compose, scheduling
from results import actions, notices
from tests.conftest import make_candidate
from tests.results_support import FAILED, ON_HOLD, PASSED, delayed, notice_setting, stage

pytestmark = pytest.mark.django_db

TOKYO = ZoneInfo("Asia/Tokyo")
NOON = datetime(2026, 12, 8, 12, 0, tzinfo=TOKYO)
THREE_DAYS_LATER_AT_TEN = datetime(2026, 12, 11, 10, 0, tzinfo=TOKYO)


@pytest.fixture
def first_interview(company):
    return make_candidate(company, stage=stage(company, "一次面接"))


def record(candidate, outcome, capture, *, now=NOON, user=None, **kwargs):
    """Record at `now` (the clock too), running what commits wake (the email workers)."""
    with time_machine.travel(now, tick=False), capture(execute=True):
        return actions.record_result(
            candidate, stage(candidate.company, "一次面接"), outcome, user=user, now=now, **kwargs
        )


def dispatch_at(moment, capture) -> list[int]:
    with time_machine.travel(moment, tick=False), capture(execute=True):
        return scheduling.dispatch_due()


def notices_of(candidate):
    return Send.objects.filter(kind=Kind.SELECTION_RESULT, messages__candidate=candidate).order_by("pk")


def test_no_notice_goes_for_a_stage_and_result_not_set_up(company, first_interview, django_capture_on_commit_callbacks):
    recorded = record(first_interview, FAILED, django_capture_on_commit_callbacks)
    assert recorded.result.notice is None and not notices_of(first_interview).exists() and not mail.outbox


def test_an_immediate_notice_goes_at_once_by_email_with_the_step_and_result(
    company, first_interview, django_capture_on_commit_callbacks
):
    notice_setting(company, "一次面接", PASSED)
    recorded = record(first_interview, PASSED, django_capture_on_commit_callbacks)
    [email] = mail.outbox
    assert email.subject == "【株式会社テスト】一次面接の選考結果のご連絡"  # the step recorded, not the one moved to
    assert "一次面接の選考結果は「合格」となりました" in email.body
    send = recorded.result.notice
    assert send.kind == Kind.SELECTION_RESULT and send.context == {"selection_result": recorded.result.pk}
    assert list(Delivery.objects.filter(send=send).values_list("channel", "status")) == [(Channel.EMAIL, "sent")]


def test_a_delayed_notice_is_a_reservation_that_goes_n_days_later_at_the_hour(
    company, first_interview, django_capture_on_commit_callbacks
):
    delayed(company, "一次面接", FAILED, days=3, hour=10)
    recorded = record(first_interview, FAILED, django_capture_on_commit_callbacks)
    send = recorded.result.notice
    assert (send.status, send.scheduled_at) == (Send.Status.SCHEDULED, THREE_DAYS_LATER_AT_TEN)
    assert not mail.outbox
    assert dispatch_at(THREE_DAYS_LATER_AT_TEN - timedelta(minutes=1), django_capture_on_commit_callbacks) == []
    assert dispatch_at(THREE_DAYS_LATER_AT_TEN, django_capture_on_commit_callbacks) == [send.pk]
    assert dispatch_at(THREE_DAYS_LATER_AT_TEN + timedelta(minutes=1), django_capture_on_commit_callbacks) == []
    [email] = mail.outbox
    assert "一次面接の選考結果は「不合格」" in email.body


def test_a_same_day_hour_already_past_goes_at_once(company, first_interview, django_capture_on_commit_callbacks):
    delayed(company, "一次面接", FAILED, days=0, hour=10)
    record(first_interview, FAILED, django_capture_on_commit_callbacks)  # at 12:00
    assert len(mail.outbox) == 1


def test_the_send_time_is_japan_time_whatever_the_hour_in_utc():
    notice = notices.Notice(True, True, "delayed", 1, 9, "件名", "本文", False)
    late_evening_in_tokyo = datetime(2026, 12, 8, 14, 30, tzinfo=ZoneInfo("UTC"))  # 23:30 JST
    assert notices.send_time(notice, late_evening_in_tokyo) == datetime(2026, 12, 9, 9, 0, tzinfo=TOKYO)


def test_a_cancelled_notice_never_goes(company, recruiter, first_interview, django_capture_on_commit_callbacks):
    delayed(company, "一次面接", FAILED)
    result = record(first_interview, FAILED, django_capture_on_commit_callbacks).result
    assert actions.cancel_notice(result, user=recruiter)
    assert dispatch_at(THREE_DAYS_LATER_AT_TEN, django_capture_on_commit_callbacks) == []
    assert not mail.outbox
    assert not actions.cancel_notice(result, user=recruiter)  # nothing left to cancel


def test_send_now_sends_a_pending_notice_at_once_and_only_once(
    company, recruiter, first_interview, django_capture_on_commit_callbacks
):
    delayed(company, "一次面接", FAILED)
    result = record(first_interview, FAILED, django_capture_on_commit_callbacks).result
    with time_machine.travel(NOON + timedelta(hours=1), tick=False), django_capture_on_commit_callbacks(execute=True):
        assert actions.send_notice_now(result, user=recruiter)
    assert len(mail.outbox) == 1
    assert not actions.send_notice_now(result, user=recruiter)
    assert dispatch_at(THREE_DAYS_LATER_AT_TEN, django_capture_on_commit_callbacks) == []
    assert len(mail.outbox) == 1


def test_changing_the_result_cancels_the_pending_notice_and_schedules_the_new_one(
    company, first_interview, django_capture_on_commit_callbacks
):
    delayed(company, "一次面接", FAILED)
    delayed(company, "一次面接", ON_HOLD, days=1, hour=18)
    failed = record(first_interview, FAILED, django_capture_on_commit_callbacks)
    held = record(first_interview, ON_HOLD, django_capture_on_commit_callbacks, now=NOON + timedelta(hours=1))
    assert held.cancelled_notice
    statuses = [(send.status, send.context["selection_result"]) for send in notices_of(first_interview)]
    assert statuses == [(Send.Status.CANCELLED, failed.result.pk), (Send.Status.SCHEDULED, held.result.pk)]
    assert held.result.notice.scheduled_at == datetime(2026, 12, 9, 18, 0, tzinfo=TOKYO)
    dispatch_at(THREE_DAYS_LATER_AT_TEN, django_capture_on_commit_callbacks)
    [email] = mail.outbox
    assert "「保留」" in email.body


def test_a_change_to_a_result_without_a_notice_still_cancels_the_old_one(
    company, first_interview, django_capture_on_commit_callbacks
):
    delayed(company, "一次面接", FAILED)
    record(first_interview, FAILED, django_capture_on_commit_callbacks)
    record(first_interview, PASSED, django_capture_on_commit_callbacks)  # 合格 has no notice set up
    assert list(notices_of(first_interview).values_list("status", flat=True)) == [Send.Status.CANCELLED]


def test_the_same_result_again_keeps_its_one_notice(company, first_interview, django_capture_on_commit_callbacks):
    delayed(company, "一次面接", FAILED)
    first = record(first_interview, FAILED, django_capture_on_commit_callbacks)
    again = record(first_interview, FAILED, django_capture_on_commit_callbacks, note="メモを追記")
    assert again.result.notice_id == first.result.notice_id and not again.cancelled_notice
    assert notices_of(first_interview).count() == 1


def test_a_change_after_the_notice_went_sends_the_new_result(
    company, first_interview, django_capture_on_commit_callbacks
):
    notice_setting(company, "一次面接", FAILED)
    notice_setting(company, "一次面接", ON_HOLD)
    record(first_interview, FAILED, django_capture_on_commit_callbacks)
    corrected = record(first_interview, ON_HOLD, django_capture_on_commit_callbacks)
    assert not corrected.cancelled_notice  # too late: it went
    assert ["「不合格」" in m.body for m in mail.outbox] == [True, False]


def test_one_result_record_never_gets_two_notices(company, first_interview, django_capture_on_commit_callbacks):
    notice_setting(company, "一次面接", FAILED)
    result = record(first_interview, FAILED, django_capture_on_commit_callbacks).result
    notice = notices.notice_for(company, result.stage, FAILED)
    assert notices.schedule_notice(result, notice) is None
    assert notices_of(first_interview).count() == 1


def test_turning_the_kind_off_stops_every_notice(company, first_interview, django_capture_on_commit_callbacks):
    notice_setting(company, "一次面接", FAILED)
    AutomaticMessageSetting.objects.create(
        company=company, kind=Kind.SELECTION_RESULT, subject="件名", body="本文", enabled=False
    )
    record(first_interview, FAILED, django_capture_on_commit_callbacks)
    assert not notices_of(first_interview).exists()


def test_a_stage_and_results_own_text_is_used(company, first_interview, django_capture_on_commit_callbacks):
    notice_setting(
        company, "一次面接", FAILED, subject="【{{企業名}}】選考結果", body="{{姓}}様\n{{選考ステップ}}：{{選考結果}}"
    )
    record(first_interview, FAILED, django_capture_on_commit_callbacks)
    [email] = mail.outbox
    assert (email.subject, email.body.strip()) == ("【株式会社テスト】選考結果", "山田様\n一次面接：不合格")


def test_bulk_schedules_one_notice_per_candidate(company, recruiter, django_capture_on_commit_callbacks):
    delayed(company, "一次面接", FAILED)
    candidates = [
        make_candidate(company, stage=stage(company, "一次面接"), email=f"c{i}@example.com") for i in range(3)
    ]
    with time_machine.travel(NOON, tick=False), django_capture_on_commit_callbacks(execute=True):
        bulk = actions.record_results(
            company, Candidate.objects.filter(company=company), FAILED, user=recruiter, now=NOON
        )
    assert bulk.notices == 3
    for candidate in candidates:
        assert list(notices_of(candidate).values_list("status", "scheduled_at")) == [
            (Send.Status.SCHEDULED, THREE_DAYS_LATER_AT_TEN)
        ]


def test_the_result_placeholder_is_refused_in_a_manual_send(company, recruiter, first_interview):
    draft = compose.Draft(kind=Kind.CANDIDATE, subject="結果", body="{{選考結果}}です")
    with pytest.raises(compose.ComposeError) as refused:
        compose.create_send(draft, company=company, user=recruiter, candidates=[first_interview.pk])
    assert refused.value.errors["body"] == ["{{選考結果}} は選考結果の自動通知でのみ使えます。"]


def test_the_step_placeholder_is_the_candidates_current_step_in_a_manual_send(
    company, recruiter, first_interview, django_capture_on_commit_callbacks
):
    draft = compose.Draft(kind=Kind.CANDIDATE, subject="{{選考ステップ}}のご案内", body="{{姓}}様")
    with django_capture_on_commit_callbacks(execute=True):
        compose.create_send(draft, company=company, user=recruiter, candidates=[first_interview.pk])
    assert mail.outbox[0].subject == "一次面接のご案内"


def test_a_line_friend_gets_the_notice_by_email_only(
    linked_company, line_friend_candidate, line_emulator, line_pair, django_capture_on_commit_callbacks
):
    notice_setting(linked_company, "書類選考", PASSED)
    with django_capture_on_commit_callbacks(execute=True):
        recorded = actions.record_result(line_friend_candidate, stage(linked_company, "書類選考"), PASSED, user=None)
    send = recorded.result.notice
    assert not send.send_line
    assert list(Delivery.objects.filter(send=send).values_list("channel", flat=True)) == [Channel.EMAIL]
    assert len(mail.outbox) == 1 and line_emulator.outbox(line_pair.messaging_channel_id) == []


def test_bulk_counts_only_new_notices_when_the_result_is_unchanged(company, recruiter, first_interview):
    delayed(company, "一次面接", FAILED)
    everyone = Candidate.objects.filter(company=company)
    with time_machine.travel(NOON, tick=False):
        assert actions.record_results(company, everyone, FAILED, user=recruiter, now=NOON).notices == 1
        again = actions.record_results(company, everyone, FAILED, user=recruiter, note="追記", now=NOON)
    assert again.notices == 0 and notices_of(first_interview).count() == 1
