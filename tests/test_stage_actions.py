"""結果を登録 on an interview: the selection screens show the link results registers for the
interview's step, it opens the 選考結果 form on that step, and recording from it works."""

import html
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from candidates import extensions
from results.models import SelectionResult
from selection.models import Interview
from tests.conftest import make_candidate
from tests.results_support import FAILED, stage

pytestmark = pytest.mark.django_db


@pytest.fixture
def interview(company):
    # The candidate has moved on to 二次面接; the interview is the earlier 一次面接.
    candidate = make_candidate(company, stage=stage(company, "二次面接"))
    start = timezone.now() + timedelta(hours=1)
    return Interview.objects.create(
        company=company,
        candidate=candidate,
        stage=stage(company, "一次面接"),
        start_at=start,
        end_at=start + timedelta(hours=1),
    )


def record_link(page: str) -> str:
    found = re.search(r'<a class="btn btn-sm btn-outline-primary" href="([^"]+)">.*?結果を登録</a>', page)
    assert found, "no 結果を登録 link"
    return html.unescape(found.group(1))


def selected_stage(page: str) -> str:
    select = page.split('name="stage"')[1].split("</select>")[0]
    return re.search(r"<option[^>]* selected>([^<]+)", select).group(1)


def test_the_interview_row_links_to_the_result_form_on_its_step(recruiter_client, company, interview):
    tab = recruiter_client.get(reverse("selection:candidate_tab", args=[interview.candidate_id])).content.decode()
    link = record_link(tab)
    expected = reverse("results:candidate_tab", args=[interview.candidate_id])
    assert link == f"{expected}?stage={interview.stage_id}#record-result"

    form_page = recruiter_client.get(link.split("#")[0]).content.decode()
    assert selected_stage(form_page) == "一次面接"

    data = {"stage": interview.stage_id, "outcome": FAILED, "note": ""}
    done = recruiter_client.post(expected, data, follow=True).content.decode()
    assert "一次面接の選考結果を「不合格」で登録しました。" in done
    assert SelectionResult.objects.get(candidate=interview.candidate).stage == stage(company, "一次面接")


def test_the_interview_list_shows_the_link_too(recruiter_client, interview):
    page = recruiter_client.get(reverse("selection:interviews"), {"period": "upcoming"}).content.decode()
    assert record_link(page).startswith(reverse("results:candidate_tab", args=[interview.candidate_id]))


def test_without_a_step_there_is_no_link_and_a_stray_stage_falls_back(recruiter_client, company, interview):
    Interview.objects.filter(pk=interview.pk).update(stage=None)
    tab = recruiter_client.get(reverse("selection:candidate_tab", args=[interview.candidate_id])).content.decode()
    assert "結果を登録" not in tab
    url = reverse("results:candidate_tab", args=[interview.candidate_id])
    for stray in ("abc", "999999999999999999999", str(stage(company, "内定").pk)):
        page = recruiter_client.get(url, {"stage": stray})
        assert page.status_code == 200
        assert selected_stage(page.content.decode()) == "二次面接（現在）"


def test_stage_links_are_resolved_in_order_and_empty_without_a_step():
    with extensions.isolated():
        extensions.register_stage_action(extensions.StageAction("B", "candidates:detail", order=20))
        extensions.register_stage_action(extensions.StageAction("A", "candidates:edit", order=10, fragment="x"))
        links = extensions.stage_links(7, 3)
        assert [(link.label, link.url) for link in links[:2]] == [
            ("A", f"{reverse('candidates:edit', args=[7])}?stage=3#x"),
            ("B", f"{reverse('candidates:detail', args=[7])}?stage=3"),
        ]
        assert extensions.stage_links(7, None) == []
