"""Answers for recruiters: the per-form table, the CSV export (exactly what was answered, read
back), the candidate's フォーム回答 tab and the uploaded files."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from candidates.csv_io import BOM
from customforms import actions, response_views, uploads
from customforms.answer_forms import AnswerInput
from customforms.links import create_link
from customforms.models import Form, FormAnswer, FormField
from tests.conftest import make_candidate
from tests.customforms_support import PDF, make_form

pytestmark = pytest.mark.django_db

Kind = FormField.Kind
# Values chosen to trip a CSV round trip: commas, quotes, newlines, formula-leading text,
# a negative number, full-width spaces, emoji, and a blank.
TRICKY = {
    "ニックネーム": '=HYPERLINK("http://evil.example")',
    "志望動機": '一行目, "引用"\n二行目\r\n三行目　全角スペース 🎓',
    "説明会の満足度": "満足",
    "希望職種": ["営業", "エンジニア"],
    "卒業予定日": "2027-03-20",
    "TOEICスコア": "-5",
    "大学のメールアドレス": "",
}


def submit(form: Form, candidate, values: dict, when=None, pdf_name: str | None = "履歴書.pdf") -> None:
    link, _token = create_link(candidate, form, timezone.now())
    items = []
    for field in form.live_fields():
        if field.kind == Kind.FILE:
            if pdf_name is None:
                items.append(AnswerInput(field, ""))
                continue
            upload = SimpleUploadedFile(pdf_name, PDF)
            checked = uploads.check_upload(upload, field.file_types, field.max_file_mb)
            items.append(AnswerInput(field, checked.name, upload, checked))
        else:
            items.append(AnswerInput(field, values.get(field.label, "")))
    actions.submit_response(link, items, when or timezone.now())


def read_csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith(BOM)
    return list(csv.reader(io.StringIO(body.removeprefix(BOM), newline="")))


def unescape(cell: str) -> str:
    """What an import does with our export's formula guard (candidates/csv_io.py)."""
    return cell[1:] if len(cell) > 1 and cell[0] == "'" and cell[1] in "=+-@\t\r" else cell


def test_the_csv_export_round_trips_every_answer_exactly(recruiter_client, company, candidate):
    form = make_form(company)
    submit(form, candidate, TRICKY)
    response = recruiter_client.get(reverse("customforms:responses_export", args=[form.pk]))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="form-')
    header, row = read_csv(response)
    labels = [field.label for field in form.live_fields()]
    assert header == ["回答日時", "最終更新日時", "氏名", "フリガナ", "メールアドレス", *labels]
    assert row[2:5] == ["山田 花子", "ヤマダ ハナコ", "hanako@example.com"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", row[0]) and row[1] == row[0]
    exported = dict(zip(labels, (unescape(cell) for cell in row[5:]), strict=True))
    for label, value in TRICKY.items():
        expected = "\n".join(value) if isinstance(value, list) else value
        assert exported[label] == expected, label
    assert exported["希望職種"].split("\n") == TRICKY["希望職種"]
    assert exported["履歴書"] == "履歴書.pdf"
    assert row[5] == f"'{TRICKY['ニックネーム']}"  # the formula is text to Excel


def test_the_export_lists_newest_first_and_keeps_removed_fields(recruiter_client, company):
    form = make_form(company)
    early, late = make_candidate(company, email="a@example.com"), make_candidate(company, email="b@example.com")
    submit(form, early, {"志望動機": "先"}, when=timezone.now() - timedelta(days=1))
    submit(form, late, {"志望動機": "後"})
    FormField.objects.filter(form=form, label="志望動機").update(deleted_at=timezone.now())
    header, first, second = read_csv(recruiter_client.get(reverse("customforms:responses_export", args=[form.pk])))
    assert header[-1] == "志望動機（削除済み）"
    assert (first[4], first[-1]) == ("b@example.com", "後")
    assert (second[4], second[-1]) == ("a@example.com", "先")


def test_the_export_is_logged(recruiter_client, company, recruiter):
    from hrmos.models import AuditEvent

    form = make_form(company)
    b"".join(recruiter_client.get(reverse("customforms:responses_export", args=[form.pk])).streaming_content)
    assert AuditEvent.objects.filter(action="form.export", actor=recruiter, summary=form.name).exists()


def test_the_table_shows_one_row_per_respondent_newest_first_and_pages(recruiter_client, company, monkeypatch):
    monkeypatch.setattr(response_views, "PAGE_SIZE", 2)
    form = make_form(company)
    for index in range(3):
        person = make_candidate(company, email=f"c{index}@example.com", last_name=f"候補{index}")
        submit(form, person, {"志望動機": f"回答{index}"}, when=timezone.now() - timedelta(minutes=3 - index))
    url = reverse("customforms:responses", args=[form.pk])
    first_page = recruiter_client.get(url).content.decode()
    assert "3</strong>件" in first_page and "1 / 2" in first_page
    assert first_page.index("候補2") < first_page.index("候補1") and "候補0" not in first_page
    second_page = recruiter_client.get(url + "?page=2").content.decode()
    assert "候補0" in second_page and "候補1" not in second_page
    assert recruiter_client.get(url + "?page=abc").status_code == 200


def test_the_table_says_when_there_are_no_answers(recruiter_client, company):
    form = make_form(company)
    assert (
        "まだ回答はありません"
        in recruiter_client.get(reverse("customforms:responses", args=[form.pk])).content.decode()
    )


def test_the_candidate_tab_shows_answers_and_forms_still_unanswered(recruiter_client, company, candidate):
    answered = make_form(company)
    submit(answered, candidate, TRICKY)
    unanswered = make_form(company, name="説明会アンケート")
    create_link(candidate, unanswered, timezone.now())
    text = recruiter_client.get(reverse("customforms:candidate_tab", args=[candidate.pk])).content.decode()
    assert "フォーム回答" in text and "エントリーシート" in text
    assert "一行目, &quot;引用&quot;" in text and "エンジニア" in text
    assert "未回答のフォーム" in text and "説明会アンケート" in text
    answer = FormAnswer.objects.get(kind=Kind.FILE)
    assert reverse("customforms:answer_file", args=[answer.pk]) in text


def test_the_candidate_tab_says_when_there_is_nothing(recruiter_client, candidate):
    text = recruiter_client.get(reverse("customforms:candidate_tab", args=[candidate.pk])).content.decode()
    assert "フォームへの回答はまだありません" in text


def test_an_uploaded_file_is_a_download_with_nosniff(recruiter_client, company, candidate):
    form = make_form(company)
    submit(form, candidate, {}, pdf_name="履歴書.pdf")
    answer = FormAnswer.objects.get(kind=Kind.FILE)
    response = recruiter_client.get(reverse("customforms:answer_file", args=[answer.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == PDF


def test_a_file_answer_left_blank_has_no_download(recruiter_client, company, candidate):
    form = make_form(company)
    submit(form, candidate, {}, pdf_name=None)
    answer = FormAnswer.objects.get(kind=Kind.FILE)
    assert recruiter_client.get(reverse("customforms:answer_file", args=[answer.pk])).status_code == 404


def test_another_companys_file_is_404(client, company, candidate, other_company_recruiter):
    form = make_form(company)
    submit(form, candidate, {})
    client.force_login(other_company_recruiter)
    answer = FormAnswer.objects.get(kind=Kind.FILE)
    assert client.get(reverse("customforms:answer_file", args=[answer.pk])).status_code == 404
