"""CSV import and export with hostile files: refused clearly and quickly, or imported exactly."""

import time

import pytest
from django.core.management import call_command
from django.urls import reverse

from candidates import csv_io
from candidates.management.commands import seed_demo
from candidates.models import Agent, Candidate
from hrmos.models import Company
from tests.conftest import make_candidate, make_recruiter
from tests.customforms_support import PNG
from tests.test_csv_import import confirm, preview, upload

pytestmark = pytest.mark.django_db


def refusal(response) -> str:
    assert response.status_code == 200, "a refused file stays on the upload page"
    return " ".join(response.context["form"].errors["file"])


def test_a_nul_in_a_cell_is_taken_out(recruiter_client):
    page, batch = preview(recruiter_client, "氏名,メモ\n山田 花子,メモ\x00です\n".encode())
    assert page.status_code == 200
    assert "1件の候補者をインポートしました。" in confirm(recruiter_client, batch).content.decode()
    assert Candidate.objects.get().memo == "メモです"


def test_a_file_with_20000_columns_is_refused_at_once(recruiter_client):
    header = ",".join(["氏名"] + [f"c{i}" for i in range(19_999)])
    data = (header + "\n" + ",".join(["山田 花子"] + ["x"] * 19_999) + "\n").encode()
    started = time.monotonic()
    message = refusal(upload(recruiter_client, data))
    assert time.monotonic() - started < 2
    assert "1行目の列が多すぎます（20,000列）。200列までにしてください。" in message


def test_an_unclosed_quote_is_refused_with_its_line(recruiter_client):
    message = refusal(upload(recruiter_client, '氏名,メモ\n山田 花子,"閉じていない\n佐藤 一郎,メモ\n'.encode()))
    assert "CSVの形式が正しくありません" in message and '閉じられていない「"」' in message


def test_a_png_renamed_csv_is_not_a_csv_file(recruiter_client):
    message = refusal(upload(recruiter_client, PNG, name="list.csv"))
    assert message.startswith("CSVファイルではありません（PNG画像のようです）。")


def test_binary_data_without_a_known_signature_is_not_a_csv_file(recruiter_client):
    message = refusal(upload(recruiter_client, bytes(range(256)) * 8))
    assert "CSVファイルではありません（文字ではないデータが含まれています）" in message


def test_an_apostrophe_the_user_typed_is_kept(recruiter_client):
    _, batch = preview(recruiter_client, "氏名,メモ\n山田 花子,'=1 は文字として\n佐藤 一郎,'引用\n".encode())
    confirm(recruiter_client, batch)
    assert set(Candidate.objects.values_list("memo", flat=True)) == {"'=1 は文字として", "'引用"}


MEMOS = ["\tタブで始まる", "\r復帰で始まる", "=SUM(A1)", "+81", "-5", "@mention", "'引用", "''二重", "'", "普通"]


def test_export_then_import_is_a_round_trip(client, company, other_company):
    for index, memo in enumerate(MEMOS):
        make_candidate(company, email=f"c{index}@example.com", memo=memo, phone="+81-90-1234-5678")
    client.force_login(make_recruiter(company, "exporter"))
    exported = b"".join(client.get(reverse("candidates:export")).streaming_content)
    client.force_login(make_recruiter(other_company, "importer"))
    page, batch = preview(client, exported)
    assert page.context["validation"].ok, [row.errors for row in page.context["validation"].error_rows]
    confirm(client, batch)
    imported = Candidate.objects.filter(company=other_company)
    assert sorted(imported.values_list("memo", flat=True)) == sorted(MEMOS)
    assert set(imported.values_list("phone", flat=True)) == {"+81-90-1234-5678"}


def test_an_agent_without_an_email_in_the_file_is_the_registered_one(recruiter_client, company):
    agent = Agent.objects.create(company=company, agency_name="株式会社キャリア", contact_name="佐野 瞳")
    emailed = Agent.objects.create(
        company=company, agency_name="ネクスト", contact_name="大野", contact_email="ohno@example.com"
    )
    csv_text = "氏名,エージェント会社名,担当者名\n山田 花子,株式会社キャリア,佐野　瞳\n佐藤 一郎,ネクスト,大野\n"
    _, batch = preview(recruiter_client, csv_text.encode())
    confirm(recruiter_client, batch)
    assert Agent.objects.count() == 2
    assert {c.agent for c in Candidate.objects.all()} == {agent, emailed}


def test_seed_demo_survives_duplicate_agents_and_keeps_deleted_candidates_deleted(company):
    call_command("seed_demo", stdout=None)
    demo = Company.objects.get(name=seed_demo.COMPANY_NAME)
    agency, contact, _ = seed_demo.AGENCIES[0]
    Agent.objects.create(company=demo, agency_name=agency, contact_name=contact)  # e.g. from a CSV
    deleted = Candidate.objects.filter(company=demo).order_by("pk")[:3]
    Candidate.objects.filter(pk__in=[c.pk for c in deleted]).delete()
    call_command("seed_demo", stdout=None)
    assert Candidate.objects.filter(company=demo).count() == seed_demo.CANDIDATE_COUNT - 3


def test_a_nul_in_the_search_reaches_no_query(recruiter_client, company):
    make_candidate(company, email="a@example.com", last_name="山田")
    assert recruiter_client.get(reverse("candidates:list"), {"q": "山\x00"}).status_code == 200
    export = recruiter_client.get(reverse("candidates:export"), {"q": "\x00"})
    assert b"".join(export.streaming_content).decode("utf-8-sig").startswith("姓,名")
    compose = recruiter_client.post(reverse("messaging:compose_bulk"), {"all_matching": "1", "query": "q=%00"})
    assert compose.status_code == 200


def test_the_export_escape_is_only_undone_on_the_exports_own_header():
    assert csv_io.safe_cell("'引用") == "''引用"
    assert csv_io.is_export([title for title, _ in csv_io.EXPORT_COLUMNS] + ["登録日時"])
    assert not csv_io.is_export(["氏名", "メモ"])
