from typing import cast

import pytest
from django.http import QueryDict
from django.test import RequestFactory
from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from candidates.listing import filtered_candidates, selected_candidates
from candidates.models import Candidate, Stage
from hrmos.http import RecruiterRequest
from tests.conftest import make_candidate

pytestmark = pytest.mark.django_db


def post_request(recruiter, data: dict) -> tuple:
    request = cast(RecruiterRequest, RequestFactory().post("/", data))
    request.user = recruiter
    request.company = SimpleLazyObject(lambda: recruiter.company)  # as CompanyMiddleware does
    return request, request.POST


@pytest.fixture
def sixty(company):
    return [
        make_candidate(company, email=f"c{i}@example.com", university="東京大学" if i % 2 else "京都大学")
        for i in range(60)
    ]


def test_selected_ids_resolve_to_those_candidates(recruiter, sixty):
    request, data = post_request(recruiter, {"ids": [sixty[0].pk, sixty[1].pk]})
    assert set(selected_candidates(request, data)) == {sixty[0], sixty[1]}


def test_foreign_and_malformed_ids_are_ignored(recruiter, other_company, sixty):
    foreign = make_candidate(other_company, email="x@example.com")
    request, data = post_request(recruiter, {"ids": [sixty[0].pk, foreign.pk, "abc", ""]})
    assert list(selected_candidates(request, data)) == [sixty[0]]


def test_all_matching_selects_every_page_of_the_filter(recruiter, sixty):
    request, data = post_request(recruiter, {"all_matching": "1", "query": "q=東京&page=1", "ids": [sixty[0].pk]})
    selected = selected_candidates(request, data)
    assert selected.count() == 30
    assert all(c.university == "東京大学" for c in selected)


def test_all_matching_never_crosses_companies(recruiter, other_company, sixty):
    make_candidate(other_company, email="x@example.com", university="東京大学")
    request, data = post_request(recruiter, {"all_matching": "1", "query": ""})
    assert selected_candidates(request, data).count() == 60


def test_filtered_candidates_matches_the_list_order(recruiter, recruiter_client, sixty):
    request, _ = post_request(recruiter, {})
    rows = list(filtered_candidates(request, QueryDict("sort=kana")))
    listed = list(recruiter_client.get(reverse("candidates:list"), {"sort": "kana"}).context["candidates"])
    assert rows[:50] == listed


def test_bulk_stage_change_moves_all_matching(recruiter_client, company, sixty):
    offer = Stage.objects.get(company=company, name="内定")
    response = recruiter_client.post(
        reverse("candidates:bulk_stage"), {"all_matching": "1", "query": "q=京都", "stage": offer.pk}, follow=True
    )
    assert Candidate.objects.filter(stage=offer).count() == 30
    assert "30名の選考ステップを「内定」に変更しました。" in response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("candidates:list") + "?q=%E4%BA%AC%E9%83%BD"


def test_bulk_stage_change_rejects_a_foreign_stage(recruiter_client, other_company, sixty):
    foreign_stage = Stage.objects.filter(company=other_company).first()
    recruiter_client.post(reverse("candidates:bulk_stage"), {"ids": [sixty[0].pk], "stage": foreign_stage.pk})
    sixty[0].refresh_from_db()
    assert sixty[0].stage.company_id != other_company.pk


def test_list_renders_the_selection_form(recruiter_client, sixty):
    body = recruiter_client.get(reverse("candidates:list")).content.decode()
    assert 'name="ids"' in body and 'data-select-all="ids"' in body
    assert "検索条件に一致する全60件を選択" in body
