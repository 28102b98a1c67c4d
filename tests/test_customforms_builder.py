"""The recruiter's form builder, through its views: create, add every field type, reorder,
edit, publish, copy, delete or archive."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from customforms.models import Form, FormAnswer, FormField, FormResponse
from hrmos.models import AuditEvent
from tests.customforms_support import EVERY_KIND, PDF, answer_path, make_form, name_of

pytestmark = pytest.mark.django_db

Kind = FormField.Kind


def field_post(spec: dict) -> dict:
    return {
        "kind": spec["kind"],
        "label": spec["label"],
        "help_text": spec.get("help_text", ""),
        "required": "on" if spec.get("required") else "",
        "options_text": "\n".join(spec.get("options", [])),
        "file_types": spec.get("file_types", []),
        "max_file_mb": spec.get("max_file_mb", 5),
    }


def create_form(client, **data) -> Form:
    defaults = {"name": "エントリーシート", "description": "", "deadline": "", "answer_policy": "once"}
    response = client.post(reverse("customforms:create"), {**defaults, **data})
    form = Form.objects.latest("pk")
    assert response.status_code == 302 and response["Location"] == reverse("customforms:detail", args=[form.pk])
    return form


def labels(form: Form) -> list[str]:
    return [field.label for field in form.live_fields()]


def at(form: Form, position: int) -> FormField:
    return form.live_fields()[position - 1]


def move(client, field: FormField, direction: str, **headers):
    url = reverse("customforms:field_move", args=[field.form_id, field.pk])
    return client.post(url, {"direction": direction}, **headers)


def test_builder_round_trip_create_add_every_kind_reorder_edit_answer_and_see_answers(
    recruiter_client, company, candidate, client
):
    deadline = (timezone.localtime() + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M")
    form = create_form(recruiter_client, description="選考の前にご回答ください。", deadline=deadline)
    assert form.company == company and not form.is_published and form.deadline is not None
    for spec in EVERY_KIND:
        response = recruiter_client.post(reverse("customforms:field_create", args=[form.pk]), field_post(spec))
        assert response.status_code == 302, response.content.decode()
    assert labels(form) == [spec["label"] for spec in EVERY_KIND]
    assert form.fields.get(kind=Kind.FILE).file_types == ["pdf"]
    assert form.fields.get(kind=Kind.MULTIPLE_CHOICE).options == ["営業", "企画", "エンジニア"]

    move(recruiter_client, at(form, len(EVERY_KIND)), "up", HTTP_HX_REQUEST="true")
    assert labels(form)[-2:] == ["履歴書", "大学のメールアドレス"]

    first = at(form, 1)
    edit = {**field_post(EVERY_KIND[0]), "label": "呼ばれたい名前", "required": "on"}
    recruiter_client.post(reverse("customforms:field_edit", args=[form.pk, first.pk]), edit)
    first.refresh_from_db()
    assert first.label == "呼ばれたい名前" and first.required

    recruiter_client.post(reverse("customforms:publish", args=[form.pk]), {"published": "1"})
    form.refresh_from_db()
    assert form.is_published

    path = answer_path(candidate, form)
    data = {
        name_of(form, "呼ばれたい名前"): "はなこ",
        name_of(form, "志望動機"): "御社で働きたいです。",
        name_of(form, "説明会の満足度"): "満足",
        name_of(form, "履歴書"): SimpleUploadedFile("cv.pdf", PDF),
    }
    assert client.post(path, data).status_code == 302

    table = recruiter_client.get(reverse("customforms:responses", args=[form.pk])).content.decode()
    assert "山田 花子" in table and "御社で働きたいです。" in table and "cv.pdf" in table
    header = table[table.index("<thead") : table.index("</thead>")]
    assert header.index("呼ばれたい名前") < header.index("履歴書") < header.index("大学のメールアドレス")
    tab = recruiter_client.get(reverse("customforms:candidate_tab", args=[candidate.pk])).content.decode()
    assert "エントリーシート" in tab and "御社で働きたいです。" in tab


def test_moving_a_field_with_htmx_answers_the_list_alone(recruiter_client, company):
    form = make_form(company)
    second = list(form.live_fields())[1]
    response = move(recruiter_client, second, "up", HTTP_HX_REQUEST="true")
    text = response.content.decode()
    assert response.status_code == 200 and text.lstrip().startswith('<ol class="list-group')
    assert "<html" not in text and f'id="field-{second.pk}"' in text and "data-moved" in text
    assert labels(form)[:2] == ["志望動機", "ニックネーム"]


def test_moving_without_htmx_goes_back_to_the_builder(recruiter_client, company):
    form = make_form(company)
    first = at(form, 1)
    response = move(recruiter_client, first, "down")
    assert response.status_code == 302 and response["Location"].endswith(f"#field-{first.pk}")
    assert labels(form)[:2] == ["志望動機", "ニックネーム"]


def test_moving_the_first_field_up_changes_nothing(recruiter_client, company):
    form = make_form(company)
    before = labels(form)
    move(recruiter_client, at(form, 1), "up")
    assert labels(form) == before


def test_a_choice_field_needs_options_without_duplicates(recruiter_client, company):
    form = make_form(company, fields=[])
    url = reverse("customforms:field_create", args=[form.pk])
    spec: dict = {"kind": Kind.SINGLE_CHOICE, "label": "満足度"}
    assert "選択肢を1つ以上入力してください。" in recruiter_client.post(url, field_post(spec)).content.decode()
    spec["options"] = ["はい", "いいえ", "はい"]
    assert "同じ選択肢が複数あります：はい" in recruiter_client.post(url, field_post(spec)).content.decode()
    assert not form.fields.exists()


def test_a_file_field_needs_at_least_one_type(recruiter_client, company):
    form = make_form(company, fields=[])
    spec = {"kind": Kind.FILE, "label": "履歴書", "file_types": []}
    response = recruiter_client.post(reverse("customforms:field_create", args=[form.pk]), field_post(spec))
    assert "許可するファイル形式を1つ以上選んでください。" in response.content.decode()


def test_builder_input_with_nul_or_huge_text_gets_a_japanese_message(recruiter_client, company):
    response = recruiter_client.post(
        reverse("customforms:create"),
        {"name": "エントリー\x00シート", "description": "説" * 100_000, "answer_policy": "once"},
    )
    text = response.content.decode()
    assert response.status_code == 200
    assert "使用できない文字（NUL文字）が含まれています" in text
    assert "2000文字以内で入力してください（現在100000文字）。" in text
    assert not Form.objects.exists()


def test_a_deadline_in_the_past_is_refused(recruiter_client):
    past = (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = recruiter_client.post(
        reverse("customforms:create"), {"name": "ES", "deadline": past, "answer_policy": "once"}
    )
    assert "回答期限には現在より後の日時を指定してください。" in response.content.decode()


def test_a_form_without_fields_cannot_be_published(recruiter_client, company):
    form = make_form(company, fields=[], is_published=False)
    response = recruiter_client.post(reverse("customforms:publish", args=[form.pk]), {"published": "1"}, follow=True)
    assert "項目が1つもないため公開できません" in response.content.decode()
    form.refresh_from_db()
    assert not form.is_published


def test_copy_makes_an_unpublished_form_with_the_same_fields(recruiter_client, company):
    form = make_form(company)
    response = recruiter_client.post(reverse("customforms:copy", args=[form.pk]))
    copy = Form.objects.latest("pk")
    assert response["Location"] == reverse("customforms:detail", args=[copy.pk])
    assert copy.name == "エントリーシートのコピー" and not copy.is_published
    assert labels(copy) == labels(form)
    assert copy.fields.get(label="希望職種").options == ["営業", "企画", "エンジニア"]


def test_deleting_a_form_without_answers_deletes_it(recruiter_client, company):
    form = make_form(company)
    recruiter_client.post(reverse("customforms:delete", args=[form.pk]))
    assert not Form.objects.exists() and not FormField.objects.exists()
    assert AuditEvent.objects.filter(action="form.delete").exists()


def answered(form: Form, candidate) -> FormResponse:
    response = FormResponse.objects.create(
        company=form.company, form=form, candidate=candidate, submitted_at=timezone.now(), updated_at=timezone.now()
    )
    field = form.fields.get(label="志望動機")
    FormAnswer.objects.create(
        company=form.company, response=response, field=field, label=field.label, kind=field.kind, value="回答です"
    )
    return response


def test_deleting_a_form_with_answers_archives_it_and_keeps_them(recruiter_client, company, candidate):
    form = make_form(company)
    answered(form, candidate)
    page = recruiter_client.get(reverse("customforms:delete", args=[form.pk])).content.decode()
    assert "1件の回答" in page and "アーカイブ" in page
    recruiter_client.post(reverse("customforms:delete", args=[form.pk]))
    form.refresh_from_db()
    assert form.archived_at is not None and not form.is_published
    assert FormAnswer.objects.filter(value="回答です").exists()
    archived = recruiter_client.get(reverse("customforms:list") + "?tab=archived").content.decode()
    assert "エントリーシート" in archived
    recruiter_client.post(reverse("customforms:restore", args=[form.pk]))
    form.refresh_from_db()
    assert form.archived_at is None and not form.is_published


def test_removing_an_answered_field_hides_it_and_keeps_its_answers(recruiter_client, company, candidate):
    form = make_form(company)
    answered(form, candidate)
    field = form.fields.get(label="志望動機")
    recruiter_client.post(reverse("customforms:field_delete", args=[form.pk, field.pk]))
    field.refresh_from_db()
    assert field.is_deleted and "志望動機" not in labels(form)
    assert [f.position for f in form.live_fields()] == list(range(1, len(EVERY_KIND)))
    table = recruiter_client.get(reverse("customforms:responses", args=[form.pk])).content.decode()
    assert "志望動機" in table and "削除済み" in table and "回答です" in table
    tab = recruiter_client.get(reverse("customforms:candidate_tab", args=[candidate.pk])).content.decode()
    assert "回答です" in tab and "削除済みの項目" in tab


def test_removing_an_unanswered_field_deletes_it(recruiter_client, company):
    form = make_form(company)
    field = form.fields.get(label="ニックネーム")
    recruiter_client.post(reverse("customforms:field_delete", args=[form.pk, field.pk]))
    assert not FormField.objects.filter(pk=field.pk).exists()


def test_the_last_field_of_a_published_form_cannot_be_removed(recruiter_client, company):
    form = make_form(company, fields=EVERY_KIND[:1])
    field = form.fields.get()
    response = recruiter_client.post(reverse("customforms:field_delete", args=[form.pk, field.pk]), follow=True)
    assert "公開中のフォームの最後の項目は削除できません" in response.content.decode()
    assert FormField.objects.filter(pk=field.pk, deleted_at__isnull=True).exists()


def test_an_answered_fields_type_cannot_change_but_its_label_can(recruiter_client, company, candidate):
    form = make_form(company)
    answered(form, candidate)
    field = form.fields.get(label="志望動機")
    url = reverse("customforms:field_edit", args=[form.pk, field.pk])
    assert "回答がある項目の種類は変更できません。" in recruiter_client.get(url).content.decode()
    recruiter_client.post(url, {**field_post({"kind": Kind.NUMBER, "label": "志望理由"}), "required": "on"})
    field.refresh_from_db()
    assert field.kind == Kind.LONG_TEXT and field.label == "志望理由"
    assert FormAnswer.objects.get().label == "志望動機"


def test_the_list_shows_status_and_counts(recruiter_client, company, candidate):
    answered(make_form(company), candidate)
    make_form(company, name="説明会アンケート", is_published=False)
    text = recruiter_client.get(reverse("customforms:list")).content.decode()
    assert "エントリーシート" in text and "説明会アンケート" in text
    assert "受付中" in text and "非公開" in text and "1件" in text


def test_the_list_says_what_to_do_when_empty(recruiter_client):
    assert "まだフォームがありません" in recruiter_client.get(reverse("customforms:list")).content.decode()


def test_the_preview_shows_the_candidates_page_without_a_working_submit(recruiter_client, company):
    form = make_form(company)
    text = recruiter_client.get(reverse("customforms:preview", args=[form.pk])).content.decode()
    assert "プレビューです" in text and "志望動機" in text and "data-preview" in text
    assert 'disabled><i class="bi bi-send"></i> 回答を送信する' in text
