"""The candidate's answer page (/f/<token>/): no login, every field type, bad input refused
with a Japanese message and nothing typed lost."""

import logging
import re
from datetime import timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from customforms.models import Form, FormAnswer, FormField, FormResponse
from tests.customforms_support import PDF, answer_path, make_form, name_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def form(company) -> Form:
    return make_form(company)


def complete(form: Form, **overrides) -> dict:
    data = {
        name_of(form, "ニックネーム"): "はなこ",
        name_of(form, "志望動機"): "御社の事業に惹かれました。\n現場で学びたいです。",
        name_of(form, "説明会の満足度"): "満足",
        name_of(form, "希望職種"): ["営業", "エンジニア"],
        name_of(form, "卒業予定日"): "2027-03-20",
        name_of(form, "TOEICスコア"): "850",
        name_of(form, "大学のメールアドレス"): "hanako@u-tokyo.example.jp",
        name_of(form, "履歴書"): SimpleUploadedFile("履歴書.pdf", PDF, content_type="application/pdf"),
    }
    data.update({name_of(form, label): value for label, value in overrides.items()})
    return data


def stored(form: Form, label: str) -> object:
    return FormAnswer.objects.get(field__form=form, field__label=label).value


def test_the_page_shows_every_field_and_the_candidates_name(client, form, candidate):
    response = client.get(answer_path(candidate, form))
    assert response.status_code == 200
    text = response.content.decode()
    assert "山田 花子 様" in text
    for field in form.live_fields():
        assert field.label in text
    assert 'type="date"' in text and 'inputmode="decimal"' in text and 'type="file"' in text
    assert 'accept=".pdf,application/pdf"' in text


def test_an_unknown_token_gets_a_japanese_page_not_a_500(client, form):
    response = client.get("/f/not-a-token/")
    assert response.status_code == 404
    assert "このURLは無効です" in response.content.decode()
    assert client.get("/f/" + "x" * 5000 + "/").status_code == 404


def test_a_complete_answer_is_stored_and_the_thanks_page_lists_it(client, form, candidate):
    path = answer_path(candidate, form)
    response = client.post(path, complete(form))
    assert response.status_code == 302 and response["Location"] == path + "done/"
    assert stored(form, "希望職種") == ["営業", "エンジニア"]
    assert stored(form, "卒業予定日") == "2027-03-20"
    assert stored(form, "志望動機") == "御社の事業に惹かれました。\n現場で学びたいです。"
    resume = FormAnswer.objects.get(field__label="履歴書")
    assert resume.value == "履歴書.pdf" and resume.file_content_type == "application/pdf"
    assert resume.file.read() == PDF
    thanks = client.get(path + "done/").content.decode()
    assert "回答を受け付けました" in thanks and "hanako@u-tokyo.example.jp" in thanks and "履歴書.pdf" in thanks


def test_a_missing_required_answer_is_refused_and_what_was_typed_stays(client, form, candidate):
    response = client.post(answer_path(candidate, form), complete(form, 志望動機="", 説明会の満足度=""))
    text = response.content.decode()
    assert response.status_code == 200
    assert "この項目は必須です。" in text and "選択してください。" in text
    assert "2つの項目を確認してください" in text and "入力した内容はそのまま残っています" in text
    assert 'value="はなこ"' in text and 'value="2027-03-20"' in text
    assert "ファイルは、お手数ですがもう一度選択してください" in text
    assert not FormResponse.objects.exists()


def test_a_choice_not_offered_is_refused(client, form, candidate):
    response = client.post(answer_path(candidate, form), complete(form, 説明会の満足度="大満足", 希望職種=["総務"]))
    assert response.content.decode().count("選択肢にない値です") == 2
    assert not FormResponse.objects.exists()


@pytest.mark.parametrize(
    ("label", "value", "message"),
    [
        ("TOEICスコア", "八百五十", "数値で入力してください"),
        ("TOEICスコア", "1e5", "数値で入力してください"),
        ("TOEICスコア", "1" * 16, "数値で入力してください"),
        ("卒業予定日", "2027/13/40", "日付の形式が正しくありません"),
        ("卒業予定日", "0001-01-01", "日付の形式が正しくありません"),
        ("大学のメールアドレス", "hanako@", "メールアドレスの形式が正しくありません"),
    ],
)
def test_badly_formatted_answers_are_refused_with_a_message(client, form, candidate, label, value, message):
    response = client.post(answer_path(candidate, form), complete(form, **{label: value}))
    assert message in response.content.decode()
    assert f'value="{value}"' in response.content.decode()
    assert not FormResponse.objects.exists()


def test_full_width_digits_and_slashed_dates_are_understood(client, form, candidate):
    client.post(answer_path(candidate, form), complete(form, TOEICスコア="１,２００", 卒業予定日="２０２７/３/２０"))
    assert stored(form, "TOEICスコア") == "1200"
    assert stored(form, "卒業予定日") == "2027-03-20"


def test_a_100000_character_answer_is_refused_with_the_count_and_kept(client, form, candidate):
    essay = "あ" * 100_000
    response = client.post(answer_path(candidate, form), complete(form, 志望動機=essay))
    text = response.content.decode()
    assert "4,000文字以内で入力してください（現在100,000文字）。" in text
    assert essay in text
    assert not FormResponse.objects.exists()


def test_nul_characters_are_taken_out_and_the_candidate_is_told(client, form, candidate):
    response = client.post(answer_path(candidate, form), complete(form, ニックネーム="はな\x00こ"))
    text = response.content.decode()
    assert "使用できない文字（NUL文字）が含まれていたため取り除きました" in text
    assert 'value="はなこ"' in text and "\x00" not in text
    assert not FormResponse.objects.exists()


def test_a_once_only_form_shows_the_answer_instead_of_the_form_afterwards(client, form, candidate):
    path = answer_path(candidate, form)
    client.post(path, complete(form))
    response = client.get(path)
    text = response.content.decode()
    assert response.status_code == 200
    assert "このフォームには回答済みです" in text and "御社の事業に惹かれました。" in text
    assert "<form" not in text


def test_a_second_answer_to_a_once_only_form_is_refused_and_shown_back(client, form, candidate):
    path = answer_path(candidate, form)
    client.post(path, complete(form))
    response = client.post(answer_path(candidate, form), complete(form, 志望動機="二度目の回答"))
    text = response.content.decode()
    assert "このフォームには回答済みです" in text and "今回の内容は送信されませんでした" in text
    assert "二度目の回答" in text
    assert stored(form, "志望動機") == "御社の事業に惹かれました。\n現場で学びたいです。"
    assert FormResponse.objects.count() == 1


def test_an_editable_form_shows_the_answers_and_replaces_them(client, company, candidate):
    form = make_form(company, answer_policy=Form.AnswerPolicy.EDITABLE)
    path = answer_path(candidate, form)
    client.post(path, complete(form))
    page = client.get(path).content.decode()
    assert "回答済みです" in page and 'value="はなこ"' in page and "送信済み：履歴書.pdf" in page
    data = complete(form, ニックネーム="ハナ", 希望職種=["企画"])
    del data[name_of(form, "履歴書")]
    client.post(path, data)
    response = FormResponse.objects.get()
    assert response.edit_count == 1
    assert stored(form, "ニックネーム") == "ハナ" and stored(form, "希望職種") == ["企画"]
    resume = FormAnswer.objects.get(field__label="履歴書")
    assert resume.value == "履歴書.pdf" and resume.file.read() == PDF


def test_replacing_a_file_removes_the_old_one_from_storage(
    client, company, candidate, django_capture_on_commit_callbacks
):
    form = make_form(company, answer_policy=Form.AnswerPolicy.EDITABLE)
    path = answer_path(candidate, form)
    client.post(path, complete(form))
    old = FormAnswer.objects.get(field__label="履歴書").file
    with django_capture_on_commit_callbacks(execute=True):
        client.post(path, complete(form, 履歴書=SimpleUploadedFile("新.pdf", PDF)))
    assert FormAnswer.objects.get(field__label="履歴書").value == "新.pdf"
    assert not old.storage.exists(str(old.name))


def test_after_the_deadline_the_page_says_so(client, form, candidate):
    path = answer_path(candidate, form)
    with time_machine.travel(form.deadline + timedelta(minutes=1)):
        response = client.get(path)
    assert response.status_code == 410
    assert "回答期限を過ぎています" in response.content.decode()


def test_an_answer_sent_after_the_deadline_is_shown_back_not_lost(client, form, candidate):
    path = answer_path(candidate, form)
    with time_machine.travel(form.deadline + timedelta(seconds=1)):
        response = client.post(path, complete(form, 志望動機="締切直後に書き終えた志望動機"))
    text = response.content.decode()
    assert response.status_code == 410
    assert "今回の内容は送信されませんでした" in text and "締切直後に書き終えた志望動機" in text
    assert not FormResponse.objects.exists()


@pytest.mark.parametrize("state", ["unpublished", "archived"])
def test_a_form_not_taking_answers_says_so(client, form, candidate, state):
    path = answer_path(candidate, form)
    Form.objects.filter(pk=form.pk).update(
        is_published=False, archived_at=timezone.now() if state == "archived" else None
    )
    response = client.post(path, complete(form))
    assert response.status_code == 410
    assert "回答を受け付けていません" in response.content.decode()
    assert not FormResponse.objects.exists()


def test_a_required_field_added_while_the_page_was_open_is_asked_for(client, form, candidate):
    path = answer_path(candidate, form)
    data = complete(form)
    FormField.objects.create(
        company=form.company, form=form, kind="short_text", label="追加の質問", required=True, position=9
    )
    response = client.post(path, data)
    assert "この項目は必須です。" in response.content.decode()
    assert 'value="はなこ"' in response.content.decode()


def test_pages_are_never_cached_or_indexed_and_keep_their_url_to_our_site(client, form, candidate):
    response = client.get(answer_path(candidate, form))
    assert "no-store" in response["Cache-Control"]
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert response["Referrer-Policy"] == "same-origin"


def test_the_token_is_masked_in_the_request_log(client, form, candidate, caplog):
    path = answer_path(candidate, form)
    token = path.split("/")[2]
    Form.objects.filter(pk=form.pk).update(is_published=False)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        client.get(path)
    assert caplog.records and token not in caplog.text and "/f/…" in caplog.text


def test_a_body_over_djangos_upload_cap_gets_a_japanese_page_not_a_500(company, candidate, settings):
    """Only a crafted request gets here (every field has its own, far smaller limit); Django's
    CSRF check reads the body first, so the answer is the site's 400 page."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    browser = Client(enforce_csrf_checks=True)
    form = make_form(company)
    path = answer_path(candidate, form)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', browser.get(path).content.decode())
    assert token is not None
    response = browser.post(path, {"csrfmiddlewaretoken": token.group(1), name_of(form, "志望動機"): "あ" * 20_000})
    assert response.status_code == 400
    assert "送信内容を処理できませんでした" in response.content.decode()
