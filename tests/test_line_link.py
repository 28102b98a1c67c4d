"""連携を開始, re-verification, unlink/relink, 「Webhookを設定」 and the quota, through the
settings page, against the LINE emulator over HTTP."""

import json
import logging
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.urls import reverse

from hrmos.models import AuditEvent
from line_integration.models import LineAccount, LineIntegration
from tests.conftest import make_candidate

pytestmark = pytest.mark.django_db

LINK_FAILED = "連携を開始できませんでした。入力内容をご確認ください"
UNREACHABLE = "LINEに接続できませんでした。時間をおいて再度お試しください。"
SWAPPED = "Messaging APIとLINEログインのチャネルが逆に設定されている可能性があります。"


def form(pair, **overrides) -> dict[str, str]:
    data = {
        "messaging_channel_id": pair.messaging_channel_id,
        "messaging_channel_secret": pair.messaging_channel_secret,
        "login_channel_id": pair.login_channel_id,
        "login_channel_secret": pair.login_channel_secret,
    }
    data.update(overrides)
    return data


def post_link(client, data) -> str:
    response = client.post(reverse("line:link"), data, follow=True)
    assert response.status_code == 200
    return response.content.decode()


def link_alert(html: str) -> str:
    """The error box above the form (the page's troubleshooting text quotes the same messages)."""
    assert 'id="line-link-error"' in html, "no link error shown"
    return html.split('id="line-link-error"')[1].split("<form")[0]


def integration_of(company) -> LineIntegration | None:
    return LineIntegration.objects.filter(company=company).first()


def assert_not_linked(company) -> None:
    integration = integration_of(company)
    assert integration is None or (not integration.is_linked and integration.messaging_channel_secret == "")


# --- 連携を開始 ---------------------------------------------------------------------------------


def test_a_good_pair_links_and_shows_the_bot(recruiter_client, company, recruiter, line_emulator, line_pair):
    html = post_link(recruiter_client, form(line_pair))
    assert "LINE連携を開始しました。" in html
    assert 'data-line-status="linked"' in html
    assert "連携中" in html
    assert line_pair.oa_display_name in html
    assert line_pair.basic_id in html

    integration = integration_of(company)
    assert integration.is_linked
    assert integration.bot_user_id == line_pair.bot_user_id
    assert integration.bot_basic_id == line_pair.basic_id
    assert integration.messaging_channel_secret == line_pair.messaging_channel_secret
    assert integration.login_channel_secret == line_pair.login_channel_secret
    assert integration.linked_by == recruiter
    event = AuditEvent.objects.get(company=company, action="line.linked")
    assert event.actor == recruiter
    assert line_pair.messaging_channel_secret not in json.dumps(event.data) + event.summary
    # The Login check left no short-lived token behind (LINE caps them at 30 per channel).
    assert all(t["revoked"] for t in line_emulator.tokens(line_pair.login_channel_id))


@pytest.mark.parametrize(
    ("overrides", "which"),
    [
        (
            {"messaging_channel_secret": "0" * 32},
            "Messaging APIのチャネルIDまたはチャネルシークレットが正しくありません。",
        ),
        (
            {"messaging_channel_id": "9999999999"},
            "Messaging APIのチャネルIDまたはチャネルシークレットが正しくありません。",
        ),
        ({"login_channel_secret": "0" * 32}, "LINEログインのチャネルIDまたはチャネルシークレットが正しくありません。"),
        ({"login_channel_id": "9999999999"}, "LINEログインのチャネルIDまたはチャネルシークレットが正しくありません。"),
        (
            {"messaging_channel_secret": "0" * 32, "login_channel_secret": "1" * 32},
            "Messaging APIとLINEログインのどちらも、チャネルIDまたはチャネルシークレットが正しくありません。",
        ),
    ],
    ids=["wrong-messaging-secret", "wrong-messaging-id", "wrong-login-secret", "wrong-login-id", "both-wrong"],
)
def test_wrong_values_say_which_half_failed(recruiter_client, company, line_pair, overrides, which):
    alert = link_alert(post_link(recruiter_client, form(line_pair, **overrides)))
    assert LINK_FAILED in alert
    assert which in alert
    assert_not_linked(company)
    assert AuditEvent.objects.filter(company=company, action="line.link_failed").count() == 1


def test_swapped_channels_are_recognised(recruiter_client, company, line_pair):
    swapped = {
        "messaging_channel_id": line_pair.login_channel_id,
        "messaging_channel_secret": line_pair.login_channel_secret,
        "login_channel_id": line_pair.messaging_channel_id,
        "login_channel_secret": line_pair.messaging_channel_secret,
    }
    alert = link_alert(post_link(recruiter_client, swapped))
    assert LINK_FAILED in alert
    assert SWAPPED in alert
    assert "入力内容を入れ替えてお試しください" in alert
    assert_not_linked(company)


def test_a_login_channel_in_the_messaging_fields_is_called_out(recruiter_client, company, line_emulator, line_pair):
    second_login = line_emulator.create_login_channel(line_pair.provider_id)
    html = post_link(
        recruiter_client,
        form(
            line_pair,
            messaging_channel_id=second_login["channel_id"],
            messaging_channel_secret=second_login["channel_secret"],
        ),
    )
    assert SWAPPED in html
    assert "Messaging APIの欄に、LINEログインチャネルのチャネルIDとチャネルシークレットが入力されています。" in html
    assert_not_linked(company)


def test_a_messaging_channel_in_the_login_fields_is_called_out(recruiter_client, company, line_emulator, line_pair):
    second_oa = line_emulator.create_messaging_channel(line_pair.provider_id, display_name="別のアカウント")
    html = post_link(
        recruiter_client,
        form(line_pair, login_channel_id=second_oa["channel_id"], login_channel_secret=second_oa["channel_secret"]),
    )
    assert "LINEログインの欄に、Messaging APIチャネルのチャネルIDとチャネルシークレットが入力されています。" in html
    assert_not_linked(company)


def test_line_down_saves_nothing(recruiter_client, company, line_pair, settings):
    settings.LINE_API_BASE = "http://127.0.0.1:9"  # a closed port
    html = post_link(recruiter_client, form(line_pair))
    assert UNREACHABLE in html
    assert_not_linked(company)


@pytest.mark.parametrize("endpoint", ["POST /oauth2/v3/token", "GET /v2/bot/info", "POST /v2/oauth/accessToken"])
def test_a_line_server_error_saves_nothing(recruiter_client, company, line_emulator, line_pair, endpoint):
    line_emulator.fault(endpoint, "500")
    alert = link_alert(post_link(recruiter_client, form(line_pair)))
    assert UNREACHABLE in alert
    assert LINK_FAILED not in alert
    assert_not_linked(company)


def test_a_timeout_saves_nothing(recruiter_client, company, line_emulator, line_pair, settings):
    settings.LINE_HTTP_TIMEOUT = (2.0, 0.5)
    line_emulator.set_settings(fault_timeout_seconds=1)
    line_emulator.fault("GET /v2/bot/info", "timeout")
    assert UNREACHABLE in post_link(recruiter_client, form(line_pair))
    assert_not_linked(company)


def test_an_official_account_linked_by_another_company_is_refused(
    client, other_company_recruiter, linked_company, line_pair
):
    client.force_login(other_company_recruiter)
    html = post_link(client, form(line_pair))
    assert "別の企業アカウントで連携中です" in html
    assert_not_linked(other_company_recruiter.company)
    assert integration_of(linked_company).is_linked


# --- changing credentials while linked ------------------------------------------------------------


def test_changing_a_secret_while_linked_is_verified_and_a_bad_one_keeps_the_old_link(
    recruiter_client, linked_company, line_pair
):
    html = post_link(recruiter_client, form(line_pair, login_channel_secret="0" * 32))
    assert "LINEログインのチャネルIDまたはチャネルシークレットが正しくありません。" in html
    assert "変更は保存されていません。現在の連携はそのまま使えます。" in html
    integration = integration_of(linked_company)
    assert integration.is_linked
    assert integration.login_channel_secret == line_pair.login_channel_secret


def test_blank_secrets_keep_the_stored_ones_and_are_verified_again(recruiter_client, linked_company, line_pair):
    html = post_link(recruiter_client, form(line_pair, messaging_channel_secret="", login_channel_secret=""))
    assert "LINE連携の設定を変更しました。" in html
    assert AuditEvent.objects.filter(company=linked_company, action="line.credentials_changed").exists()
    assert integration_of(linked_company).messaging_channel_secret == line_pair.messaging_channel_secret


def test_switching_to_other_channels_while_linked(recruiter_client, linked_company, line_emulator):
    other = line_emulator.create_linked_pair(provider_name="新しいプロバイダー")
    html = post_link(recruiter_client, form(other))
    assert "LINE連携の設定を変更しました。" in html
    integration = integration_of(linked_company)
    assert integration.messaging_channel_id == other.messaging_channel_id
    assert integration.bot_user_id == other.bot_user_id


def test_switching_channels_is_refused_while_candidates_are_line_friends(
    recruiter_client, line_friend_candidate, linked_company, line_emulator, line_pair
):
    other = line_emulator.create_linked_pair(provider_name="新しいプロバイダー")
    html = post_link(recruiter_client, form(other))
    assert "LINE友達登録済みの候補者が1名いるため、別のLINE公式アカウント（Messaging APIチャネル）に" in html
    assert integration_of(linked_company).messaging_channel_id == line_pair.messaging_channel_id


def test_replacing_only_the_login_channel_is_allowed_with_friends(
    recruiter_client, line_friend_candidate, linked_company, line_emulator, line_pair
):
    new_login = line_emulator.create_login_channel(line_pair.provider_id, linked_oa=line_pair.messaging_channel_id)
    data = form(line_pair, login_channel_id=new_login["channel_id"], login_channel_secret=new_login["channel_secret"])
    assert "LINE連携の設定を変更しました。" in post_link(recruiter_client, data)
    assert integration_of(linked_company).login_channel_id == new_login["channel_id"]


# --- unlink and relink ----------------------------------------------------------------------------


def test_unlink_is_refused_with_a_line_friend(recruiter_client, line_friend_candidate, linked_company):
    html = recruiter_client.post(reverse("line:unlink"), follow=True).content.decode()
    assert "LINE友達登録済みの候補者が1名いるため、連携を解除できません。" in html
    assert integration_of(linked_company).is_linked


def test_unlink_then_relink(recruiter_client, linked_company, line_pair):
    make_candidate(linked_company, email="not-a-friend@example.com")  # candidates without LINE do not block
    html = recruiter_client.post(reverse("line:unlink"), follow=True).content.decode()
    assert "LINE連携を解除しました。" in html
    assert_not_linked(linked_company)

    html = post_link(recruiter_client, form(line_pair))
    assert "LINE連携を開始しました。" in html
    integration = integration_of(linked_company)
    assert integration.is_linked
    assert integration.bot_user_id == line_pair.bot_user_id
    actions = list(AuditEvent.objects.filter(company=linked_company).values_list("action", flat=True))
    assert actions[:3] == ["line.linked", "line.unlinked", "line.linked"]


def test_relink_works_after_the_friend_is_deleted(recruiter_client, line_friend_candidate, linked_company, line_pair):
    line_friend_candidate.delete()
    assert not LineAccount.objects.exists()
    recruiter_client.post(reverse("line:unlink"))
    assert "LINE連携を開始しました。" in post_link(recruiter_client, form(line_pair))


# --- 「Webhookを設定」 ------------------------------------------------------------------------------


@pytest.fixture
def webhook_receiver() -> Iterator[tuple[str, list[dict]]]:
    """A tiny local HTTP server standing in for the app's webhook view: answers 200 and records."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append(
                {"path": self.path, "body": json.loads(body), "signature": self.headers["x-line-signature"]}
            )
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()


def test_webhook_setup_sets_the_url_and_shows_a_successful_test(
    recruiter_client, linked_company, line_emulator, line_pair, settings, webhook_receiver
):
    site, received = webhook_receiver
    settings.SITE_URL = site
    response = recruiter_client.post(reverse("line:setup_webhook"), headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "動作確認に成功しました" in html
    assert 'hx-swap-oob="true"' in html  # the checklist and the audit list are refreshed too

    expected = f"{site}/line/webhook/{linked_company.public_id}/"
    assert line_emulator.channel(line_pair.messaging_channel_id)["webhook_url"] == expected
    assert received[0]["path"] == f"/line/webhook/{linked_company.public_id}/"
    assert received[0]["body"] == {"destination": line_pair.bot_user_id, "events": []}
    integration = integration_of(linked_company)
    assert (integration.webhook_test_success, integration.webhook_test_status_code) == (True, 200)
    assert integration.webhook_active is True
    assert AuditEvent.objects.filter(company=linked_company, action="line.webhook_set").exists()
    assert "動作確認に成功しました" in recruiter_client.get(reverse("line:settings")).content.decode()


def test_a_failed_webhook_test_is_stored_and_explained(
    recruiter_client, linked_company, line_emulator, line_pair, settings
):
    """Whatever the app's webhook answers today (it is another issue's view), the attempt is reported."""
    settings.SITE_URL = "http://127.0.0.1:9"  # nobody listens
    html = recruiter_client.post(reverse("line:setup_webhook"), follow=True).content.decode()
    assert "動作確認に失敗しました：接続できませんでした" in html
    integration = integration_of(linked_company)
    assert integration.webhook_test_success is False
    assert integration.webhook_test_reason == "COULD_NOT_CONNECT"
    assert line_emulator.webhook_log(line_pair.messaging_channel_id)[-1]["reason"] == "could_not_connect"


def test_a_webhook_url_line_refuses_is_explained(recruiter_client, linked_company, settings):
    settings.SITE_URL = "http://ats.example.com"  # LINE wants HTTPS
    html = recruiter_client.post(reverse("line:setup_webhook"), follow=True).content.decode()
    assert "LINEがWebhook URLを受け付けませんでした（Invalid webhook endpoint URL）。" in html
    assert integration_of(linked_company).webhook_endpoint == ""


def test_webhook_setup_when_line_is_down(recruiter_client, linked_company, settings):
    settings.LINE_API_BASE = "http://127.0.0.1:9"
    html = recruiter_client.post(reverse("line:setup_webhook"), headers={"HX-Request": "true"}).content.decode()
    assert "Webhook URLを設定できませんでした。" + UNREACHABLE in html


def test_webhook_setup_needs_a_link(recruiter_client, company):
    html = recruiter_client.post(reverse("line:setup_webhook"), follow=True).content.decode()
    assert "先に「連携を開始」してください。" in html


# --- quota ------------------------------------------------------------------------------------------


def test_quota_without_a_limit(recruiter_client, linked_company):
    html = recruiter_client.get(reverse("line:quota")).content.decode()
    assert "上限なし" in html


def test_quota_with_a_limit_shows_usage_and_what_is_left(recruiter_client, linked_company, line_emulator, line_pair):
    line_emulator.set_channel(
        line_pair.messaging_channel_id, quota={"type": "limited", "value": 1000}, monthly_usage=120
    )
    html = recruiter_client.get(reverse("line:quota")).content.decode()
    assert "120" in html
    assert "/ 1000 通" in html
    assert "残り 880 通" in html


def test_quota_when_line_fails(recruiter_client, linked_company, line_emulator):
    line_emulator.fault("GET /v2/bot/message/quota", "500")
    html = recruiter_client.get(reverse("line:quota")).content.decode()
    assert "LINEから送信数を取得できませんでした。" in html


def test_the_page_loads_the_quota_with_htmx(recruiter_client, linked_company):
    html = recruiter_client.get(reverse("line:settings")).content.decode()
    assert f'hx-get="{reverse("line:quota")}"' in html


# --- tenancy ------------------------------------------------------------------------------------------


def test_another_company_linking_changes_only_its_own_settings(
    client, other_company_recruiter, linked_company, line_emulator
):
    theirs = line_emulator.create_linked_pair(provider_name="よそのプロバイダー")
    client.force_login(other_company_recruiter)
    html = post_link(client, form(theirs))
    assert "LINE連携を開始しました。" in html
    assert theirs.oa_display_name in html
    assert integration_of(other_company_recruiter.company).bot_user_id == theirs.bot_user_id
    mine = integration_of(linked_company)
    assert mine.messaging_channel_id != theirs.messaging_channel_id
    assert not AuditEvent.objects.filter(company=linked_company, actor=other_company_recruiter).exists()


# --- secrets never leak ---------------------------------------------------------------------------------


def test_secrets_and_tokens_never_reach_a_page_a_log_or_an_email(
    recruiter_client, company, line_emulator, line_pair, caplog, settings, webhook_receiver
):
    caplog.set_level(logging.DEBUG)
    settings.ADMINS = [("運用", "ops@example.com")]
    settings.SITE_URL = webhook_receiver[0]
    typo = "abcdef0123456789abcdef0123456789"
    bodies = [
        post_link(recruiter_client, form(line_pair, login_channel_secret=typo)),  # a failed attempt
        post_link(recruiter_client, form(line_pair)),
        recruiter_client.post(reverse("line:setup_webhook"), follow=True).content.decode(),
        recruiter_client.get(reverse("line:quota")).content.decode(),
        recruiter_client.get(reverse("line:settings")).content.decode(),
    ]
    line_emulator.advance_clock(16 * 60)  # the next call gets a 401 and re-mints
    bodies.append(recruiter_client.get(reverse("line:quota")).content.decode())
    response = recruiter_client.post(reverse("line:link"), form(line_pair, messaging_channel_id="x"))
    bodies.append(response.content.decode())

    # An error report of a request to the link view, as the admin email would carry it.
    logging.getLogger("django.request").error(
        "Internal Server Error: %s",
        reverse("line:link"),
        exc_info=(RuntimeError, RuntimeError("boom"), None),
        extra={"status_code": 500, "request": response.wsgi_request},
    )
    assert mail.outbox, "the admin error email was not sent"

    issued = [t["access_token"] for t in line_emulator.tokens(line_pair.messaging_channel_id)]
    issued += [t["access_token"] for t in line_emulator.tokens(line_pair.login_channel_id)]
    secrets_ = [line_pair.messaging_channel_secret, line_pair.login_channel_secret, typo, *issued]
    assert len(issued) >= 3
    haystacks = [*bodies, caplog.text, *(m.body + str(getattr(m, "alternatives", "")) for m in mail.outbox)]
    for secret in secrets_:
        for text in haystacks:
            assert secret not in text


def test_an_exception_report_from_inside_a_line_call_hides_the_secret(line_pair, settings, rf):
    """Frames under the client's @sensitive_variables show no locals (the SDK's either)."""
    from django.views.debug import ExceptionReporter

    from line_integration.api import client

    settings.LINE_API_BASE = "http://127.0.0.1:9"
    try:
        client.issue_stateless_token(line_pair.messaging_channel_id, line_pair.messaging_channel_secret)
    except client.LineError:
        exc_info = sys.exc_info()
    request = rf.post("/settings/line/link/")
    text = ExceptionReporter(request, *exc_info).get_traceback_text()
    assert "issue_stateless_token" in text
    assert line_pair.messaging_channel_secret not in text
