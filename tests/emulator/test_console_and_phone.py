import json
import re
import subprocess
import sys

import requests
from linebot.v3.messaging import PushMessageRequest, TextMessage

from tests.line_emulator_fixtures import REPO_DIR


def form_token(page: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


def post_form(session: requests.Session, page_url: str, action_url: str, **fields: str) -> requests.Response:
    """Submit a console or phone form the way a browser does: load the page, then post with its CSRF token."""
    token = form_token(session.get(page_url).text)
    return session.post(action_url, data={"csrfmiddlewaretoken": token, **fields}, allow_redirects=False)


def test_console_lists_the_provider_and_its_channels_with_copyable_secrets(line_emulator, pair):
    home = requests.get(f"{line_emulator.base_url}/").text
    assert "テスト株式会社" in home and "テスト採用" in home and "公開済み" in home
    channel = requests.get(f"{line_emulator.base_url}/console/channels/{pair.messaging_channel_id}").text
    assert pair.messaging_channel_secret in channel
    assert "チャネルシークレット" in channel and 'data-copy-target="#channel-secret"' in channel


def test_console_sets_the_webhook_url_and_verify_reports_success(line_emulator, pair, receiver):
    base = f"{line_emulator.base_url}/console/channels/{pair.messaging_channel_id}"
    session, page = requests.Session(), f"{base}?tab=messaging"
    saved = post_form(session, page, f"{base}/webhook-url", webhook_url=receiver.url, tab="messaging")
    assert saved.status_code == 302
    assert line_emulator.channel(pair.messaging_channel_id)["webhook_url"] == receiver.url
    verified = post_form(session, page, f"{base}/verify", tab="messaging")
    assert "verify=ok" in verified.headers["Location"]
    assert json.loads(receiver.wait_for(1)[0].body)["events"] == []


def test_console_refuses_to_turn_on_redelivery_without_the_acknowledgement(line_emulator, pair):
    base = f"{line_emulator.base_url}/console/channels/{pair.messaging_channel_id}"
    response = post_form(requests.Session(), f"{base}?tab=messaging", f"{base}/redelivery", on="1", tab="messaging")
    assert "error=" in response.headers["Location"]
    assert line_emulator.channel(pair.messaging_channel_id)["redelivery_enabled"] is False


def test_phone_shows_what_the_app_pushed(line_emulator, messaging, pair):
    messaging.push_message(PushMessageRequest(to=pair.user_id, messages=[TextMessage(text="説明会のご案内です")]))
    url = f"{line_emulator.base_url}/phone/{pair.persona_id}/chat/{pair.messaging_channel_id}/messages"
    assert "説明会のご案内です" in requests.get(url).text


def test_phone_makes_a_url_in_a_text_tappable_as_line_does(line_emulator, messaging, pair):
    text = "回答はこちら\nhttps://example.com/f/abc/\nよろしくお願いします"
    messaging.push_message(PushMessageRequest(to=pair.user_id, messages=[TextMessage(text=text)]))
    url = f"{line_emulator.base_url}/phone/{pair.persona_id}/chat/{pair.messaging_channel_id}/messages"
    page = requests.get(url).text
    link = '<a href="https://example.com/f/abc/" rel="nofollow">https://example.com/f/abc/</a>'
    assert f"回答はこちら\n{link}\nよろしく" in page


def test_phone_reply_reaches_the_app_as_a_message_event(line_emulator, pair):
    chat = f"{line_emulator.base_url}/phone/{pair.persona_id}/chat/{pair.messaging_channel_id}"
    response = post_form(requests.Session(), chat, f"{chat}/send-text", text="はい、参加します")
    assert response.status_code == 302
    [event] = [event for event in line_emulator.events(pair.messaging_channel_id) if event["type"] == "message"]
    assert event["payload"]["message"]["text"] == "はい、参加します"


def test_phone_sends_a_sample_pdf_as_a_file_message(line_emulator, blob, pair):
    chat = f"{line_emulator.base_url}/phone/{pair.persona_id}/chat/{pair.messaging_channel_id}"
    post_form(requests.Session(), chat, f"{chat}/send-pdf")
    [event] = [event for event in line_emulator.events(pair.messaging_channel_id) if event["type"] == "message"]
    message = event["payload"]["message"]
    assert message["type"] == "file" and message["fileName"].endswith(".pdf")
    assert blob.get_message_content(message["id"]).startswith(b"%PDF-")


def test_seed_creates_the_demo_world_once_without_a_server(tmp_path):
    command = [sys.executable, "-m", "line_emulator", "seed", "--json", "--data", str(tmp_path / "seed.sqlite3")]
    first = json.loads(subprocess.run(command, cwd=REPO_DIR, capture_output=True, check=True, text=True).stdout)
    second = json.loads(subprocess.run(command, cwd=REPO_DIR, capture_output=True, check=True, text=True).stdout)
    assert first == second
    assert first["provider"]["name"] == "HRMOSデモ株式会社"
    assert first["login"]["status"] == "published"
    assert first["login"]["linked_oa"] == first["messaging"]["channel_id"]
    assert [persona["display_name"] for persona in first["personas"]][:3] == ["山田 花子", "佐藤 健太", "鈴木 美咲"]


def test_the_webhook_log_shows_the_body_as_the_json_text_that_was_sent(line_emulator, pair, receiver):
    line_emulator.set_channel(pair.messaging_channel_id, webhook_url=receiver.url, webhook_active=True)
    line_emulator.send_text(pair.messaging_channel_id, pair.persona_id, "面接の日程を承知しました")
    line_emulator.wait_for_attempts(pair.messaging_channel_id, 1)
    url = f"{line_emulator.base_url}/console/channels/{pair.messaging_channel_id}?tab=webhook-log"
    page = requests.get(url).text
    assert "面接の日程を承知しました" in page  # UTF-8 text, not the bytes' repr (b'…\\xe9…')
    assert "b&#x27;{" not in page and "\\x" not in page
