"""Processing stored events: one captured fixture per event type LINE documents, each signed
and posted to the webhook, and the effect it must have (or deliberately not have)."""

import time
from datetime import timedelta

import pytest
import time_machine
from django.dispatch import receiver
from django.utils import timezone

from line_integration.models import LineAccount, LineWebhookEvent
from line_integration.processing import queue as events
from line_integration.processing import tasks
from line_integration.signals import line_message_received
from messaging.models import Message
from tests.conftest import make_candidate
from tests.line_webhook_helpers import USER_ID, body_of, event_of, fixture_body, fixture_names, link_directly, post

pytestmark = pytest.mark.django_db

IGNORED = {
    "postback",
    "join",
    "leave",
    "member_joined",
    "member_left",
    "video_play_complete",
    "beacon",
    "account_link",
    "membership",
    "unknown_future_type",
}
MESSAGES = {
    "message_text": "text",
    "message_sticker": "sticker",
    "message_location": "location",
    "message_image": "image",
    "message_video": "video",
    "message_audio": "audio",
    "message_file": "file",
}
FRIEND_STATES = {"follow": "friend", "follow_unblocked": "friend", "unfollow": "blocked"}


def now_ms() -> int:
    return int(time.time() * 1000)


@pytest.fixture
def deliver(client, linked_company, line_pair, django_capture_on_commit_callbacks):
    """Post a fixture (or a body) to the emulator-linked company's webhook and process it."""

    def _deliver(name_or_body, **changes):
        if isinstance(name_or_body, bytes):
            body = name_or_body
        else:
            changes.setdefault("timestamp", now_ms())
            body = fixture_body(name_or_body, destination=line_pair.bot_user_id, user_id=line_pair.user_id, **changes)
        with django_capture_on_commit_callbacks(execute=True):
            response = post(client, linked_company, body, secret=line_pair.messaging_channel_secret)
        assert response.status_code == 200
        return response

    return _deliver


def test_there_is_a_fixture_for_every_event_type_line_documents():
    documented = set(MESSAGES) | set(FRIEND_STATES) | IGNORED | {"unsend"}
    assert set(fixture_names()) == documented


@pytest.mark.parametrize("name", fixture_names())
def test_every_event_type_is_stored_and_has_its_effect(name, deliver, line_friend_candidate):
    deliver(name)
    row = LineWebhookEvent.objects.get()
    assert row.processed_at is not None
    messages = Message.objects.filter(candidate=line_friend_candidate, direction="in")
    if name in MESSAGES:
        assert row.outcome == "processed"
        message = messages.get()
        assert message.content_type == MESSAGES[name]
        assert message.line_message_id == row.line_message_id
        assert message.occurred_at == row.timestamp
        assert message.channel == "line" and message.read_at is None
    elif name in FRIEND_STATES:
        assert row.outcome == FRIEND_STATES[name]
        assert LineAccount.objects.get(candidate=line_friend_candidate).friend_state == FRIEND_STATES[name]
        assert not messages.exists()
    elif name == "unsend":
        assert row.outcome == "processed"
        assert not messages.exists()
    else:
        assert name in IGNORED
        assert row.outcome == "ignored" and row.detail
        assert not messages.exists()


def test_a_text_reply_lands_on_the_timeline_with_the_line_message_id(deliver, line_friend_candidate):
    deliver("message_text")
    message = Message.objects.get()
    assert message.body.startswith("お世話になっております。山田花子です。")
    assert message.line_message_id == "536412389101234567"
    assert message.sender_name == "山田 花子"


def test_a_sticker_keeps_its_ids_for_the_cdn_image(deliver, line_friend_candidate):
    deliver("message_sticker")
    message = Message.objects.get()
    assert (message.sticker_package_id, message.sticker_id) == ("446", "1988")
    assert message.extra["keywords"] == ["OK", "了解", "Happy"]


def test_a_location_keeps_its_coordinates(deliver, line_friend_candidate):
    deliver("message_location")
    message = Message.objects.get()
    assert message.extra["latitude"] == 35.681236 and message.extra["title"] == "東京駅"


def test_messages_are_ordered_by_event_time_not_arrival(deliver, line_friend_candidate):
    later, earlier = now_ms(), now_ms() - 60_000
    deliver("message_text", timestamp=later)
    deliver("message_sticker", timestamp=earlier)
    ordered = list(Message.objects.filter(candidate=line_friend_candidate).order_by("occurred_at"))
    assert [m.content_type for m in ordered] == ["sticker", "text"]


def test_unsend_hides_the_message_and_marks_it(deliver, line_friend_candidate):
    deliver("message_text")
    deliver("unsend")
    message = Message.objects.get()
    assert message.unsent_at is not None


def test_an_unsend_that_arrives_before_its_message_still_hides_it(deliver, line_friend_candidate):
    deliver("unsend")
    deliver("message_text")
    assert Message.objects.get().unsent_at is not None


def test_standby_mode_is_stored_with_no_action(deliver, line_friend_candidate):
    deliver("message_text", mode="standby")
    row = LineWebhookEvent.objects.get()
    assert row.outcome == "ignored" and "standby" in row.detail
    assert not Message.objects.exists()


def test_a_group_message_is_stored_and_ignored(deliver, line_friend_candidate, line_pair):
    deliver("message_text", source={"type": "group", "groupId": "C" + "a" * 32, "userId": line_pair.user_id})
    assert LineWebhookEvent.objects.get().outcome == "ignored"
    assert not Message.objects.exists()


def test_a_message_from_a_user_who_has_not_linked_is_kept_and_appears_once_they_link(
    deliver, linked_company, line_pair, django_capture_on_commit_callbacks
):
    deliver("message_text")
    deliver("message_sticker")
    assert set(LineWebhookEvent.objects.values_list("outcome", flat=True)) == {"unlinked"}
    assert not Message.objects.exists()

    candidate = make_candidate(linked_company, email="late@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        LineAccount.objects.create(
            company=linked_company, candidate=candidate, line_user_id=line_pair.user_id, friend_state="friend"
        )
        assert events.reconcile_user(linked_company, line_pair.user_id) == 2
        tasks.wake_on_commit(linked_company.pk)  # what friend registration does after reconciling
    assert sorted(Message.objects.filter(candidate=candidate).values_list("content_type", flat=True)) == [
        "sticker",
        "text",
    ]
    assert set(LineWebhookEvent.objects.values_list("outcome", flat=True)) == {"processed"}


def test_reconcile_leaves_follow_events_to_friend_registration(deliver, linked_company, line_pair):
    deliver("follow")
    assert LineWebhookEvent.objects.get().outcome == "unlinked"
    assert events.reconcile_user(linked_company, line_pair.user_id) == 0


def test_processing_an_event_again_changes_nothing(deliver, line_friend_candidate):
    deliver("message_text")
    row = LineWebhookEvent.objects.get()
    assert events.process_event(row.pk) is None
    assert tasks.process_pending.delay().get() == 0
    LineWebhookEvent.objects.filter(pk=row.pk).update(processed_at=None, outcome="")
    assert events.process_event(row.pk).outcome == "processed"  # an effect applied twice is still one
    assert Message.objects.count() == 1


def test_a_row_claimed_by_another_worker_is_left_alone(company, client, django_capture_on_commit_callbacks):
    link_directly(company)
    post(client, company, fixture_body("message_text"))  # not processed: on_commit not run
    row = LineWebhookEvent.objects.get()
    LineWebhookEvent.objects.filter(pk=row.pk).update(claimed_until=timezone.now() + timedelta(minutes=5))
    assert events.process_event(row.pk) is None
    assert events.process_pending().results == []


def test_the_sweeper_processes_events_whose_wake_up_was_lost(company, client):
    link_directly(company)
    post(client, company, fixture_body("message_text"))  # committed, but the wake-up never ran
    assert tasks.sweep.delay().get() == 0  # too fresh: the normal path may still be on its way
    with time_machine.travel(timezone.now() + events.STALE_AFTER + timedelta(seconds=1)):
        assert tasks.sweep.delay().get() == 1
    assert LineWebhookEvent.objects.get().outcome == "unlinked"


def test_a_failing_receiver_is_retried_then_marked_failed(company, client, django_capture_on_commit_callbacks):
    link_directly(company)
    candidate = make_candidate(company)
    LineAccount.objects.create(company=company, candidate=candidate, line_user_id=USER_ID, friend_state="friend")

    @receiver(line_message_received, dispatch_uid="test_failing_receiver")
    def broken(**kwargs):
        raise RuntimeError("timeline is down")

    try:
        with django_capture_on_commit_callbacks(execute=True):
            post(client, company, fixture_body("message_text"))
        row = LineWebhookEvent.objects.get()
        assert row.processed_at is None and row.next_attempt_at is not None and "timeline is down" in row.detail
        for _ in range(events.MAX_ATTEMPTS):
            LineWebhookEvent.objects.filter(pk=row.pk).update(next_attempt_at=None)
            events.process_event(row.pk)
        row.refresh_from_db()
        assert row.outcome == "failed" and row.processed_at is not None
        assert "RuntimeError: timeline is down" in row.detail
    finally:
        line_message_received.disconnect(dispatch_uid="test_failing_receiver")


@pytest.mark.usefixtures("both_webhook_paths")
def test_an_event_without_a_webhook_event_id_is_stored_once(company, client):
    link_directly(company)
    event = event_of("message_text")
    del event["webhookEventId"]
    for _ in range(2):
        assert post(client, company, body_of(event)).status_code == 200
    assert LineWebhookEvent.objects.get().webhook_event_id.startswith("sha256-")


# --- content: downloaded through the emulator's content API -----------------------------------

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64 + b"\xff\xd9"


def _emulated(line_emulator, line_pair, kind, **spec):
    """The persona sends content in the emulator; returns the webhook body LINE would post."""
    sent = line_emulator.send_message(line_pair.messaging_channel_id, line_pair.persona_id, type=kind, **spec)
    event = dict(event_of("message_image"), webhookEventId=sent["webhook_event_id"], timestamp=now_ms())
    event["source"] = {"type": "user", "userId": line_pair.user_id}
    event["message"] = sent["message"]
    return body_of(event, destination=line_pair.bot_user_id), sent["message_id"]


def test_a_file_is_downloaded_and_attached(deliver, line_emulator, line_pair, line_friend_candidate):
    import base64

    body, _ = _emulated(
        line_emulator,
        line_pair,
        "file",
        content_base64=base64.b64encode(PDF).decode(),
        file_name="履歴書.pdf",
        content_type="application/pdf",
    )
    deliver(body)
    message = Message.objects.get()
    attachment = message.attachments.get()
    assert (attachment.name, attachment.content_type, attachment.size) == ("履歴書.pdf", "application/pdf", len(PDF))
    assert attachment.file.read() == PDF
    assert message.extra["content_status"] == "ready" and message.file_name == "履歴書.pdf"


def test_an_image_is_downloaded_with_a_generated_name(deliver, line_emulator, line_pair, line_friend_candidate):
    import base64

    body, message_id = _emulated(line_emulator, line_pair, "image", content_base64=base64.b64encode(JPEG).decode())
    deliver(body)
    attachment = Message.objects.get().attachments.get()
    assert attachment.name == f"LINE画像_{message_id}.jpg" and attachment.content_type == "image/jpeg"


def test_content_still_being_prepared_is_retried_later(deliver, line_emulator, line_pair, line_friend_candidate):
    import base64

    body, _ = _emulated(
        line_emulator, line_pair, "video", content_base64=base64.b64encode(b"video").decode(), content_type="video/mp4"
    )
    line_emulator.fault("GET /v2/bot/message/{messageId}/content", "202", count=1)
    deliver(body)
    row = LineWebhookEvent.objects.get()
    message = Message.objects.get()
    assert row.processed_at is None and row.next_attempt_at > timezone.now()
    assert message.extra["content_status"] == "pending" and not message.attachments.exists()

    assert events.process_event(row.pk) is None  # not due yet
    with time_machine.travel(row.next_attempt_at + timedelta(seconds=1)):
        assert events.process_event(row.pk).outcome == "processed"
    message.refresh_from_db()
    assert message.extra["content_status"] == "ready" and message.attachments.get().content_type == "video/mp4"


def test_content_that_never_gets_ready_ends_as_unavailable(deliver, line_emulator, line_pair, line_friend_candidate):
    import base64

    body, _ = _emulated(
        line_emulator, line_pair, "audio", content_base64=base64.b64encode(b"audio").decode(), preparing_seconds=3600
    )
    deliver(body)
    row = LineWebhookEvent.objects.get()
    for _ in range(events.MAX_ATTEMPTS):
        LineWebhookEvent.objects.filter(pk=row.pk).update(next_attempt_at=None)
        events.process_event(row.pk)
    row.refresh_from_db()
    assert row.outcome == "processed" and row.attempts == events.MAX_ATTEMPTS
    assert Message.objects.get().extra["content_status"] == "failed"


def test_content_unsent_before_download_is_marked_deleted_by_the_sender(
    deliver, line_emulator, line_pair, line_friend_candidate
):
    import base64

    body, message_id = _emulated(line_emulator, line_pair, "image", content_base64=base64.b64encode(JPEG).decode())
    line_emulator.unsend(line_pair.messaging_channel_id, line_pair.persona_id, message_id)  # content now 410
    deliver(body)
    message = Message.objects.get()
    assert message.extra["content_status"] == "gone" and not message.attachments.exists()
    assert "送信者により削除されました" in LineWebhookEvent.objects.get().detail


def test_content_line_does_not_know_is_marked_unavailable(deliver, line_friend_candidate):
    deliver("message_file")  # the fixture's message id is unknown to the emulator: 404
    message = Message.objects.get()
    assert message.extra["content_status"] == "not_found" and message.file_name == "履歴書_山田花子.pdf"


def test_external_content_is_linked_not_downloaded(deliver, line_friend_candidate):
    event = event_of("message_image")
    deliver(
        "message_image",
        message=dict(
            event["message"],
            contentProvider={
                "type": "external",
                "originalContentUrl": "https://example.com/a.jpg",
                "previewImageUrl": "https://example.com/p.jpg",
            },
        ),
    )
    message = Message.objects.get()
    assert message.extra["provider"] == "external" and "content_status" not in message.extra


def test_processed_events_are_purged_after_the_retention_period_and_pending_ones_kept(deliver, line_friend_candidate):
    deliver("message_text")
    deliver("postback")
    _processed, pending = LineWebhookEvent.objects.order_by("id")
    LineWebhookEvent.objects.filter(pk=pending.pk).update(processed_at=None)
    LineWebhookEvent.objects.update(received_at=timezone.now() - timedelta(days=31))

    assert tasks.purge_old_events() == 1
    assert list(LineWebhookEvent.objects.values_list("pk", flat=True)) == [pending.pk]
    assert Message.objects.filter(line_message_id__isnull=False).exists()  # the effect stays
