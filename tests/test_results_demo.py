"""The demo seed's selection results: notice timing on every open stage (不合格 three days later
at 10:00, 合格 at once, with the demo templates' text) and a few recorded results, one of
them a 不合格 whose notice waits in 送信予約."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from hrmos.models import Company
from messaging.models import Send
from results.models import NoticeSetting, SelectionResult

pytestmark = pytest.mark.django_db


def seed() -> None:
    call_command("seed_demo", stdout=StringIO())


def test_the_demo_sets_result_notice_timing_and_records_a_few_results(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        seed()
    company = Company.objects.get(name="株式会社デモ商事")
    settings = NoticeSetting.objects.filter(company=company, stage__name="一次面接")
    timings = {s.outcome: (s.enabled, s.timing, s.delay_days, s.hour) for s in settings}
    assert timings == {"failed": (True, "delayed", 3, 10), "passed": (True, "immediate", 1, 10)}
    failed = settings.get(outcome="failed")
    assert failed.subject == "【{{企業名}}】選考結果のご連絡" and "ご期待に沿えない結果" in failed.body
    assert "{{送信者名}}" not in failed.body  # an automatic email has no recruiter to name
    results = {r.outcome: r for r in SelectionResult.objects.filter(company=company).select_related("notice")}
    assert set(results) == {"passed", "failed", "on_hold"}
    rejection = results["failed"].notice
    assert rejection.status == Send.Status.SCHEDULED
    local = timezone.localtime(rejection.scheduled_at)
    recorded_on = timezone.localtime(results["failed"].recorded_at).date()
    assert (local.hour, local.minute, (local.date() - recorded_on).days) == (10, 0, 3)
    assert results["passed"].notice.status != Send.Status.SCHEDULED and results["on_hold"].notice is None


def test_seeding_twice_changes_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        seed()
        before = (NoticeSetting.objects.count(), SelectionResult.objects.count(), Send.objects.count())
        seed()
    assert (NoticeSetting.objects.count(), SelectionResult.objects.count(), Send.objects.count()) == before
