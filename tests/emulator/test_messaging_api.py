import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
import urllib3
from linebot.v3.messaging import (
    ApiException,
    ErrorResponse,
    MulticastRequest,
    PushMessageRequest,
    ReplyMessageRequest,
    SetWebhookEndpointRequest,
    TextMessage,
    ValidateMessageRequest,
)
from linebot.v3.messaging import TestWebhookEndpointRequest as WebhookTestRequest
from linebot.v3.messaging.exceptions import NotFoundException, ServiceException


def push(messaging, to: str, text: str = "面接日程のご案内です", retry_key: str | None = None):
    request = PushMessageRequest(to=to, messages=[TextMessage(text=text)])
    return messaging.push_message_with_http_info(request, x_line_retry_key=retry_key, _request_timeout=5)


def raw_push(line_emulator, token: str, body: object, content_type: str = "application/json") -> requests.Response:
    data = body if isinstance(body, str) else json.dumps(body)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": content_type}
    return requests.post(f"{line_emulator.base_url}/v2/bot/message/push", data=data, headers=headers)


def test_push_returns_sent_messages_and_lands_in_the_outbox(line_emulator, messaging, pair):
    response = push(messaging, pair.user_id)
    assert response.status_code == 200
    [sent] = response.data.sent_messages
    assert len(sent.id) == 18 and sent.id.isdigit()
    assert sent.quote_token
    [row] = line_emulator.outbox(pair.messaging_channel_id)
    assert row["to"] == pair.user_id
    assert row["delivered"] is True
    assert row["messages"] == [{"type": "text", "text": "面接日程のご案内です"}]
    assert row["request_id"] == response.headers["x-line-request-id"]


def test_push_with_same_retry_key_returns_409_with_original_sent_messages(line_emulator, messaging, pair):
    key = str(uuid.uuid4())
    first = push(messaging, pair.user_id, retry_key=key)
    with pytest.raises(ApiException) as caught:
        push(messaging, pair.user_id, retry_key=key)
    assert caught.value.status == 409
    assert caught.value.headers["x-line-accepted-request-id"] == first.headers["x-line-request-id"]
    error = ErrorResponse.from_json(caught.value.body)
    assert error.message == "The retry key is already accepted"
    assert error.sent_messages == first.data.sent_messages
    assert len(line_emulator.outbox(pair.messaging_channel_id, retry_key=key)) == 1


def test_retry_key_is_forgotten_after_24_hours(line_emulator, messaging, pair):
    key = str(uuid.uuid4())
    push(messaging, pair.user_id, retry_key=key)
    line_emulator.advance_clock(24 * 3600 + 1)
    assert push(messaging, pair.user_id, retry_key=key).status_code == 200
    assert len(line_emulator.outbox(pair.messaging_channel_id, retry_key=key)) == 2


def test_accept_then_500_stores_the_message_and_the_retry_gets_409(line_emulator, messaging, pair):
    key = str(uuid.uuid4())
    line_emulator.fault("POST /v2/bot/message/push", "accept-then-500")
    with pytest.raises(ServiceException):
        push(messaging, pair.user_id, retry_key=key)
    with pytest.raises(ApiException) as caught:
        push(messaging, pair.user_id, retry_key=key)
    assert caught.value.status == 409
    [row] = line_emulator.outbox(pair.messaging_channel_id)
    assert ErrorResponse.from_json(caught.value.body).sent_messages[0].id == row["sent_messages"][0]["id"]


def test_reset_fault_drops_the_connection_without_storing(line_emulator, messaging, pair):
    line_emulator.fault("POST /v2/bot/message/push", "reset")
    with pytest.raises(urllib3.exceptions.HTTPError):
        push(messaging, pair.user_id)
    assert line_emulator.outbox(pair.messaging_channel_id) == []
    assert push(messaging, pair.user_id).status_code == 200


def test_timeout_fault_outlasts_the_client_timeout(line_emulator, messaging, pair):
    line_emulator.set_settings(fault_timeout_seconds=1)
    line_emulator.fault("POST /v2/bot/message/push", "timeout")
    request = PushMessageRequest(to=pair.user_id, messages=[TextMessage(text="x")])
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        messaging.push_message(request, _request_timeout=0.3)


def test_push_to_blocked_user_returns_200_but_is_not_delivered(line_emulator, messaging, pair):
    line_emulator.block(pair.messaging_channel_id, pair.persona_id)
    assert push(messaging, pair.user_id).status_code == 200
    [row] = line_emulator.outbox(pair.messaging_channel_id)
    assert (row["delivered"], row["undelivered_reason"]) == (False, "blocked")


def test_push_to_a_user_who_never_added_the_oa_is_not_delivered(line_emulator, messaging, pair):
    stranger = line_emulator.create_persona("佐藤 健太")
    push(messaging, line_emulator.user_id(pair.messaging_channel_id, stranger))
    [row] = line_emulator.outbox(pair.messaging_channel_id)
    assert (row["delivered"], row["undelivered_reason"]) == (False, "not_friend")


def test_push_to_another_providers_user_id_fails_to_send(line_emulator, messaging, pair):
    other = line_emulator.create_messaging_channel(line_emulator.create_provider("別会社"))
    foreign_user_id = line_emulator.user_id(other["channel_id"], pair.persona_id)
    assert foreign_user_id != pair.user_id
    with pytest.raises(ApiException) as caught:
        push(messaging, foreign_user_id)
    assert caught.value.status == 400
    assert json.loads(caught.value.body) == {"message": "Failed to send messages"}


def test_push_over_the_monthly_quota_is_429_monthly_limit(line_emulator, messaging, pair):
    line_emulator.set_channel(pair.messaging_channel_id, quota={"type": "limited", "value": 10}, monthly_usage=10)
    with pytest.raises(ApiException) as caught:
        push(messaging, pair.user_id)
    assert caught.value.status == 429
    assert json.loads(caught.value.body)["message"] == "You have reached your monthly limit."


def test_push_over_the_rate_limit_is_429_rate_limit(line_emulator, messaging, pair):
    line_emulator.set_settings(rate_limits={"POST /v2/bot/message/push": 2})
    push(messaging, pair.user_id)
    push(messaging, pair.user_id)
    with pytest.raises(ApiException) as caught:
        push(messaging, pair.user_id)
    assert caught.value.status == 429
    assert json.loads(caught.value.body)["message"] == "The API rate limit has been exceeded. Try again later."
    line_emulator.advance_clock(1)
    assert push(messaging, pair.user_id).status_code == 200


def test_quota_counts_delivered_pushes_and_resets_next_month(line_emulator, messaging, pair):
    line_emulator.set_channel(pair.messaging_channel_id, quota={"type": "limited", "value": 500})
    push(messaging, pair.user_id)
    assert messaging.get_message_quota().value == 500
    assert messaging.get_message_quota_consumption().total_usage == 1
    line_emulator.advance_clock(32 * 24 * 3600)
    assert messaging.get_message_quota_consumption().total_usage == 0


def test_bad_token_gets_401(line_emulator, pair):
    response = raw_push(line_emulator, "not-a-token", {"to": pair.user_id, "messages": [{"type": "text", "text": "x"}]})
    assert response.status_code == 401
    assert response.json()["message"].startswith("Authentication failed.")


def test_six_messages_fail_validation(line_emulator, token, pair):
    body = {"to": pair.user_id, "messages": [{"type": "text", "text": "x"}] * 6}
    response = raw_push(line_emulator, token, body)
    assert response.status_code == 400
    assert response.json() == {
        "message": "The request body has 1 error(s)",
        "details": [{"message": "Size must be between 1 and 5", "property": "messages"}],
    }


def test_text_of_5001_characters_fails_validation(messaging, pair):
    with pytest.raises(ApiException) as caught:
        push(messaging, pair.user_id, text="あ" * 5001)
    error = ErrorResponse.from_json(caught.value.body)
    assert caught.value.status == 400
    assert error.details[0].message == "Length must be between 0 and 5000"
    assert error.details[0].var_property == "messages[0].text"


def test_to_that_is_not_a_user_id_is_an_invalid_property(messaging):
    with pytest.raises(ApiException) as caught:
        push(messaging, "yamada_hanako")
    assert json.loads(caught.value.body) == {
        "message": "The property, 'to', in the request body is invalid (line: -, column: -)"
    }


def test_malformed_json_and_wrong_content_type_are_rejected(line_emulator, token):
    broken = raw_push(line_emulator, token, '{"to": ')
    assert broken.status_code == 400
    assert broken.json()["message"].startswith("The request body could not be parsed as JSON (line: 1, column:")
    form = raw_push(line_emulator, token, "to=x", content_type="application/x-www-form-urlencoded")
    assert form.json() == {"message": "The content type, application/x-www-form-urlencoded, is not supported"}


def test_unknown_message_type_lists_the_allowed_types(line_emulator, token, pair):
    response = raw_push(line_emulator, token, {"to": pair.user_id, "messages": [{"type": "html"}]})
    assert response.json()["details"][0]["message"].startswith("Must be one of the following values: [text, image")


def test_multicast_delivers_to_friends_and_marks_the_rest(line_emulator, messaging, pair):
    stranger = line_emulator.create_persona("佐藤 健太")
    stranger_id = line_emulator.user_id(pair.messaging_channel_id, stranger)
    messaging.multicast(
        MulticastRequest(to=[pair.user_id, stranger_id], messages=[TextMessage(text="説明会のお知らせ")])
    )
    rows = {row["to"]: row for row in line_emulator.outbox(pair.messaging_channel_id, kind="multicast")}
    assert rows[pair.user_id]["delivered"] is True
    assert rows[stranger_id]["delivered"] is False


def test_multicast_to_more_than_500_users_is_rejected(line_emulator, token):
    body: dict[str, Any] = {
        "to": [f"U{index:032x}" for index in range(501)],
        "messages": [{"type": "text", "text": "x"}],
    }
    headers = {"Authorization": f"Bearer {token}"}
    response = requests.post(f"{line_emulator.base_url}/v2/bot/message/multicast", json=body, headers=headers)
    assert response.status_code == 400
    assert response.json()["details"] == [{"message": "Size must be between 1 and 500", "property": "to"}]


def test_reply_token_is_single_use(line_emulator, messaging, pair):
    sent = line_emulator.send_text(pair.messaging_channel_id, pair.persona_id, "よろしくお願いします")
    request = ReplyMessageRequest(reply_token=sent["reply_token"], messages=[TextMessage(text="受け付けました")])
    assert messaging.reply_message(request).sent_messages
    with pytest.raises(ApiException) as caught:
        messaging.reply_message(request)
    assert json.loads(caught.value.body) == {"message": "Invalid reply token"}
    [row] = line_emulator.outbox(pair.messaging_channel_id, kind="reply")
    assert row["to"] == pair.user_id


def test_reply_token_expires_after_a_minute(line_emulator, messaging, pair):
    sent = line_emulator.send_text(pair.messaging_channel_id, pair.persona_id, "こんにちは")
    line_emulator.advance_clock(61)
    with pytest.raises(ApiException) as caught:
        messaging.reply_message(ReplyMessageRequest(reply_token=sent["reply_token"], messages=[TextMessage(text="x")]))
    assert caught.value.status == 400


def test_reply_refuses_a_retry_key(line_emulator, token, pair):
    sent = line_emulator.send_text(pair.messaging_channel_id, pair.persona_id, "こんにちは")
    headers = {"Authorization": f"Bearer {token}", "X-Line-Retry-Key": str(uuid.uuid4())}
    body = {"replyToken": sent["reply_token"], "messages": [{"type": "text", "text": "x"}]}
    response = requests.post(f"{line_emulator.base_url}/v2/bot/message/reply", json=body, headers=headers)
    assert response.status_code == 400


def test_validate_push_accepts_good_messages_and_rejects_empty_text(messaging):
    messaging.validate_push(ValidateMessageRequest(messages=[TextMessage(text="ok")]))
    with pytest.raises(ApiException) as caught:
        messaging.validate_push(ValidateMessageRequest(messages=[TextMessage(text="")]))
    assert ErrorResponse.from_json(caught.value.body).details[0].message == "May not be empty"


def test_profile_of_a_friend_and_404_for_a_blocked_user(line_emulator, messaging, pair):
    profile = messaging.get_profile(pair.user_id)
    assert (profile.display_name, profile.user_id) == ("山田 花子", pair.user_id)
    line_emulator.block(pair.messaging_channel_id, pair.persona_id)
    with pytest.raises(NotFoundException):
        messaging.get_profile(pair.user_id)


def test_bot_info_matches_the_channel(messaging, pair):
    info = messaging.get_bot_info()
    assert (info.user_id, info.basic_id, info.display_name) == (pair.bot_user_id, pair.basic_id, pair.oa_display_name)
    assert info.chat_mode in ("chat", "bot")


def test_webhook_endpoint_is_set_read_and_tested(line_emulator, messaging, receiver, pair):
    messaging.set_webhook_endpoint(SetWebhookEndpointRequest(endpoint=receiver.url))
    endpoint = messaging.get_webhook_endpoint()
    assert (endpoint.endpoint, endpoint.active) == (receiver.url, True)
    result = messaging.test_webhook_endpoint(WebhookTestRequest())
    assert (result.success, result.status_code, result.reason) == (True, 200, "OK")
    [request] = receiver.wait_for(1)
    assert json.loads(request.body) == {"destination": pair.bot_user_id, "events": []}


def test_webhook_test_reports_could_not_connect(messaging):
    result = messaging.test_webhook_endpoint(WebhookTestRequest(endpoint="http://127.0.0.1:9/nothing"))
    assert (result.success, result.status_code, result.reason) == (False, 0, "COULD_NOT_CONNECT")


def test_webhook_endpoint_must_be_https_except_on_this_machine(messaging):
    with pytest.raises(ApiException) as caught:
        messaging.set_webhook_endpoint(SetWebhookEndpointRequest(endpoint="http://example.com/hook"))
    assert json.loads(caught.value.body) == {"message": "Invalid webhook endpoint URL"}
    messaging.set_webhook_endpoint(SetWebhookEndpointRequest(endpoint="https://example.com/hook"))


def test_unset_webhook_endpoint_is_404(messaging):
    with pytest.raises(NotFoundException) as caught:
        messaging.get_webhook_endpoint()
    assert json.loads(caught.value.body) == {"message": "Webhook endpoint not found"}


def test_every_response_carries_a_new_request_id(line_emulator, messaging, pair):
    first = push(messaging, pair.user_id).headers["x-line-request-id"]
    second = push(messaging, pair.user_id).headers["x-line-request-id"]
    assert first != second
    assert requests.get(f"{line_emulator.base_url}/v2/bot/info").headers["x-line-request-id"]


def test_parallel_retries_with_one_key_deliver_exactly_once(line_emulator, token, pair):
    key = str(uuid.uuid4())
    body = {"to": pair.user_id, "messages": [{"type": "text", "text": "一度だけ"}]}
    headers = {"Authorization": f"Bearer {token}", "X-Line-Retry-Key": key}
    url = f"{line_emulator.base_url}/v2/bot/message/push"
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(lambda _: requests.post(url, json=body, headers=headers).status_code, range(8)))
    assert statuses == [200] + [409] * 7
    assert len(line_emulator.outbox(pair.messaging_channel_id, retry_key=key)) == 1
