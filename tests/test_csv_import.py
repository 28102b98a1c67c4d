import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from candidates import csv_io
from candidates.models import Agent, Candidate, ImportBatch
from tests.conftest import make_candidate

pytestmark = pytest.mark.django_db

GOOD = (
    "氏名,フリガナ,メールアドレス,電話番号,大学,学部,卒業年度,選考ステップ,"
    "エージェント会社名,担当者名,担当者メールアドレス,メモ\n"
    "山田 太郎,やまだ たろう,Taro@Example.com,090-1111-2222,東京大学,経済学部,2028,一次面接,"
    "株式会社キャリア,佐野,sano@career.example.com,説明会参加\n"
    "佐藤 花子,サトウ ハナコ,hanako.sato@example.com,,京都大学,法学部,27卒,,,,,\n"
)


def upload(client, content: bytes, name: str = "list.csv"):
    return client.post(reverse("candidates:import"), {"file": SimpleUploadedFile(name, content, "text/csv")})


def preview(client, content: bytes):
    response = upload(client, content)
    assert response.status_code == 302, response.content.decode()
    return client.get(response["Location"]), ImportBatch.objects.get()


def confirm(client, batch):
    return client.post(reverse("candidates:import_confirm", args=[batch.pk]), follow=True)


def error_text(response) -> str:
    return " ".join(error for row in response.context["validation"].rows for error in row.errors)


def test_utf8_file_imports_after_preview(recruiter_client, company):
    page, batch = preview(recruiter_client, GOOD.encode("utf-8"))
    assert page.context["validation"].ok
    assert "UTF-8" in page.content.decode()
    response = confirm(recruiter_client, batch)
    assert "2件の候補者をインポートしました。" in response.content.decode()
    taro = Candidate.objects.get(email="taro@example.com")
    assert (taro.last_name, taro.first_name, taro.last_name_kana, taro.first_name_kana) == (
        "山田",
        "太郎",
        "ヤマダ",
        "タロウ",
    )
    assert (taro.stage.name, taro.graduation_year, taro.agent.agency_name) == ("一次面接", 2028, "株式会社キャリア")
    assert taro.company == company and "ヤマダタロウ" in taro.search_text
    hanako = Candidate.objects.get(email="hanako.sato@example.com")
    assert (hanako.stage.name, hanako.graduation_year, hanako.agent) == ("エントリー", 2027, None)
    assert not ImportBatch.objects.exists()


def test_utf8_with_bom_is_read(recruiter_client):
    page, _ = preview(recruiter_client, ("\ufeff" + GOOD).encode("utf-8"))
    assert page.context["batch"].headers[0] == "氏名"
    assert page.context["validation"].ok


def test_cp932_file_from_excel_is_read(recruiter_client):
    page, batch = preview(recruiter_client, GOOD.replace("\n", "\r\n").encode("cp932"))
    assert batch.encoding == "Shift_JIS (CP932)"
    assert page.context["validation"].rows[0].values["last_name"] == "山田"
    confirm(recruiter_client, batch)
    assert Candidate.objects.count() == 2


def test_undecodable_file_is_refused_with_a_message(recruiter_client):
    response = upload(recruiter_client, b"\xff\xfe\x81\xff" * 10)
    assert "文字コードを判別できませんでした" in response.content.decode()
    assert not ImportBatch.objects.exists()


def test_header_only_file_is_refused(recruiter_client):
    assert "候補者の行がありません" in upload(recruiter_client, "氏名,メール\n".encode()).content.decode()


def test_too_many_rows_is_refused(recruiter_client, monkeypatch):
    monkeypatch.setattr(csv_io, "MAX_ROWS", 2)
    response = upload(recruiter_client, (GOOD + "鈴木 一郎,,,,,,,,,,,\n").encode())
    assert "行数が多すぎます" in response.content.decode()


def test_too_large_file_is_refused(recruiter_client, monkeypatch):
    monkeypatch.setattr(csv_io, "MAX_UPLOAD_BYTES", 100)
    assert "ファイルが大きすぎます" in upload(recruiter_client, GOOD.encode()).content.decode()


def test_bad_email_is_shown_on_its_row(recruiter_client):
    page, _ = preview(recruiter_client, "氏名,メール\n山田 太郎,not-an-email\n".encode())
    assert "メールアドレス「not-an-email」の形式が正しくありません。" in error_text(page)


def test_missing_name_is_shown(recruiter_client):
    page, _ = preview(recruiter_client, "氏名,メール\n,a@example.com\n".encode())
    assert "氏名がありません。" in error_text(page)


def test_unknown_stage_is_shown(recruiter_client):
    page, _ = preview(recruiter_client, "氏名,選考ステップ\n山田 太郎,社長面接\n".encode())
    assert "選考ステップ「社長面接」はありません" in error_text(page)


def test_bad_graduation_year_is_shown(recruiter_client):
    page, _ = preview(recruiter_client, "氏名,卒業年度\n山田 太郎,来年\n佐藤 花子,1999\n".encode())
    errors = error_text(page)
    assert "卒業年度「来年」を読み取れません" in errors
    assert "卒業年度は" in errors and "（1999）" in errors


def test_duplicate_email_within_the_file_is_shown(recruiter_client):
    page, _ = preview(recruiter_client, "氏名,メール\n山田 太郎,a@example.com\n佐藤 花子,A@example.com\n".encode())
    assert page.context["validation"].rows[1].errors == ["メールアドレスが2行目と重複しています。"]


def test_email_already_in_the_company_is_shown(recruiter_client, candidate):
    page, _ = preview(recruiter_client, "氏名,メール\n山田 花子,hanako@example.com\n".encode())
    assert "このメールアドレスの候補者はすでに登録されています。" in error_text(page)


def test_every_error_is_rendered_on_the_preview(recruiter_client, candidate):
    page, _ = preview(
        recruiter_client, "氏名,メール,卒業年度,選考ステップ\n,bad,20X8,謎\n山田 花子,hanako@example.com,,\n".encode()
    )
    body = page.content.decode()
    for text in (
        "氏名がありません。",
        "形式が正しくありません",
        "読み取れません",
        "選考ステップ「謎」",
        "すでに登録されています",
    ):
        assert text in body
    assert "エラーのある行が<strong>2行</strong>あるため、インポートできません" in body
    assert 'disabled aria-disabled="true"' in body


def test_one_bad_row_imports_nothing(recruiter_client):
    _, batch = preview(recruiter_client, (GOOD + "鈴木 一郎,,bad-email,,,,,,,,,\n").encode())
    response = confirm(recruiter_client, batch)
    assert "インポートしませんでした" in response.content.decode()
    assert Candidate.objects.count() == 0 and Agent.objects.count() == 0
    assert ImportBatch.objects.filter(pk=batch.pk).exists()


def test_email_registered_after_the_preview_blocks_the_import(recruiter_client, company):
    _, batch = preview(recruiter_client, GOOD.encode())
    make_candidate(company, email="taro@example.com")
    confirm(recruiter_client, batch)
    assert Candidate.objects.count() == 1


def test_unrecognised_column_can_be_mapped_on_the_preview(recruiter_client):
    page, batch = preview(recruiter_client, "お名前（漢字）,連絡先メール\n山田 太郎,taro@example.com\n".encode())
    assert batch.mapping == ["", ""]
    assert "氏名の列が選ばれていません" in page.content.decode()
    recruiter_client.post(
        reverse("candidates:import_preview", args=[batch.pk]), {"col_0": "full_name", "col_1": "email"}
    )
    batch.refresh_from_db()
    assert batch.mapping == ["full_name", "email"]
    confirm(recruiter_client, batch)
    assert Candidate.objects.get().email == "taro@example.com"


def test_same_target_on_two_columns_is_an_error(recruiter_client):
    _, batch = preview(recruiter_client, "氏名,メール,予備メール\n山田 太郎,a@example.com,b@example.com\n".encode())
    recruiter_client.post(
        reverse("candidates:import_preview", args=[batch.pk]),
        {"col_0": "full_name", "col_1": "email", "col_2": "email"},
    )
    page = recruiter_client.get(reverse("candidates:import_preview", args=[batch.pk]))
    assert "「メールアドレス」が複数の列に割り当てられています" in page.content.decode()
    assert not page.context["validation"].ok


def test_english_and_split_headers_are_recognised():
    assert csv_io.guess_mapping(["Last Name", "First Name", "セイ", "メイ", "E-mail", "TEL", "University", "備考"]) == [
        "last_name",
        "first_name",
        "last_name_kana",
        "first_name_kana",
        "email",
        "phone",
        "university",
        "memo",
    ]


def test_full_width_space_splits_the_name(recruiter_client):
    page, _ = preview(recruiter_client, "氏名\n山田\u3000太郎\n".encode())
    values = page.context["validation"].rows[0].values
    assert (values["last_name"], values["first_name"]) == ("山田", "太郎")


def test_errors_only_view(recruiter_client):
    page, batch = preview(recruiter_client, "氏名,メール\n山田 太郎,a@example.com\n佐藤 花子,bad\n".encode())
    page = recruiter_client.get(reverse("candidates:import_preview", args=[batch.pk]), {"errors_only": "1"})
    assert [row.line for row in page.context["rows"]] == [3]


def test_existing_agent_is_reused(recruiter_client, company):
    Agent.objects.create(
        company=company, agency_name="株式会社キャリア", contact_name="佐野", contact_email="sano@career.example.com"
    )
    _, batch = preview(recruiter_client, GOOD.encode())
    confirm(recruiter_client, batch)
    assert Agent.objects.count() == 1


def test_cancel_drops_the_batch(recruiter_client):
    _, batch = preview(recruiter_client, GOOD.encode())
    recruiter_client.post(reverse("candidates:import_cancel", args=[batch.pk]))
    assert not ImportBatch.objects.exists()


def test_template_csv_has_a_bom_and_the_columns(recruiter_client):
    response = recruiter_client.get(reverse("candidates:import_template"))
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff姓,名,セイ,メイ,メールアドレス")
    assert csv_io.guess_mapping(text.lstrip("\ufeff").splitlines()[0].split(",")).count("") == 0


def test_stale_batches_are_purged_on_upload(recruiter_client, company):
    old = ImportBatch.objects.create(company=company, filename="old.csv", encoding="UTF-8")
    ImportBatch.objects.filter(pk=old.pk).update(created_at=old.created_at.replace(year=2000))
    upload(recruiter_client, GOOD.encode())
    assert not ImportBatch.objects.filter(pk=old.pk).exists()
