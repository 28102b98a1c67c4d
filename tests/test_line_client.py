"""line_integration.client against the LINE emulator over HTTP, with the real SDK client.

Every failure LINE can answer is one LineError with a kind and `permanent`; the table tests
inject the emulator's faults and check the classification the send pipeline relies on.
"""

import pickle
import tempfile
import uuid

import pytest

from line_integration.api import client
from line_integration.api.client import LineError, LineErrorKind

pytestmark = pytest.mark.django_db

RETRY_PERMANENT = [
    # (fault mode, kind, permanent)
    ("500", LineErrorKind.SERVER, False),
    ("429-rate", LineErrorKind.RATE_LIMITED, False),
    ("429-quota", LineErrorKind.QUOTA_EXHAUSTED, True),
    ("reset", LineErrorKind.NETWORK, False),
    ("timeout", LineErrorKind.NETWORK, False),
]


@pytest.fixture
def pair(line_emulator):
    return line_emulator.create_linked_pair(follow=True)


@pytest.fixture
def token(pair) -> str:
    return client.issue_stateless_token(pair.messaging_channel_id, pair.messaging_channel_secret).access_token


@pytest.fixture
def short_timeouts(settings, line_emulator):
    settings.LINE_HTTP_TIMEOUT = (2.0, 0.5)
    settings.LINE_CONTENT_TIMEOUT = (2.0, 0.5)
    line_emulator.set_settings(fault_timeout_seconds=1)


# --- tokens -----------------------------------------------------------------------------------


def test_a_stateless_token_lasts_15_minutes_and_hides_from_repr(pair):
    issued = client.issue_stateless_token(pair.messaging_channel_id, pair.messaging_channel_secret)
    assert issued.expires_in == 900
    assert issued.access_token
    assert issued.access_token not in repr(issued)


@pytest.mark.parametrize("which", ["id", "secret"])
def test_wrong_credentials_are_invalid_credentials_and_permanent(pair, which):
    channel_id = "9999999999" if which == "id" else pair.messaging_channel_id
    secret = "0" * 32 if which == "secret" else pair.messaging_channel_secret
    with pytest.raises(LineError) as stateless:
        client.issue_stateless_token(channel_id, secret)
    with pytest.raises(LineError) as short_lived:
        client.issue_short_lived_token(channel_id, secret)
    for error in (stateless.value, short_lived.value):
        assert error.kind == LineErrorKind.INVALID_CREDENTIALS
        assert error.permanent
        assert error.status == 400
    assert stateless.value.message == "Invalid 'client_credentials'."
    assert short_lived.value.message == f"invalid client_{which}"
    assert short_lived.value.error_code == "invalid_client"


def test_a_short_lived_token_is_issued_for_a_login_channel_and_revoked(line_emulator, pair):
    issued = client.issue_short_lived_token(pair.login_channel_id, pair.login_channel_secret)
    assert issued.expires_in == 2592000
    client.revoke_short_lived_token(issued.access_token)
    live = [t for t in line_emulator.tokens(pair.login_channel_id) if not t.get("revoked")]
    assert live == []


# --- bot info, webhook, quota -------------------------------------------------------------------


def test_bot_info_names_the_official_account(pair, token):
    bot = client.get_bot_info(token)
    assert bot.user_id == pair.bot_user_id
    assert bot.basic_id == pair.basic_id
    assert bot.display_name == pair.oa_display_name
    assert bot.chat_mode in {"chat", "bot"}


def test_bot_info_refuses_a_login_channels_token(pair):
    login_token = client.issue_short_lived_token(pair.login_channel_id, pair.login_channel_secret).access_token
    with pytest.raises(LineError) as caught:
        client.get_bot_info(login_token)
    assert caught.value.permanent
    assert caught.value.status in {401, 403}


def test_an_unknown_token_is_unauthorized(pair):
    with pytest.raises(LineError) as caught:
        client.get_bot_info("not-a-token")
    assert caught.value.kind == LineErrorKind.UNAUTHORIZED
    assert caught.value.status == 401
    assert caught.value.message.startswith("Authentication failed.")
    assert caught.value.request_id


def test_webhook_endpoint_set_get_and_test(line_emulator, pair, token):
    with pytest.raises(LineError) as missing:
        client.get_webhook_endpoint(token)
    assert missing.value.kind == LineErrorKind.NOT_FOUND

    client.set_webhook_endpoint(token, "http://127.0.0.1:9/line/webhook/abc/")
    assert client.get_webhook_endpoint(token).endpoint == "http://127.0.0.1:9/line/webhook/abc/"

    result = client.run_webhook_test(token)
    assert result.success is False
    assert result.reason == "COULD_NOT_CONNECT"
    assert result.status_code <= 0


def test_an_invalid_webhook_url_is_invalid_with_lines_message(pair, token):
    with pytest.raises(LineError) as caught:
        client.set_webhook_endpoint(token, "http://example.com/hook")
    assert caught.value.kind == LineErrorKind.INVALID
    assert caught.value.message == "Invalid webhook endpoint URL"


def test_quota_none_and_limited(line_emulator, pair, token):
    assert client.get_quota(token).unlimited
    line_emulator.set_channel(pair.messaging_channel_id, quota={"type": "limited", "value": 1000}, monthly_usage=120)
    quota = client.get_quota(token)
    assert (quota.type, quota.value) == ("limited", 1000)
    assert client.get_quota_consumption(token) == 120


# --- push -----------------------------------------------------------------------------------------


def test_push_returns_request_and_message_ids(line_emulator, pair, token):
    key = uuid.uuid4()
    result = client.push_text_messages(token, pair.user_id, ["件名\n\n本文です", "2通目"], key)
    assert result.request_id
    assert len(result.sent_message_ids) == 2
    assert not result.already_accepted
    outbox = line_emulator.outbox(pair.messaging_channel_id, retry_key=str(key))
    assert len(outbox) == 1


def test_a_retry_after_accept_then_500_returns_the_original_messages(line_emulator, pair, token):
    line_emulator.fault("POST /v2/bot/message/push", "accept-then-500")
    key = uuid.uuid4()
    with pytest.raises(LineError) as first:
        client.push_text_messages(token, pair.user_id, ["こんにちは"], key)
    assert first.value.kind == LineErrorKind.SERVER
    assert first.value.transient

    retry = client.push_text_messages(token, pair.user_id, ["こんにちは"], key)
    assert retry.already_accepted
    assert retry.accepted_request_id
    assert len(retry.sent_message_ids) == 1
    assert len(line_emulator.outbox(pair.messaging_channel_id, retry_key=str(key))) == 1


def test_an_invalid_message_is_permanent_with_readable_details(pair, token):
    with pytest.raises(LineError) as caught:
        client.push_text_messages(token, pair.user_id, ["あ" * 5001], uuid.uuid4())
    error = caught.value
    assert error.kind == LineErrorKind.INVALID
    assert error.permanent
    assert error.details == ["messages[0].text: Length must be between 0 and 5000"]
    assert "Length must be between 0 and 5000" in str(error)


def test_a_user_of_another_provider_cannot_be_pushed_to(line_emulator, pair, token):
    stranger = line_emulator.create_linked_pair(provider_name="別の会社")
    with pytest.raises(LineError) as caught:
        client.push_text_messages(token, stranger.user_id, ["こんにちは"], uuid.uuid4())
    assert caught.value.message == "Failed to send messages"
    assert caught.value.permanent


def test_more_than_five_messages_never_leave_the_process(token, pair):
    with pytest.raises(ValueError, match="1 to 5"):
        client.push_text_messages(token, pair.user_id, ["a"] * 6, uuid.uuid4())


@pytest.mark.parametrize(("mode", "kind", "permanent"), RETRY_PERMANENT)
@pytest.mark.usefixtures("short_timeouts")
def test_push_failures_are_classified(line_emulator, pair, token, mode, kind, permanent):
    line_emulator.fault("POST /v2/bot/message/push", mode)
    with pytest.raises(LineError) as caught:
        client.push_text_messages(token, pair.user_id, ["こんにちは"], uuid.uuid4())
    assert caught.value.kind == kind
    assert caught.value.permanent is permanent
    if mode.startswith("429"):
        assert caught.value.status == 429


@pytest.mark.parametrize(("mode", "kind", "permanent"), RETRY_PERMANENT)
@pytest.mark.usefixtures("short_timeouts")
def test_get_failures_are_classified_the_same_way(line_emulator, pair, token, mode, kind, permanent):
    line_emulator.fault("GET /v2/bot/info", mode)
    with pytest.raises(LineError) as caught:
        client.get_bot_info(token)
    assert (caught.value.kind, caught.value.permanent) == (kind, permanent)


def test_the_two_429s_are_told_apart_without_faults(line_emulator, pair, token):
    """The real monthly limit and the real rate limit, not injected answers."""
    line_emulator.set_channel(pair.messaging_channel_id, quota={"type": "limited", "value": 1}, monthly_usage=1)
    with pytest.raises(LineError) as quota:
        client.push_text_messages(token, pair.user_id, ["こんにちは"], uuid.uuid4())
    assert quota.value.message == client.MONTHLY_LIMIT_MESSAGE
    assert quota.value.kind == LineErrorKind.QUOTA_EXHAUSTED

    line_emulator.set_settings(rate_limits={"GET /v2/bot/message/quota": 1})
    client.get_quota(token)
    with pytest.raises(LineError) as rate:
        client.get_quota(token)
    assert rate.value.kind == LineErrorKind.RATE_LIMITED
    assert rate.value.transient


def test_line_unreachable_is_a_transient_network_error(settings, pair, token):
    settings.LINE_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    with pytest.raises(LineError) as caught:
        client.get_bot_info(token)
    assert caught.value.kind == LineErrorKind.NETWORK
    assert caught.value.status == 0
    assert caught.value.transient


def test_a_line_error_survives_pickling(pair, token):
    with pytest.raises(LineError) as caught:
        client.push_text_messages(token, pair.user_id, ["あ" * 5001], uuid.uuid4())
    copy = pickle.loads(pickle.dumps(caught.value))  # noqa: S301 (our own bytes)
    assert (copy.kind, copy.status, copy.details, copy.permanent) == (
        caught.value.kind,
        400,
        caught.value.details,
        True,
    )


# --- content ------------------------------------------------------------------------------


def download(token: str, message_id: str, **kwargs) -> tuple[client.ContentInfo, bytes]:
    with tempfile.TemporaryFile() as spool:
        info = client.download_message_content(token, message_id, spool, max_bytes=kwargs.pop("max_bytes", 10**6))
        spool.seek(0)
        return info, spool.read()


def test_content_is_streamed_from_the_data_host_into_a_file(line_emulator, pair, token, settings):
    settings.LINE_API_BASE = "http://127.0.0.1:9"  # proves content uses LINE_API_DATA_BASE only
    sent = line_emulator.send_file(pair.messaging_channel_id, pair.persona_id, b"%PDF-1.4 resume", "履歴書.pdf")
    info, data = download(token, sent["message_id"])
    assert data == b"%PDF-1.4 resume"
    assert info.size == len(data) and info.content_type.startswith("application/pdf")


def test_content_over_the_size_cap_is_too_large_and_permanent(line_emulator, pair, token):
    sent = line_emulator.send_file(pair.messaging_channel_id, pair.persona_id, b"x" * 2000, "大きい.pdf")
    with tempfile.TemporaryFile() as spool, pytest.raises(LineError) as caught:
        client.download_message_content(token, sent["message_id"], spool, max_bytes=1999)
    assert (caught.value.kind, caught.value.permanent) == (LineErrorKind.TOO_LARGE, True)
    assert download(token, sent["message_id"], max_bytes=2000)[0].size == 2000  # exactly the cap is fine


def test_a_download_slower_than_its_deadline_is_abandoned_as_transient(line_emulator, pair, token):
    sent = line_emulator.send_file(pair.messaging_channel_id, pair.persona_id, b"%PDF-1.4 resume", "履歴書.pdf")
    with tempfile.TemporaryFile() as spool, pytest.raises(LineError) as caught:
        client.download_message_content(token, sent["message_id"], spool, max_bytes=10**6, deadline_seconds=-1)
    assert (caught.value.kind, caught.value.transient) == (LineErrorKind.NETWORK, True)


def test_content_preparing_missing_and_gone(line_emulator, pair, token):
    sent = line_emulator.send_image(pair.messaging_channel_id, pair.persona_id, b"\xff\xd8\xff jpeg")
    line_emulator.fault("GET /v2/bot/message/{messageId}/content", "202")
    with pytest.raises(LineError) as preparing:
        download(token, sent["message_id"])
    assert (preparing.value.kind, preparing.value.transient) == (LineErrorKind.PREPARING, True)

    with pytest.raises(LineError) as missing:
        download(token, "000000000000000000")
    assert missing.value.kind == LineErrorKind.NOT_FOUND and missing.value.message == "not found"

    line_emulator.unsend(pair.messaging_channel_id, pair.persona_id, sent["message_id"])
    with pytest.raises(LineError) as gone:
        download(token, sent["message_id"])
    assert (gone.value.kind, gone.value.permanent) == (LineErrorKind.GONE, True)


def test_a_dropped_content_connection_is_a_transient_network_error(line_emulator, pair, token):
    sent = line_emulator.send_image(pair.messaging_channel_id, pair.persona_id, b"\xff\xd8\xff jpeg")
    line_emulator.fault("GET /v2/bot/message/{messageId}/content", "reset")
    with pytest.raises(LineError) as caught:
        download(token, sent["message_id"])
    assert (caught.value.kind, caught.value.transient) == (LineErrorKind.NETWORK, True)
    assert download(token, sent["message_id"])[1] == b"\xff\xd8\xff jpeg"  # the pool recovered
