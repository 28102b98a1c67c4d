import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import StreamingHttpResponse
from django.urls import reverse

from candidates.models import Agent, Candidate, ImportBatch, Stage
from hrmos.models import AuditEvent
from tests.conftest import make_candidate, make_recruiter

pytestmark = pytest.mark.django_db


def export_text(response) -> str:
    assert isinstance(response, StreamingHttpResponse)
    return response.getvalue().decode("utf-8")


def test_export_is_streamed_utf8_with_bom(recruiter_client, candidate):
    response = recruiter_client.get(reverse("candidates:export"))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="candidates-')
    text = export_text(response)
    assert text.startswith("\ufeff姓,名,セイ,メイ,メールアドレス")
    assert "山田,花子,ヤマダ,ハナコ,hanako@example.com" in text


def test_export_follows_the_current_filter_and_sort(recruiter_client, company):
    make_candidate(company, email="a@example.com", last_name="青木", last_name_kana="アオキ", university="京都大学")
    make_candidate(company, email="b@example.com", last_name="井上", last_name_kana="イノウエ", university="京都大学")
    make_candidate(company, email="c@example.com", last_name="上田", university="東京大学")
    lines = export_text(recruiter_client.get(reverse("candidates:export"), {"q": "京都", "sort": "-kana"})).splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == ["井上", "青木"]


def test_export_of_a_selection(recruiter_client, company, other_company):
    mine = make_candidate(company, email="a@example.com", last_name="選択")
    make_candidate(company, email="b@example.com", last_name="非選択")
    foreign = make_candidate(other_company, email="c@example.com", last_name="他社")
    text = export_text(recruiter_client.post(reverse("candidates:export"), {"ids": [mine.pk, foreign.pk]}))
    assert "選択" in text and "非選択" not in text and "他社" not in text


def test_export_never_includes_another_company(recruiter_client, other_company, candidate):
    make_candidate(other_company, email="x@example.com", last_name="他社")
    assert "他社" not in export_text(recruiter_client.get(reverse("candidates:export")))


def test_export_is_audited(recruiter_client, candidate):
    export_text(recruiter_client.get(reverse("candidates:export"), {"q": "山田"}))
    assert AuditEvent.objects.get(action="candidate.export").company == candidate.company


def test_formula_like_cells_are_neutralised(recruiter_client, company):
    make_candidate(company, memo='=HYPERLINK("http://evil")', email="a@example.com")
    assert "'=HYPERLINK" in export_text(recruiter_client.get(reverse("candidates:export")))


def test_export_round_trips_into_another_company(recruiter_client, client, company, other_company):
    agent = Agent.objects.create(
        company=company, agency_name="株式会社キャリア", contact_name="佐野", contact_email="s@c.example.com"
    )
    make_candidate(
        company,
        email="a@example.com",
        phone="+81-90-1111-2222",
        memo="- 箇条書き\n2行目",
        agent=agent,
        stage=Stage.objects.get(company=company, name="内定"),
    )
    make_candidate(company, email="b@example.com", last_name="佐藤", first_name="", graduation_year=None)
    data = b"".join(recruiter_client.get(reverse("candidates:export")).streaming_content)

    client.force_login(make_recruiter(other_company, "importer"))
    response = client.post(reverse("candidates:import"), {"file": SimpleUploadedFile("export.csv", data, "text/csv")})
    batch = ImportBatch.objects.get()
    assert client.get(response["Location"]).context["validation"].ok
    client.post(reverse("candidates:import_confirm", args=[batch.pk]))

    fields = [
        "last_name",
        "first_name",
        "last_name_kana",
        "first_name_kana",
        "email",
        "phone",
        "university",
        "faculty",
        "graduation_year",
        "stage__name",
        "agent__agency_name",
        "agent__contact_name",
        "agent__contact_email",
        "memo",
    ]
    original = list(Candidate.objects.filter(company=company).order_by("email").values(*fields))
    copied = list(Candidate.objects.filter(company=other_company).order_by("email").values(*fields))
    assert copied == original
