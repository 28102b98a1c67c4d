import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from candidates.models import Agent, Stage
from tests.conftest import make_candidate

pytestmark = pytest.mark.django_db
LIST = reverse("candidates:list")


def names(response) -> list[str]:
    return [c.name for c in response.context["candidates"]]


def stage(company, name: str) -> Stage:
    return Stage.objects.get(company=company, name=name)


@pytest.fixture
def people(company):
    return {
        "hanako": make_candidate(company, email="hanako@example.com"),
        "taro": make_candidate(
            company,
            last_name="佐藤",
            first_name="太郎",
            last_name_kana="サトウ",
            first_name_kana="タロウ",
            email="taro.sato@mail.example.net",
            university="京都大学",
            graduation_year=2028,
            stage=stage(company, "一次面接"),
        ),
        "kenta": make_candidate(
            company,
            last_name="小山",
            first_name="健太",
            last_name_kana="コヤマ",
            first_name_kana="ケンタ",
            email="kenta@example.org",
            university="早稲田大学",
            graduation_year=None,
            stage=stage(company, "内定"),
        ),
    }


def test_search_matches_name(recruiter_client, people):
    assert names(recruiter_client.get(LIST, {"q": "佐藤"})) == ["佐藤 太郎"]


def test_search_matches_kana(recruiter_client, people):
    assert names(recruiter_client.get(LIST, {"q": "サトウ"})) == ["佐藤 太郎"]


def test_search_in_hiragana_matches_katakana_kana(recruiter_client, people):
    assert names(recruiter_client.get(LIST, {"q": "さとう"})) == ["佐藤 太郎"]


def test_search_matches_email_fragment(recruiter_client, people):
    assert names(recruiter_client.get(LIST, {"q": "mail.example"})) == ["佐藤 太郎"]


def test_search_is_case_and_width_insensitive(recruiter_client, people):
    assert names(recruiter_client.get(LIST, {"q": "ＴＡＲＯ"})) == ["佐藤 太郎"]


def test_search_matches_university(recruiter_client, people):
    assert names(recruiter_client.get(LIST, {"q": "早稲田"})) == ["小山 健太"]


def test_search_matches_full_name_without_space(recruiter_client, people):
    assert names(recruiter_client.get(LIST, {"q": "山田花子"})) == ["山田 花子"]


def test_search_matches_full_name_with_space(recruiter_client, people):
    assert names(recruiter_client.get(LIST, {"q": "山田 花子"})) == ["山田 花子"]
    assert names(recruiter_client.get(LIST, {"q": "山田\u3000花子"})) == ["山田 花子"]


def test_search_matches_full_kana_with_or_without_space(recruiter_client, people):
    assert names(recruiter_client.get(LIST, {"q": "ヤマダハナコ"})) == ["山田 花子"]
    assert names(recruiter_client.get(LIST, {"q": "ヤマダ ハナコ"})) == ["山田 花子"]


def test_short_term_matches_start_of_a_field(recruiter_client, people):
    # 「山」 starts 山田 but only sits inside 小山: one or two characters match at the start.
    assert names(recruiter_client.get(LIST, {"q": "山"})) == ["山田 花子"]
    assert names(recruiter_client.get(LIST, {"q": "健"})) == ["小山 健太"]


def test_longer_term_matches_inside_a_field(recruiter_client, people):
    assert names(recruiter_client.get(LIST, {"q": "ヤマケン"})) == ["小山 健太"]
    assert names(recruiter_client.get(LIST, {"q": "小山健"})) == ["小山 健太"]
    assert names(recruiter_client.get(LIST, {"q": "都大学"})) == ["佐藤 太郎"]


def test_filter_by_stage(recruiter_client, company, people):
    response = recruiter_client.get(LIST, {"stage": stage(company, "一次面接").pk})
    assert names(response) == ["佐藤 太郎"]


def test_filter_by_graduation_year(recruiter_client, people):
    assert names(recruiter_client.get(LIST, {"year": 2028})) == ["佐藤 太郎"]


def test_filter_by_missing_graduation_year(recruiter_client, people):
    assert names(recruiter_client.get(LIST, {"year": "none"})) == ["小山 健太"]


def test_filter_by_agent_yes_and_no(recruiter_client, company, people):
    agent = Agent.objects.create(company=company, agency_name="株式会社キャリア")
    people["taro"].agent = agent
    people["taro"].save()
    assert names(recruiter_client.get(LIST, {"agent": "yes"})) == ["佐藤 太郎"]
    assert sorted(names(recruiter_client.get(LIST, {"agent": "no"}))) == ["小山 健太", "山田 花子"]


def test_filters_combine_with_search(recruiter_client, company, people):
    response = recruiter_client.get(LIST, {"q": "example", "stage": stage(company, "内定").pk})
    assert names(response) == ["小山 健太"]


def test_malformed_filter_values_are_ignored(recruiter_client, people):
    response = recruiter_client.get(LIST, {"stage": "abc", "year": "x", "sort": "evil", "per_page": "9999"})
    assert response.status_code == 200
    assert len(names(response)) == 3


def test_default_sort_is_newest_first(recruiter_client, people):
    assert names(recruiter_client.get(LIST)) == ["小山 健太", "佐藤 太郎", "山田 花子"]


def test_sort_by_kana(recruiter_client, people):
    assert names(recruiter_client.get(LIST, {"sort": "kana"})) == ["小山 健太", "佐藤 太郎", "山田 花子"]
    assert names(recruiter_client.get(LIST, {"sort": "-kana"})) == ["山田 花子", "佐藤 太郎", "小山 健太"]


def test_sort_by_graduation_year_puts_missing_last(recruiter_client, people):
    assert names(recruiter_client.get(LIST, {"sort": "year"})) == ["山田 花子", "佐藤 太郎", "小山 健太"]
    assert names(recruiter_client.get(LIST, {"sort": "-year"})) == ["佐藤 太郎", "山田 花子", "小山 健太"]


def test_sort_by_stage_follows_stage_order(recruiter_client, people):
    assert names(recruiter_client.get(LIST, {"sort": "stage"})) == ["山田 花子", "佐藤 太郎", "小山 健太"]


def test_column_header_toggles_sort_and_keeps_filters(recruiter_client, people):
    response = recruiter_client.get(LIST, {"q": "example", "sort": "kana"})
    assert response.context["columns"]["name"]["url"] == "?q=example&sort=-kana"


def make_many(company, count: int) -> None:
    for index in range(count):
        make_candidate(company, email=f"c{index}@example.com", last_name=f"候補{index:03d}")


def test_pagination_shows_50_per_page_and_total(recruiter_client, company):
    make_many(company, 120)
    response = recruiter_client.get(LIST)
    assert len(response.context["candidates"]) == 50
    body = response.content.decode()
    assert re.search(r"全 <strong[^>]*>120</strong> 件中 1〜50 件", body)
    assert 'href="?page=3"' in body


def test_pagination_last_page_and_out_of_range(recruiter_client, company):
    make_many(company, 120)
    assert len(recruiter_client.get(LIST, {"page": 3}).context["candidates"]) == 20
    assert recruiter_client.get(LIST, {"page": 99}).context["page"].number == 3


def test_page_links_keep_the_filter(recruiter_client, company):
    make_many(company, 60)
    body = recruiter_client.get(LIST, {"q": "候補"}).content.decode()
    assert 'href="?q=%E5%80%99%E8%A3%9C&amp;page=2"' in body


def test_per_page_choice(recruiter_client, company):
    make_many(company, 30)
    assert len(recruiter_client.get(LIST, {"per_page": 20}).context["candidates"]) == 20


def test_query_count_does_not_grow_with_page_size(recruiter_client, company):
    agent = Agent.objects.create(company=company, agency_name="株式会社キャリア")
    for index in range(100):
        make_candidate(company, email=f"c{index}@example.com", agent=agent if index % 2 else None)
    counts = []
    for per_page in (20, 100):
        with CaptureQueriesContext(connection) as queries:
            recruiter_client.get(LIST, {"per_page": per_page})
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_empty_company_offers_add_and_import(recruiter_client):
    body = recruiter_client.get(LIST).content.decode()
    assert "候補者はまだ登録されていません" in body
    assert reverse("candidates:create") in body and reverse("candidates:import") in body


def test_no_results_offers_to_clear_filters(recruiter_client, people):
    body = recruiter_client.get(LIST, {"q": "存在しない人"}).content.decode()
    assert "条件に一致する候補者は見つかりませんでした" in body
    assert "検索条件をクリア" in body


def test_htmx_request_renders_only_the_results(recruiter_client, people):
    response = recruiter_client.get(
        LIST, {"q": "佐藤", "stage": ""}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="candidate-results"
    )
    body = response.content.decode()
    assert "<nav" not in body.split("pagination")[0]
    assert response["HX-Push-Url"] == f"{LIST}?q=%E4%BD%90%E8%97%A4"
    assert 'id="export-link" hx-swap-oob="true"' in body


def test_other_company_candidates_never_listed(recruiter_client, other_company, people):
    make_candidate(other_company, email="outsider@example.com", last_name="他社")
    assert "他社" not in recruiter_client.get(LIST).content.decode()
    assert names(recruiter_client.get(LIST, {"q": "他社"})) == []
