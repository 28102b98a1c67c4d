import json

import pytest
from linebot.v3 import WebhookParser
from linebot.v3.webhooks import (
    FileMessageContent,
    FollowEvent,
    ImageMessageContent,
    LocationMessageContent,
    MessageEvent,
    PostbackEvent,
    StickerMessageContent,
    TextMessageContent,
    UnfollowEvent,
    UnsendEvent,
)

from tests.emulator.conftest import Received


@pytest.fixture
def hooked(line_emulator, pair, receiver):
    line_emulator.set_channel(pair.messaging_channel_id, webhook_url=receiver.url)
    return pair


def parse(request: Received, secret: str) -> list:
    """Verify the signature on the exact bytes received, then parse, as an app's webhook view does."""
    events = WebhookParser(secret).parse(request.body.decode("utf-8"), request.headers["x-line-signature"])
    assert all(type(event).__name__ != "UnknownEvent" for event in events)
    return events


def test_text_message_is_signed_over_raw_utf8_and_parses(line_emulator, hooked, receiver):
    sent = line_emulator.send_text(hooked.messaging_channel_id, hooked.persona_id, "内定ありがとうございます！")
    [request] = receiver.wait_for(1)
    assert "内定ありがとうございます！".encode() in request.body  # not \u-escaped
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    assert request.headers["user-agent"] == "LineBotWebhook/2.0"
    [event] = parse(request, hooked.messaging_channel_secret)
    assert isinstance(event, MessageEvent) and isinstance(event.message, TextMessageContent)
    assert event.message.text == "内定ありがとうございます！"
    assert event.message.id == sent["message_id"]
    assert event.source.user_id == hooked.user_id
    assert event.webhook_event_id == sent["webhook_event_id"] and len(event.webhook_event_id) == 26
    assert event.delivery_context.is_redelivery is False
    assert event.reply_token == sent["reply_token"]
    assert json.loads(request.body)["destination"] == hooked.bot_user_id


def test_sticker_image_file_and_location_messages_parse_into_their_classes(line_emulator, hooked, receiver):
    channel, persona = hooked.messaging_channel_id, hooked.persona_id
    line_emulator.send_sticker(channel, persona)
    line_emulator.send_image(channel, persona, b"\xff\xd8\xff fake jpeg")
    line_emulator.send_file(channel, persona, b"%PDF-1.4 resume", file_name="履歴書_山田花子.pdf")
    line_emulator.send_location(channel, persona)
    requests = receiver.wait_for(4)
    contents = [parse(request, hooked.messaging_channel_secret)[0].message for request in requests]
    by_type = {type(content): content for content in contents}
    assert set(by_type) == {StickerMessageContent, ImageMessageContent, FileMessageContent, LocationMessageContent}
    assert by_type[StickerMessageContent].sticker_resource_type == "STATIC"
    assert by_type[ImageMessageContent].content_provider.type == "line"
    assert by_type[FileMessageContent].file_name == "履歴書_山田花子.pdf"
    assert by_type[FileMessageContent].file_size == len(b"%PDF-1.4 resume")


def test_block_and_unblock_send_unfollow_and_follow_with_is_unblocked(line_emulator, hooked, receiver):
    line_emulator.block(hooked.messaging_channel_id, hooked.persona_id)
    line_emulator.unblock(hooked.messaging_channel_id, hooked.persona_id)
    first, second = receiver.wait_for(2)
    [unfollow] = parse(first, hooked.messaging_channel_secret)
    [follow] = parse(second, hooked.messaging_channel_secret)
    assert isinstance(unfollow, UnfollowEvent)
    assert isinstance(follow, FollowEvent) and follow.follow.is_unblocked is True
    assert follow.reply_token


def test_new_friend_sends_follow_that_is_not_an_unblock(line_emulator, hooked, receiver):
    newcomer = line_emulator.create_persona("鈴木 美咲")
    line_emulator.follow(hooked.messaging_channel_id, newcomer)
    [event] = parse(receiver.wait_for(1)[0], hooked.messaging_channel_secret)
    assert isinstance(event, FollowEvent) and event.follow.is_unblocked is False


def test_unsend_sends_an_unsend_event_with_the_message_id(line_emulator, hooked, receiver):
    sent = line_emulator.send_text(hooked.messaging_channel_id, hooked.persona_id, "間違えました")
    line_emulator.unsend(hooked.messaging_channel_id, hooked.persona_id, sent["message_id"])
    [event] = parse(receiver.wait_for(2)[1], hooked.messaging_channel_secret)
    assert isinstance(event, UnsendEvent) and event.unsend.message_id == sent["message_id"]


def test_postback_parses(line_emulator, hooked, receiver):
    line_emulator.postback(hooked.messaging_channel_id, hooked.persona_id, "action=confirm&slot=3")
    [event] = parse(receiver.wait_for(1)[0], hooked.messaging_channel_secret)
    assert isinstance(event, PostbackEvent) and event.postback.data == "action=confirm&slot=3"


def test_redelivery_resends_the_same_event_with_is_redelivery_true(line_emulator, hooked, receiver):
    line_emulator.set_channel(hooked.messaging_channel_id, redelivery_enabled=True)
    receiver.statuses.append(500)
    sent = line_emulator.send_text(hooked.messaging_channel_id, hooked.persona_id, "再送テスト")
    line_emulator.wait_for_attempts(hooked.messaging_channel_id, 1)
    line_emulator.advance_clock(10)  # past the redelivery interval
    first, second = receiver.wait_for(2)
    [original] = parse(first, hooked.messaging_channel_secret)
    [again] = parse(second, hooked.messaging_channel_secret)
    assert original.webhook_event_id == again.webhook_event_id == sent["webhook_event_id"]
    assert original.reply_token == again.reply_token
    assert (original.delivery_context.is_redelivery, again.delivery_context.is_redelivery) == (False, True)
    log = line_emulator.wait_for_attempts(hooked.messaging_channel_id, 2)
    assert [(a["status_code"], a["reason"], a["is_redelivery"]) for a in log] == [
        (500, "error_status_code", False),
        (200, "ok", True),
    ]


def test_without_redelivery_a_failed_event_is_not_sent_again(line_emulator, hooked, receiver):
    receiver.statuses.append(500)
    line_emulator.send_text(hooked.messaging_channel_id, hooked.persona_id, "一度だけ")
    line_emulator.wait_for_attempts(hooked.messaging_channel_id, 1)
    line_emulator.advance_clock(60)
    assert line_emulator.wait_for_webhooks()
    assert len(receiver.received) == 1


def test_a_slow_receiver_is_logged_as_request_timeout(line_emulator, hooked, receiver):
    line_emulator.set_settings(webhook_timeout_ms=200)
    receiver.delay_seconds = 0.5
    line_emulator.send_text(hooked.messaging_channel_id, hooked.persona_id, "遅い")
    [attempt] = line_emulator.wait_for_attempts(hooked.messaging_channel_id, 1)
    assert (attempt["reason"], attempt["status_code"]) == ("request_timeout", 0)


def test_nothing_is_sent_while_use_webhook_is_off(line_emulator, hooked, receiver):
    line_emulator.set_channel(hooked.messaging_channel_id, webhook_active=False)
    line_emulator.send_text(hooked.messaging_channel_id, hooked.persona_id, "届かない")
    assert line_emulator.wait_for_webhooks()
    assert receiver.received == []


def test_duplicate_chaos_delivers_a_successful_event_twice(line_emulator, hooked, receiver):
    line_emulator.set_settings(chaos={"duplicate": True})
    line_emulator.send_text(hooked.messaging_channel_id, hooked.persona_id, "二重")
    first, second = receiver.wait_for(2)
    assert first.body == second.body


def test_webhook_log_records_every_attempt(line_emulator, hooked, receiver):
    sent = line_emulator.send_text(hooked.messaging_channel_id, hooked.persona_id, "ログ")
    [attempt] = line_emulator.wait_for_attempts(hooked.messaging_channel_id, 1)
    assert attempt["event_ids"] == [sent["webhook_event_id"]]
    assert (attempt["status_code"], attempt["reason"], attempt["is_redelivery"]) == (200, "ok", False)
    assert attempt["latency_ms"] >= 0
