"""メッセージテンプレート: the company's list, create / edit / copy / delete, the refusals on
save (unknown placeholder, a link in the subject, a taken name, bad text) and the audit trail."""

import pytest
from django.urls import reverse

from hrmos.models import AuditEvent
from messaging import placeholders
from messaging.models import MessageTemplate
from messaging.placeholders import Placeholder

pytestmark = pytest.mark.django_db


def a_template(company, **fields) -> MessageTemplate:
    values = {"name": "一次面接のご案内", "category": "interview", "subject": "【{{企業名}}】面接", "body": "本文"}
    values.update(fields)
    return MessageTemplate.objects.create(company=company, **values)


def form_data(**fields) -> dict:
    values = {
        "name": "説明会のご案内",
        "category": "seminar",
        "subject": "【{{企業名}}】説明会のご案内",
        "body": "{{候補者氏名}}様\n{{送信者名}}です。",
    }
    values.update(fields)
    return values


@pytest.fixture
def event_placeholders(monkeypatch):
    """A placeholder that needs a context, and a personal link, as the events app registers them."""
    for placeholder in (
        Placeholder(
            "イベント名", "イベントのタイトル", needs="event", needs_label="イベント", value=lambda r: "説明会"
        ),
        Placeholder(
            "イベント申込URL", "申込URL", needs="event", needs_label="イベント", link=lambda r, t, n: "https://x/"
        ),
    ):
        monkeypatch.setitem(placeholders._registry, placeholder.name, placeholder)


def test_the_list_shows_an_empty_state_with_a_way_to_create(recruiter_client):
    page = recruiter_client.get(reverse("messaging:template_list")).content.decode()
    assert "まだテンプレートはありません。" in page
    assert reverse("messaging:template_create") in page


def test_the_list_shows_only_the_companys_templates(recruiter_client, company, other_company):
    a_template(company, name="自社のテンプレート")
    a_template(other_company, name="よその会社のテンプレート")
    page = recruiter_client.get(reverse("messaging:template_list")).content.decode()
    assert "自社のテンプレート" in page and "よその会社のテンプレート" not in page


def test_the_list_filters_by_category_and_search(recruiter_client, company):
    a_template(company, name="一次面接のご案内", category="interview")
    a_template(company, name="不合格のご連絡", category="result", subject="選考結果")
    page = recruiter_client.get(reverse("messaging:template_list") + "?category=result").content.decode()
    assert "不合格のご連絡" in page and "一次面接のご案内" not in page
    page = recruiter_client.get(reverse("messaging:template_list") + "?q=面接").content.decode()
    assert "一次面接のご案内" in page and "不合格のご連絡" not in page


def test_creating_a_template_saves_it_for_the_company_and_audits(recruiter_client, company, recruiter):
    response = recruiter_client.post(reverse("messaging:template_create"), form_data(), follow=True)
    assert "テンプレート「説明会のご案内」を作成しました。" in response.content.decode()
    template = MessageTemplate.objects.get()
    assert (template.company, template.category, template.created_by) == (company, "seminar", recruiter)
    event = AuditEvent.objects.get(action="messaging.template_created")
    assert event.company == company and event.data["template_id"] == template.pk


def test_an_unknown_placeholder_is_refused_on_save_naming_each(recruiter_client):
    response = recruiter_client.post(
        reverse("messaging:template_create"),
        form_data(subject="{{会社名}}のご案内", body="{{氏名}}様\n{{候補者氏名}}様\n{{面接日}}"),
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "使用できない差し込み項目があります：{{会社名}}" in page
    assert "使用できない差し込み項目があります：{{氏名}}、{{面接日}}" in page
    assert not MessageTemplate.objects.exists()
    assert "{{氏名}}様" in page  # nothing typed is lost


def test_a_placeholder_that_needs_a_context_may_be_saved(recruiter_client, event_placeholders):
    response = recruiter_client.post(
        reverse("messaging:template_create"), form_data(body="{{イベント名}}のご案内\n{{イベント申込URL}}")
    )
    assert response.status_code == 302
    assert MessageTemplate.objects.get().body.startswith("{{イベント名}}")


def test_a_personal_link_in_the_subject_is_refused(recruiter_client, event_placeholders):
    response = recruiter_client.post(
        reverse("messaging:template_create"), form_data(subject="{{イベント申込URL}}", body="本文")
    )
    assert "{{イベント申込URL}} は本文でのみ使えます（件名にURLは入れられません）。" in response.content.decode()
    assert not MessageTemplate.objects.exists()


def test_the_editor_offers_every_placeholder_with_click_to_insert(recruiter_client, event_placeholders):
    page = recruiter_client.get(reverse("messaging:template_create")).content.decode()
    assert 'data-insert-placeholder="{{候補者氏名}}"' in page
    assert 'data-insert-placeholder="{{送信者部署}}"' in page
    assert "イベントを選んだ送信で使える項目" in page and 'data-insert-placeholder="{{イベント名}}"' in page


def test_a_name_the_company_already_uses_is_refused(recruiter_client, company, other_company):
    a_template(company, name="説明会のご案内")
    a_template(other_company, name="重複しない名前")
    response = recruiter_client.post(reverse("messaging:template_create"), form_data())
    assert "同じ名前のテンプレートがすでにあります。" in response.content.decode()
    response = recruiter_client.post(reverse("messaging:template_create"), form_data(name="重複しない名前"))
    assert response.status_code == 302  # another company's name does not count


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "このフィールドは必須です。"),
        ({"body": "   "}, "このフィールドは必須です。"),
        ({"body": "本文\x00です"}, "使用できない文字（NUL文字）が含まれています。"),
        ({"body": "あ" * 20_001}, "本文は20,000文字以内で入力してください（20001文字あります）。"),
        ({"subject": "件" * 201}, "201"),
        ({"category": "nope"}, "正しく選択してください。"),
    ],
)
def test_bad_input_gets_a_clear_message_and_saves_nothing(recruiter_client, fields, message):
    response = recruiter_client.post(reverse("messaging:template_create"), form_data(**fields))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not MessageTemplate.objects.exists()


def test_editing_changes_the_template_and_audits(recruiter_client, company, recruiter):
    template = a_template(company)
    response = recruiter_client.post(
        reverse("messaging:template_edit", args=[template.pk]),
        form_data(name="一次面接のご案内（オンライン）", category="interview"),
    )
    assert response.status_code == 302
    template.refresh_from_db()
    assert template.name == "一次面接のご案内（オンライン）" and template.updated_by == recruiter
    assert AuditEvent.objects.filter(action="messaging.template_updated", data__template_id=template.pk).exists()


def test_saving_under_its_own_name_is_not_a_duplicate(recruiter_client, company):
    template = a_template(company, name="説明会のご案内")
    response = recruiter_client.post(reverse("messaging:template_edit", args=[template.pk]), form_data())
    assert response.status_code == 302


def test_copy_opens_a_prefilled_form_and_creates_only_on_save(recruiter_client, company):
    source = a_template(company, subject="【{{企業名}}】一次面接", body="面接の本文")
    page = recruiter_client.get(reverse("messaging:template_copy", args=[source.pk])).content.decode()
    assert 'value="一次面接のご案内のコピー"' in page and "面接の本文" in page
    assert MessageTemplate.objects.count() == 1
    response = recruiter_client.post(
        reverse("messaging:template_copy", args=[source.pk]),
        form_data(name="一次面接のご案内のコピー", category="interview", body="面接の本文（改）"),
    )
    assert response.status_code == 302
    copy = MessageTemplate.objects.get(name="一次面接のご案内のコピー")
    assert copy.body == "面接の本文（改）" and copy.pk != source.pk
    source.refresh_from_db()
    assert source.body == "面接の本文"
    event = AuditEvent.objects.get(action="messaging.template_copied")
    assert event.data == {"template_id": copy.pk, "copied_from": source.pk}


def test_a_second_copy_gets_a_numbered_name(recruiter_client, company):
    source = a_template(company)
    a_template(company, name="一次面接のご案内のコピー")
    page = recruiter_client.get(reverse("messaging:template_copy", args=[source.pk])).content.decode()
    assert 'value="一次面接のご案内のコピー（2）"' in page


def test_deleting_removes_it_and_audits(recruiter_client, company):
    template = a_template(company)
    response = recruiter_client.post(reverse("messaging:template_delete", args=[template.pk]), follow=True)
    assert "テンプレート「一次面接のご案内」を削除しました。" in response.content.decode()
    assert not MessageTemplate.objects.exists()
    assert AuditEvent.objects.filter(action="messaging.template_deleted", data__template_id=template.pk).exists()


def test_delete_is_post_only(recruiter_client, company):
    template = a_template(company)
    assert recruiter_client.get(reverse("messaging:template_delete", args=[template.pk])).status_code == 405
    assert MessageTemplate.objects.exists()


@pytest.mark.parametrize("view", ["template_edit", "template_copy", "template_delete", "template_content"])
def test_another_companys_template_is_404_everywhere(client, other_company_recruiter, company, view):
    template = a_template(company)
    client.force_login(other_company_recruiter)
    url = reverse(f"messaging:{view}", args=[template.pk])
    statuses = {client.get(url).status_code, client.post(url, form_data()).status_code}
    assert 404 in statuses and statuses <= {404, 405}
    template.refresh_from_db()
    assert MessageTemplate.objects.count() == 1 and template.name == "一次面接のご案内"


def test_the_tenancy_sweep_knows_the_template_urls():
    from tests.test_tenancy_sweep import OBJECT_ROUTES

    names = {route.name for route in OBJECT_ROUTES}
    assert {
        "messaging:template_edit",
        "messaging:template_copy",
        "messaging:template_delete",
        "messaging:template_content",
    } <= names


def test_the_editor_preview_fills_the_sample_candidate(recruiter_client, company):
    from tests.conftest import make_candidate

    make_candidate(company, last_name="青木", first_name="一郎", email="aoki@example.com")
    response = recruiter_client.post(
        reverse("messaging:template_preview"), {"subject": "{{企業名}}より", "body": "{{候補者氏名}}様 {{氏名}}"}
    )
    page = response.content.decode()
    assert "株式会社テストより" in page and "青木 一郎様" in page
    assert "使用できない差し込み項目があります" in page and "{{氏名}}" in page


def test_without_candidates_the_preview_uses_a_made_up_one(recruiter_client):
    page = recruiter_client.post(reverse("messaging:template_preview"), {"body": "{{候補者氏名}}様"}).content.decode()
    assert "山田 花子様" in page and "見本" in page


def test_a_search_with_a_nul_character_is_not_an_error(recruiter_client, company):
    a_template(company)
    response = recruiter_client.get(reverse("messaging:template_list") + "?q=面接%00&page=99999")
    assert response.status_code == 200 and "一次面接のご案内" in response.content.decode()


def test_two_saves_of_one_name_make_one_template(company, recruiter):
    from messaging.message_templates import actions

    a_template(company, name="説明会のご案内")
    second = MessageTemplate(company=company, name="説明会のご案内", body="本文")
    with pytest.raises(actions.DuplicateName):
        actions.save_template(second, user=recruiter)  # the form's check passed before the first committed
    assert second.pk is None and MessageTemplate.objects.count() == 1
