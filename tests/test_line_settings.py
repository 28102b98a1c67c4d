"""The LINE管理画面 without talking to LINE: rendering, field validation, tenancy, unlink rules.

Everything that needs LINE's answer (linking, webhook, quota) is in test_line_link.py, against
the emulator.
"""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from hrmos.models import AuditEvent
from line_integration.models import LineAccount, LineIntegration
from tests.conftest import make_candidate

pytestmark = pytest.mark.django_db

M_SECRET = "0123456789abcdef0123456789ab3f9a"
L_SECRET = "fedcba9876543210fedcba98765477c1"


def linked(company, **fields) -> LineIntegration:
    """A 連携中 row as `actions.link` leaves it (built directly: these tests never call LINE)."""
    values = {
        "status": LineIntegration.Status.LINKED,
        "messaging_channel_id": "1111111111",
        "messaging_channel_secret": M_SECRET,
        "login_channel_id": "2222222222",
        "login_channel_secret": L_SECRET,
        "bot_user_id": "U" + "a" * 32,
        "bot_basic_id": "@123abcde",
        "bot_display_name": "テスト株式会社 新卒採用",
        "bot_chat_mode": "bot",
        "linked_at": timezone.now(),
    }
    values.update(fields)
    return LineIntegration.objects.create(company=company, **values)


def befriend(candidate, user_id: str = "U" + "b" * 32, state=LineAccount.FriendState.FRIEND) -> LineAccount:
    return LineAccount.objects.create(
        company=candidate.company, candidate=candidate, line_user_id=user_id, friend_state=state
    )


def page(client) -> str:
    response = client.get(reverse("line:settings"))
    assert response.status_code == 200
    return response.content.decode()


# --- the page ---------------------------------------------------------------------------


def test_unlinked_page_shows_status_urls_and_the_four_inputs(recruiter_client, company, settings):
    settings.SITE_URL = "https://ats.example.com"
    html = page(recruiter_client)
    assert 'data-line-status="unlinked"' in html
    assert "未連携" in html
    assert f'value="https://ats.example.com/line/callback/{company.public_id}/"' in html
    assert f'value="https://ats.example.com/line/webhook/{company.public_id}/"' in html
    assert 'data-copy-target="#line-callback-url"' in html
    assert 'data-copy-target="#line-webhook-url"' in html
    for name in ("messaging_channel_id", "messaging_channel_secret", "login_channel_id", "login_channel_secret"):
        assert f'name="{name}"' in html
    assert "連携を開始" in html
    assert not LineIntegration.objects.exists()  # looking creates nothing


def test_page_has_the_console_checklist_and_the_four_troubleshooting_cases(recruiter_client):
    html = page(recruiter_client)
    assert "「公開」にする" in html
    assert "非公開状態の場合は、候補者とLINE連携を行うことができません。" in html
    assert "リンクされたLINE公式アカウント" in html
    assert "「Webhookの再送」をオンにする" in html
    assert "「オフ」以外になっていると候補者とのLINE連携が行えなくなります。" in html
    assert "「連携を開始できませんでした。入力内容をご確認ください」と表示される" in html
    assert "Invalid redirect_uri value" in html
    assert "This channel is now developing status" in html
    assert "「LINE友達登録を完了できませんでした。再度お試しください。」" in html


def test_linked_page_shows_the_account_and_masked_secrets_only(recruiter_client, company):
    linked(company)
    html = page(recruiter_client)
    assert 'data-line-status="linked"' in html
    assert "テスト株式会社 新卒採用" in html
    assert "@123abcde" in html
    assert "•" * 28 + "3f9a" in html
    assert "•" * 28 + "77c1" in html
    assert M_SECRET not in html
    assert L_SECRET not in html
    assert 'value="1111111111"' in html  # channel ids are not secret and stay editable
    assert "連携を解除" in html


def test_the_add_friend_link_is_on_line_web_base(recruiter_client, company, settings):
    settings.LINE_WEB_BASE = "https://line.me"
    integration = linked(company)
    assert integration.add_friend_url == "https://line.me/R/ti/p/%40123abcde"

    settings.LINE_WEB_BASE = "http://127.0.0.1:8765"  # `make run`: the emulator's add-friend page
    assert integration.add_friend_url == "http://127.0.0.1:8765/R/ti/p/%40123abcde"
    assert 'href="http://127.0.0.1:8765/R/ti/p/%40123abcde"' in page(recruiter_client)
    assert LineIntegration(company=company).add_friend_url == ""  # no bot, no link


def test_chat_mode_on_is_flagged(recruiter_client, company):
    linked(company, bot_chat_mode="chat")
    assert "チャットが「オン」になっています" in page(recruiter_client)


def test_the_navigation_has_line_settings(recruiter_client):
    assert f'href="{reverse("line:settings")}"' in page(recruiter_client)
    assert "LINE設定" in page(recruiter_client)


def test_anonymous_users_are_sent_to_login(client):
    response = client.get(reverse("line:settings"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_staff_without_a_company_cannot_open_it(client, db):
    staff = get_user_model().objects.create_user(username="ops", password="x", is_staff=True)
    client.force_login(staff)
    assert client.get(reverse("line:settings")).status_code == 404
    assert client.post(reverse("line:unlink")).status_code == 404


# --- field validation (no call reaches LINE) ----------------------------------------------


def post_link(client, **data):
    fields = {
        "messaging_channel_id": "",
        "messaging_channel_secret": "",
        "login_channel_id": "",
        "login_channel_secret": "",
    }
    fields.update(data)
    return client.post(reverse("line:link"), fields)


def test_empty_inputs_get_field_errors(recruiter_client, company):
    response = post_link(recruiter_client)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("チャネルIDを入力してください。") == 2
    assert html.count("チャネルシークレットを入力してください。") == 2
    assert not LineIntegration.objects.filter(company=company).exists()
    assert not AuditEvent.objects.filter(action__startswith="line.").exists()


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("messaging_channel_id", "12345abcde", "チャネルIDは半角数字10桁で入力してください。"),
        ("messaging_channel_id", "123456789", "チャネルIDは半角数字10桁で入力してください。"),
        ("login_channel_id", "12345678901", "チャネルIDは半角数字10桁で入力してください。"),
        ("login_channel_id", "12345-7890", "チャネルIDは半角数字10桁で入力してください。"),
        ("messaging_channel_secret", "0123456789abcdef", "半角英数字32文字（0〜9、a〜f）"),
        ("login_channel_secret", "z" * 32, "半角英数字32文字（0〜9、a〜f）"),
        ("login_channel_secret", "a" * 33, "半角英数字32文字（0〜9、a〜f）"),
    ],
)
def test_malformed_values_get_a_field_error(recruiter_client, field, value, error):
    good = {
        "messaging_channel_id": "1111111111",
        "messaging_channel_secret": M_SECRET,
        "login_channel_id": "2222222222",
        "login_channel_secret": L_SECRET,
    }
    response = post_link(recruiter_client, **{**good, field: value})
    assert response.status_code == 200
    html = response.content.decode()
    assert error in html
    assert "is-invalid" in html
    assert not LineIntegration.objects.exists()


def test_a_rejected_form_never_echoes_the_secrets(recruiter_client):
    response = post_link(
        recruiter_client, messaging_channel_id="x", messaging_channel_secret=M_SECRET, login_channel_secret=L_SECRET
    )
    html = response.content.decode()
    assert M_SECRET not in html
    assert L_SECRET not in html


def test_the_same_channel_in_both_halves_is_refused(recruiter_client):
    response = post_link(
        recruiter_client,
        messaging_channel_id="1111111111",
        messaging_channel_secret=M_SECRET,
        login_channel_id="1111111111",
        login_channel_secret=L_SECRET,
    )
    assert "同じチャネルIDが入力されています" in response.content.decode()


def test_a_new_channel_id_needs_its_secret_again(recruiter_client, company):
    linked(company)
    response = post_link(
        recruiter_client,
        messaging_channel_id="3333333333",
        login_channel_id="2222222222",
    )
    html = response.content.decode()
    assert "チャネルIDを変更した場合は、チャネルシークレットも入力してください。" in html
    assert LineIntegration.objects.get(company=company).messaging_channel_id == "1111111111"


def test_pasted_whitespace_and_full_width_digits_are_normalised(company):
    from line_integration.linking.forms import LineSettingsForm

    form = LineSettingsForm(
        {
            "messaging_channel_id": " 1111111111 ",
            "messaging_channel_secret": f" {M_SECRET}\n",
            "login_channel_id": "２２２２２２２２２２\t",
            "login_channel_secret": L_SECRET,
        },
        integration=LineIntegration(company=company),
    )
    assert form.is_valid(), form.errors
    assert form.credentials().messaging_channel_id == "1111111111"
    assert form.credentials().login_channel_id == "2222222222"
    assert form.credentials().messaging_channel_secret == M_SECRET
    assert M_SECRET not in repr(form.credentials())


# --- unlink (no LINE call involved) ---------------------------------------------------------


def test_unlink_is_refused_while_candidates_are_line_friends(recruiter_client, company):
    linked(company)
    befriend(make_candidate(company, email="a@example.com"), "U" + "1" * 32)
    befriend(make_candidate(company, email="b@example.com"), "U" + "2" * 32, LineAccount.FriendState.BLOCKED)
    response = recruiter_client.post(reverse("line:unlink"), follow=True)
    html = response.content.decode()
    assert "LINE友達登録済みの候補者が2名いるため、連携を解除できません。" in html
    assert "友達登録済みの候補者を削除すると、解除・再連携ができるようになります。" in html
    integration = LineIntegration.objects.get(company=company)
    assert integration.is_linked
    assert integration.messaging_channel_secret == M_SECRET
    assert AuditEvent.objects.filter(company=company, action="line.unlink_refused").exists()


def test_unlink_after_the_friends_are_deleted_forgets_channels_and_secrets(recruiter_client, company, recruiter):
    linked(company, access_token="cached-token")
    candidate = make_candidate(company)
    befriend(candidate)
    candidate.delete()  # the seed's way out: deleting the candidate removes the LINE link with it
    response = recruiter_client.post(reverse("line:unlink"), follow=True)
    html = response.content.decode()
    assert "LINE連携を解除しました。" in html
    assert 'data-line-status="unlinked"' in html
    integration = LineIntegration.objects.get(company=company)
    assert integration.status == LineIntegration.Status.UNLINKED
    assert integration.messaging_channel_secret == ""
    assert integration.login_channel_secret == ""
    assert integration.access_token == ""
    assert integration.bot_user_id == ""
    event = AuditEvent.objects.get(company=company, action="line.unlinked")
    assert event.actor == recruiter
    assert M_SECRET not in str(event.data) + event.summary


def test_unlink_is_a_post(recruiter_client, company):
    linked(company)
    assert recruiter_client.get(reverse("line:unlink")).status_code == 405
    assert LineIntegration.objects.get(company=company).is_linked


# --- tenancy ----------------------------------------------------------------------------------


def test_another_companys_recruiter_sees_only_their_own_company(client, company, other_company_recruiter, settings):
    settings.SITE_URL = "https://ats.example.com"
    linked(company)
    client.force_login(other_company_recruiter)
    html = page(client)
    assert company.public_id not in html
    assert f"/line/webhook/{other_company_recruiter.company.public_id}/" in html
    assert "テスト株式会社 新卒採用" not in html
    assert 'data-line-status="unlinked"' in html


def test_another_companys_recruiter_cannot_unlink_this_company(client, company, other_company_recruiter):
    linked(company)
    client.force_login(other_company_recruiter)
    client.post(reverse("line:unlink"))
    assert LineIntegration.objects.get(company=company).is_linked
    assert not AuditEvent.objects.filter(company=company).exists()


def test_the_audit_list_shows_who_did_what(recruiter_client, company, recruiter):
    from hrmos.audit import log_action

    log_action(company, recruiter, "line.linked", "LINE連携を開始しました（テスト @123abcde）")
    html = page(recruiter_client)
    assert "連携を開始" in html
    assert "LINE連携を開始しました（テスト @123abcde）" in html
    assert recruiter.display_name in html


def test_the_admin_shows_secrets_masked_and_cannot_edit(client, company, db):
    integration = linked(company)
    admin = get_user_model().objects.create_superuser(username="root", password="x", email="r@example.com")
    client.force_login(admin)
    response = client.get(reverse("admin:line_integration_lineintegration_change", args=[integration.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "•" * 28 + "3f9a" in html
    assert M_SECRET not in html
    assert L_SECRET not in html
    assert 'type="submit" value="保存"' not in html
