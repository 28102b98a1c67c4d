"""自動送信メール設定: every automatic kind of the reference on one page; the registered ones
editable (text, the switch only where the reference allows it, the hour where there is one),
with a preview for a sample candidate; the rest shown as not active yet. Email only."""

import pytest
from django.urls import reverse

from hrmos.models import AuditEvent
from messaging import placeholders
from messaging.models import AutomaticMessageSetting, Kind
from messaging.placeholders import Placeholder
from messaging.sending import automatic
from messaging.sending.automatic import AutomaticKind, template_for
from tests.conftest import make_candidate

pytestmark = pytest.mark.django_db

URL = "/messages/templates/automatic/"


@pytest.fixture(autouse=True)
def registered(monkeypatch):
    """Two kinds as the events and forms apps register them; the others nobody has yet."""
    monkeypatch.setattr(automatic, "_kinds", {})
    event_title = Placeholder(
        "イベント名", "イベントのタイトル", needs="event", needs_label="イベント", value=lambda r: "説明会"
    )
    form_title = Placeholder("フォーム名", "フォームの名前", needs="form", needs_label="フォーム", value=lambda r: "ES")
    for placeholder in (event_title, form_title):
        monkeypatch.setitem(placeholders._registry, placeholder.name, placeholder)
    automatic.register(
        AutomaticKind(
            Kind.EVENT_REMINDER,
            default_subject="【{{企業名}}】明日は{{イベント名}}です",
            default_body="{{候補者氏名}}様\n明日は{{イベント名}}です。",
            trigger="イベント開催日の前日",
            placeholders=("イベント名",),
            can_disable=True,
            has_hour=True,
        )
    )
    automatic.register(
        AutomaticKind(
            Kind.FORM_CONFIRMATION,
            default_subject="【{{企業名}}】ご回答ありがとうございました",
            default_body="{{候補者氏名}}様\n{{フォーム名}}へのご回答を受け付けました。",
            trigger="カスタムフォームの回答時",
            placeholders=("フォーム名",),
        )
    )


def save(client, kind=Kind.EVENT_REMINDER, **fields):
    data = {"kind": kind, "action": "save", "subject": "前日のご案内", "body": "{{候補者氏名}}様\n明日です。"}
    data.update(fields)
    return client.post(URL, data)


def test_the_page_lists_every_kind_and_which_are_not_active_yet(recruiter_client):
    page = recruiter_client.get(URL).content.decode()
    for kind in sorted(automatic.AUTOMATIC_KINDS):
        assert f'id="automatic-{kind}"' in page
        assert str(Kind(kind).label) in page
    assert page.count("まだ有効になっていません") == len(automatic.AUTOMATIC_KINDS) - 2
    assert "イベント開催日の前日" in page and "【{{企業名}}】明日は{{イベント名}}です" in page
    assert "【株式会社テスト】明日は（イベント名）です" in page  # its preview


def test_the_page_says_these_go_by_email_only(recruiter_client):
    page = recruiter_client.get(URL).content.decode()
    assert "自動送信メールはメールでのみ送信されます。LINEには送信されません。" in page


def test_the_navigation_reaches_it_through_the_templates(recruiter_client):
    page = recruiter_client.get("/messages/templates/").content.decode()
    assert URL in page and "自動送信メール設定" in page


def test_saving_changes_the_companys_template_and_audits(recruiter_client, company, other_company, recruiter):
    response = save(recruiter_client, enabled="0", hour="18")
    assert response.status_code == 302 and response["Location"] == f"{URL}#automatic-event_reminder"
    template = template_for(company, Kind.EVENT_REMINDER)
    assert (template.subject, template.enabled, template.hour) == ("前日のご案内", False, 18)
    assert template_for(other_company, Kind.EVENT_REMINDER).subject == "【{{企業名}}】明日は{{イベント名}}です"
    event = AuditEvent.objects.get(action="messaging.automatic_setting_updated")
    assert (event.company, event.actor) == (company, recruiter)
    assert event.data == {"kind": "event_reminder", "enabled": False, "hour": 18}


def test_a_kind_the_reference_never_turns_off_stays_on(recruiter_client, company):
    page = recruiter_client.get(URL).content.decode()
    form = page[page.index('id="automatic-edit-form_confirmation"') :]
    form = form[: form.index("</form>")]
    assert 'name="enabled"' not in form and 'name="hour"' not in form
    assert save(recruiter_client, Kind.FORM_CONFIRMATION, enabled="0", hour="7").status_code == 302
    setting = AutomaticMessageSetting.objects.get(kind=Kind.FORM_CONFIRMATION)
    assert (setting.enabled, setting.hour) == (True, None)
    assert template_for(company, Kind.FORM_CONFIRMATION).enabled


@pytest.mark.parametrize("hour", ["24", "-1", "ten", ""])
def test_an_hour_outside_the_day_is_refused(recruiter_client, hour):
    response = save(recruiter_client, enabled="1", hour=hour)
    assert response.status_code == 200
    page = response.content.decode()
    assert "送信時刻は0時〜23時から選んでください。" in page or "送信時刻を選んでください。" in page
    assert not AutomaticMessageSetting.objects.exists()


def test_a_placeholder_the_kind_does_not_offer_is_refused(recruiter_client):
    response = save(recruiter_client, enabled="1", hour="10", body="{{フォーム名}} {{氏名}} {{LINE友達登録URL}}")
    page = response.content.decode()
    assert "このメールでは使えない差し込み項目があります：{{フォーム名}}、{{氏名}}、{{LINE友達登録URL}}" in page
    assert "{{フォーム名}} {{氏名}}" in page  # the text typed is kept
    assert not AutomaticMessageSetting.objects.exists()


def test_the_senders_department_is_refused_there(recruiter_client):
    page = save(recruiter_client, Kind.FORM_CONFIRMATION, subject="{{送信者部署}}より").content.decode()
    assert "{{送信者部署}} は自動送信のメールでは使えません（送信する採用担当者がいないため）。" in page
    assert not AutomaticMessageSetting.objects.exists()


def test_each_kind_offers_only_its_own_placeholders(recruiter_client):
    page = recruiter_client.get(URL).content.decode()
    reminder = page[page.index('id="automatic-event_reminder"') : page.index('id="automatic-form_confirmation"')]
    assert 'data-insert-placeholder="{{イベント名}}"' in reminder
    assert 'data-insert-placeholder="{{フォーム名}}"' not in reminder
    assert 'data-insert-placeholder="{{送信者部署}}"' not in reminder
    assert 'data-insert-placeholder="{{LINE友達登録URL}}"' not in reminder


def test_a_kind_nobody_registered_cannot_be_saved(recruiter_client):
    response = recruiter_client.post(
        URL, {"kind": Kind.SELECTION_RESULT, "action": "save", "subject": "件名", "body": "本文"}, follow=True
    )
    assert "この自動送信メールはまだ有効になっていないため、設定できません。" in response.content.decode()
    assert not AutomaticMessageSetting.objects.exists()


def test_reset_goes_back_to_the_defaults_and_audits(recruiter_client, company):
    save(recruiter_client, enabled="0", hour="18")
    recruiter_client.post(URL, {"kind": Kind.EVENT_REMINDER, "action": "reset"})
    template = template_for(company, Kind.EVENT_REMINDER)
    assert (template.subject, template.enabled, template.hour) == ("【{{企業名}}】明日は{{イベント名}}です", True, 10)
    assert AuditEvent.objects.filter(action="messaging.automatic_setting_reset").count() == 1


def test_the_preview_uses_the_companys_first_candidate(recruiter_client, company, other_company):
    make_candidate(other_company, last_name="越境", first_name="禁止", email="x@example.com")
    make_candidate(company, last_name="青木", first_name="一郎", email="aoki@example.com")
    page = recruiter_client.get(URL).content.decode()
    assert "青木 一郎様" in page and "明日は（イベント名）です。" in page and "越境" not in page


def test_without_candidates_the_preview_uses_a_made_up_one(recruiter_client):
    page = recruiter_client.get(URL).content.decode()
    assert "山田 花子様" in page and "見本" in page


def test_the_live_preview_flags_what_the_kind_cannot_use(recruiter_client, company):
    page = recruiter_client.post(
        reverse("messaging:automatic_preview"),
        {"kind": Kind.FORM_CONFIRMATION, "subject": "{{企業名}}", "body": "{{フォーム名}} {{イベント名}}"},
    ).content.decode()
    assert "株式会社テスト" in page and "（フォーム名）" in page
    assert "使用できない差し込み項目があります" in page and "{{イベント名}}" in page
