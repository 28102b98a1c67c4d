"""End to end: a persona replies from the emulator phone with text, a sticker and a PDF; the
emulator posts its real signed webhooks to the running app; the recruiter sees all three on
the timeline and the LINE tab, the unread badge clears when read, and replaying the same
webhook changes nothing."""

import pytest
import requests
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse

from line_integration.models import LineWebhookEvent, webhook_url
from messaging.models import Message, MessageAttachment

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def wired(live_server, settings, line_emulator, line_pair, line_friend_candidate, linked_company):
    """The emulator's channel posts its webhooks to the live server."""
    settings.SITE_URL = live_server.url
    channel = line_pair.messaging_channel_id
    line_emulator.set_channel(channel, webhook_url=webhook_url(linked_company), webhook_active=True)
    return line_friend_candidate


def _badge(page: str) -> bool:
    return "data-nav-badge" in page


@pytest.mark.django_db(transaction=True)
def test_a_candidates_text_sticker_and_pdf_reach_the_recruiter(
    wired, client, recruiter, line_emulator, line_pair, live_server, linked_company, tmp_path
):
    channel, persona = line_pair.messaging_channel_id, line_pair.persona_id
    line_emulator.send_text(channel, persona, "はじめまして。説明会の資料、ありがとうございました！")
    line_emulator.send_sticker(channel, persona, package_id="446", sticker_id="1988")
    line_emulator.send_file(channel, persona, PDF, file_name="履歴書.pdf")
    assert line_emulator.wait_for_webhooks(timeout=10)
    attempts = line_emulator.webhook_log(channel)
    assert [a["status_code"] for a in attempts] == [200, 200, 200]
    assert all(a["latency_ms"] < 2000 for a in attempts)

    candidate = wired
    assert Message.objects.filter(candidate=candidate, direction="in").count() == 3
    assert LineWebhookEvent.objects.filter(outcome="processed").count() == 3

    client.force_login(recruiter)
    inbox = client.get(reverse("messaging:inbox")).content.decode()
    assert _badge(inbox) and "［ファイル］履歴書.pdf" in inbox  # the latest reply is the preview

    timeline = client.get(reverse("messaging:timeline", args=[candidate.pk])).content.decode()
    assert "はじめまして。説明会の資料、ありがとうございました！" in timeline
    assert f"{settings.LINE_STICKER_BASE}/stickershop/v1/sticker/1988/android/sticker.png" in timeline
    pdf = MessageAttachment.objects.get()
    assert "履歴書.pdf" in timeline and reverse("messaging:message_attachment", args=[pdf.pk]) in timeline

    chat = client.get(reverse("messaging:line_chat", args=[candidate.pk])).content.decode()
    assert "はじめまして。説明会の資料" in chat and "sticker/1988/" in chat and "履歴書.pdf" in chat
    download = client.get(reverse("messaging:message_attachment", args=[pdf.pk]))
    assert b"".join(download.streaming_content) == PDF

    assert not _badge(client.get(reverse("messaging:inbox")).content.decode())  # read: the badge is gone
    assert not Message.objects.filter(direction="in", read_at__isnull=True).exists()

    # Replaying LINE's exact requests (the same bytes and signature) changes nothing.
    before = (LineWebhookEvent.objects.count(), Message.objects.count(), MessageAttachment.objects.count())
    for attempt in attempts:
        response = requests.post(
            attempt["url"],
            data=attempt["body"].encode("utf-8"),
            headers={"Content-Type": "application/json; charset=utf-8", "x-line-signature": attempt["signature"]},
            timeout=5,
        )
        assert response.status_code == 200
    body_file = tmp_path / "replay.json"
    body_file.write_bytes(attempts[0]["body"].encode("utf-8"))
    call_command("line_webhook_replay", str(body_file), company=linked_company.public_id, url=live_server.url)
    after = (LineWebhookEvent.objects.count(), Message.objects.count(), MessageAttachment.objects.count())
    assert after == before


@pytest.mark.django_db(transaction=True)
def test_a_delivery_duplicated_by_line_is_stored_once(wired, line_emulator, line_pair):
    """LINE may deliver one event twice even without a failure (its webhook is at least once)."""
    channel = line_pair.messaging_channel_id
    line_emulator.set_settings(chaos={"duplicate": True, "shuffle": False, "delay_ms": 0})
    line_emulator.send_text(channel, line_pair.persona_id, "重複して届いても一件です")
    assert len(line_emulator.wait_for_attempts(channel, 2, timeout=10)) == 2
    line_emulator.wait_for_webhooks(timeout=10)
    assert {a["status_code"] for a in line_emulator.webhook_log(channel)} == {200}
    assert Message.objects.filter(body="重複して届いても一件です").count() == 1
    assert LineWebhookEvent.objects.count() == 1
