"""Recording selection results: one candidate, in bulk, with the 合格 move to the next step,
and the history kept when a result changes."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from candidates.models import Candidate
from results import actions
from results.models import SelectionResult
from tests.conftest import make_candidate
from tests.results_support import FAILED, ON_HOLD, PASSED, stage

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 12, 8, 12, 0, tzinfo=ZoneInfo("Asia/Tokyo"))


def at(company, stage_name: str, **fields) -> Candidate:
    return make_candidate(company, stage=stage(company, stage_name), **fields)


def test_a_pass_moves_the_candidate_to_the_next_step(company, recruiter):
    candidate = at(company, "一次面接")
    recorded = actions.record_result(candidate, candidate.stage, PASSED, note="論理的", user=recruiter, now=NOON)
    candidate.refresh_from_db()
    assert candidate.stage.name == "二次面接"
    result = recorded.result
    assert (result.outcome, result.note, result.recorded_by, result.moved_to.name) == (
        PASSED,
        "論理的",
        recruiter,
        "二次面接",
    )


def test_a_pass_without_the_move_box_leaves_the_step(company, recruiter):
    candidate = at(company, "一次面接")
    actions.record_result(candidate, candidate.stage, PASSED, user=recruiter, move=False, now=NOON)
    candidate.refresh_from_db()
    assert candidate.stage.name == "一次面接"


def test_a_pass_at_the_final_interview_moves_to_the_offer(company, recruiter):
    candidate = at(company, "最終面接")
    actions.record_result(candidate, candidate.stage, PASSED, user=recruiter, now=NOON)
    candidate.refresh_from_db()
    assert candidate.stage.name == "内定"


def test_a_pass_for_an_earlier_step_does_not_move_the_candidate(company, recruiter):
    candidate = at(company, "二次面接")
    actions.record_result(candidate, stage(company, "書類選考"), PASSED, user=recruiter, now=NOON)
    candidate.refresh_from_db()
    assert candidate.stage.name == "二次面接"


def test_a_fail_or_a_hold_never_moves_the_candidate(company, recruiter):
    for outcome in (FAILED, ON_HOLD):
        candidate = at(company, "一次面接", email=f"{outcome}@example.com")
        actions.record_result(candidate, candidate.stage, outcome, user=recruiter, now=NOON)
        candidate.refresh_from_db()
        assert candidate.stage.name == "一次面接"


def test_changing_a_result_keeps_the_earlier_one_as_history(company, recruiter):
    candidate = at(company, "一次面接")
    first = actions.record_result(candidate, candidate.stage, ON_HOLD, note="比較したい", user=recruiter, now=NOON)
    second = actions.record_result(candidate, candidate.stage, FAILED, user=recruiter, now=NOON)
    rows = list(SelectionResult.objects.filter(candidate=candidate).order_by("pk"))
    assert [(r.outcome, r.is_current) for r in rows] == [(ON_HOLD, False), (FAILED, True)]
    assert rows[0].pk == first.result.pk and rows[0].superseded_at == NOON
    assert rows[1].pk == second.result.pk


def test_bulk_records_each_candidate_at_their_own_step(company, recruiter):
    screening = at(company, "書類選考", email="a@example.com")
    first_interview = at(company, "一次面接", email="b@example.com")
    declined = at(company, "辞退", email="c@example.com")
    bulk = actions.record_results(
        company, Candidate.objects.filter(company=company), PASSED, note="一括", user=recruiter, now=NOON
    )
    assert {(r.result.candidate_id, r.result.stage.name) for r in bulk.recorded} == {
        (screening.pk, "書類選考"),
        (first_interview.pk, "一次面接"),
    }
    assert bulk.skipped == [declined] and bulk.moved == 2
    assert dict(Candidate.objects.filter(company=company).values_list("email", "stage__name")) == {
        "a@example.com": "一次面接",
        "b@example.com": "二次面接",
        "c@example.com": "辞退",
    }


def test_bulk_never_touches_another_companys_candidates(company, other_company, recruiter):
    mine = at(company, "一次面接", email="mine@example.com")
    theirs = make_candidate(other_company, email="theirs@example.com")
    bulk = actions.record_results(
        company, Candidate.objects.filter(pk__in=[mine.pk, theirs.pk]), FAILED, user=recruiter, now=NOON
    )
    assert [r.result.candidate_id for r in bulk.recorded] == [mine.pk]
    assert not SelectionResult.objects.filter(candidate=theirs).exists()


def test_a_step_of_another_company_is_refused(company, other_company, recruiter):
    candidate = at(company, "一次面接")
    with pytest.raises(ValueError):
        actions.record_result(candidate, stage(other_company, "一次面接"), PASSED, user=recruiter, now=NOON)
    assert not SelectionResult.objects.exists()
