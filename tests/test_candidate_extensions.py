"""The registries upper floors use; each test registers inside extensions.isolated()."""

import pytest
from django.http import HttpResponse
from django.shortcuts import render
from django.test import override_settings
from django.urls import include, path, reverse

from candidates import extensions
from candidates.detail import candidate_or_404, detail_context
from candidates.listing import selected_candidates
from tests.conftest import make_candidate

pytestmark = pytest.mark.django_db


def bulk_echo(request):
    return HttpResponse(",".join(str(c.pk) for c in selected_candidates(request, request.POST)))


def tab_page(request, candidate_pk):
    candidate = candidate_or_404(request, candidate_pk)
    return render(request, "candidates/detail_base.html", detail_context(request, candidate, active_tab="notes"))


urlpatterns = [
    path("", include("hrmos.urls")),
    path("test-ext/bulk/", bulk_echo, name="test_bulk"),
    path("test-ext/<int:candidate_pk>/notes/", tab_page, name="test_notes"),
]


@pytest.fixture
def registry(settings, tmp_path):
    (tmp_path / "ext").mkdir()
    (tmp_path / "ext" / "row_badge.html").write_text('<span class="badge">ROWBADGE-{{ candidate.pk }}</span>')
    (tmp_path / "ext" / "detail_badge.html").write_text('<span class="badge">LINE友達-{{ candidate.pk }}</span>')
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], tmp_path]}]
    with extensions.isolated(), override_settings(ROOT_URLCONF=__name__):
        yield extensions


def line_status_filter() -> extensions.ListFilter:
    return extensions.ListFilter(
        key="test_line",
        label="テストLINE",
        choices=lambda company: [("friend", "友達"), ("none", "未連携")],
        apply=lambda queryset, value: queryset.filter(memo="friend") if value == "friend" else queryset,
    )


def test_registered_filter_is_rendered_and_applied(registry, recruiter_client, company):
    registry.register_list_filter(line_status_filter())
    make_candidate(company, email="a@example.com", last_name="友達", memo="friend")
    make_candidate(company, email="b@example.com", last_name="他人")
    page = recruiter_client.get(reverse("candidates:list")).content.decode()
    assert 'name="test_line"' in page and "テストLINE" in page
    response = recruiter_client.get(reverse("candidates:list"), {"test_line": "friend"})
    assert [c.last_name for c in response.context["candidates"]] == ["友達"]


def test_filter_key_cannot_shadow_the_list_parameters(registry):
    with pytest.raises(ValueError):
        registry.register_list_filter(extensions.ListFilter("q", "x", lambda c: [], lambda qs, v: qs))


def test_registrations_are_undone_after_isolated(registry):
    before = extensions.list_filters()
    with extensions.isolated():
        registry.register_list_filter(line_status_filter())
        assert "test_line" in [f.key for f in extensions.list_filters()]
    assert extensions.list_filters() == before


def test_row_badge_is_included_per_row(registry, recruiter_client, candidate):
    registry.register_row_badge("ext/row_badge.html")
    assert f"ROWBADGE-{candidate.pk}" in recruiter_client.get(reverse("candidates:list")).content.decode()


def test_detail_badge_is_shown_next_to_the_email(registry, recruiter_client, candidate):
    registry.register_detail_badge("ext/detail_badge.html")
    body = recruiter_client.get(reverse("candidates:detail", args=[candidate.pk])).content.decode()
    assert body.index("hanako@example.com") < body.index(f"LINE友達-{candidate.pk}")


def test_queryset_hook_is_applied_to_list_and_detail(registry, recruiter_client, candidate):
    seen = []

    def hook(queryset):
        seen.append(queryset.model.__name__)
        return queryset

    registry.register_queryset_hook(hook)
    recruiter_client.get(reverse("candidates:list"))
    recruiter_client.get(reverse("candidates:detail", args=[candidate.pk]))
    assert seen == ["Candidate", "Candidate"]


def test_bulk_action_button_posts_the_selection(registry, recruiter_client, company, other_company):
    registry.register_bulk_action(extensions.BulkAction(label="テスト送信", url_name="test_bulk", icon="send"))
    mine = make_candidate(company, email="a@example.com")
    foreign = make_candidate(other_company, email="b@example.com")
    page = recruiter_client.get(reverse("candidates:list")).content.decode()
    assert 'formaction="/test-ext/bulk/"' in page and "テスト送信" in page
    response = recruiter_client.post("/test-ext/bulk/", {"ids": [mine.pk, foreign.pk]})
    assert response.content.decode() == str(mine.pk)


def test_bulk_action_with_all_matching(registry, recruiter_client, company):
    registry.register_bulk_action(extensions.BulkAction(label="テスト送信", url_name="test_bulk"))
    kyoto = make_candidate(company, email="a@example.com", university="京都大学")
    make_candidate(company, email="b@example.com", university="東京大学")
    response = recruiter_client.post("/test-ext/bulk/", {"all_matching": "1", "query": "q=京都大学"})
    assert response.content.decode() == str(kyoto.pk)


def test_detail_tab_and_action_render_in_the_shared_layout(registry, recruiter_client, candidate):
    registry.register_detail_tab(extensions.DetailTab(key="notes", label="ノート", url_name="test_notes", order=20))
    registry.register_detail_action(extensions.DetailAction(label="送る", url_name="test_notes", icon="send"))
    profile = recruiter_client.get(reverse("candidates:detail", args=[candidate.pk])).content.decode()
    assert "ノート" in profile and f'href="/test-ext/{candidate.pk}/notes/"' in profile
    tab = recruiter_client.get(f"/test-ext/{candidate.pk}/notes/")
    assert [t["key"] for t in tab.context["detail_tabs"] if t["active"]] == ["notes"]
    assert "山田 花子" in tab.content.decode()


def test_tab_with_an_unknown_url_name_is_skipped(registry, recruiter_client, candidate):
    registry.register_detail_tab(extensions.DetailTab(key="gone", label="消えた", url_name="nowhere:at_all"))
    assert "消えた" not in recruiter_client.get(reverse("candidates:detail", args=[candidate.pk])).content.decode()
