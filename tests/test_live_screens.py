"""What an open tab polls (the LINE tab, the timeline, the inbox, the navigation badge): 204
while nothing changed, the region anew when a reply, a status or a read mark changed it."""

import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from messaging import live
from messaging.models import Channel, Delivery, Kind, Message
from messaging.outbox import drain
from messaging.receiving import inbound
from messaging.sending import compose
from messaging.sending.compose import Draft
from messaging.timeline import views as timeline
from tests.conftest import make_candidate, make_recruiter

pytestmark = pytest.mark.django_db

SEEN = {"X-Live-Seen": "1"}


def reply(candidate, text: str, line_message_id: str) -> Message:
    message, _ = inbound.add_incoming_line_message(
        candidate, line_message_id=line_message_id, occurred_at=timezone.now(), text=text, sender_name="山田 花子"
    )
    return message


def poll_url(page: str, view: str) -> str:
    """The URL the page polls, with the version it shows (from its hx-get)."""
    match = re.search(rf'hx-get="([^"]*/{view}/\?v=[^"]*)"', page)
    assert match, f"no {view} poll on the page"
    return match.group(1).replace("&amp;", "&")


def test_the_line_tab_gets_204_until_a_reply_arrives_then_the_reply(
    recruiter_client, candidate, django_capture_on_commit_callbacks
):
    page = recruiter_client.get(reverse("messaging:line_chat", args=[candidate.pk])).content.decode()
    poll = poll_url(page, "line/live")
    idle = recruiter_client.get(poll)
    assert idle.status_code == 204 and idle.content == b""

    with django_capture_on_commit_callbacks(execute=True):
        reply(candidate, "説明会に参加します！", "700001")
    fresh = recruiter_client.get(poll)
    assert fresh.status_code == 200
    html = fresh.content.decode()
    assert "説明会に参加します！" in html and 'id="line-history"' in html
    assert recruiter_client.get(poll_url(html, "line/live")).status_code == 204  # the new version holds


def test_the_line_tab_follows_a_message_from_queued_to_sent(
    recruiter, recruiter_client, linked_company, line_friend_candidate, django_capture_on_commit_callbacks
):
    candidate = line_friend_candidate
    with django_capture_on_commit_callbacks(execute=False):  # written, not yet picked up by a worker
        send = compose.create_send(
            Draft(kind=Kind.LINE_CHAT, subject="", body="明日の面接です。", send_email=False, send_line=True),
            company=linked_company,
            user=recruiter,
            candidates=[candidate.pk],
        )
    page = recruiter_client.get(reverse("messaging:line_chat", args=[candidate.pk])).content.decode()
    assert 'data-delivery-status="queued"' in page
    poll = poll_url(page, "line/live")
    assert recruiter_client.get(poll).status_code == 204

    with django_capture_on_commit_callbacks(execute=True):
        drain.drain(send.pk, Channel.LINE)  # the worker's code: claims, pushes to LINE, writes outcomes
    assert Delivery.objects.get(send=send, channel=Channel.LINE).status == Delivery.Status.SENT
    fresh = recruiter_client.get(poll)
    assert fresh.status_code == 200 and 'data-delivery-status="sent"' in fresh.content.decode()


def test_the_timeline_gets_204_until_something_changes_and_older_pages_do_not_poll(
    recruiter_client, candidate, django_capture_on_commit_callbacks
):
    url = reverse("messaging:timeline", args=[candidate.pk])
    poll = poll_url(recruiter_client.get(url).content.decode(), "timeline/live")
    assert recruiter_client.get(poll).status_code == 204

    with django_capture_on_commit_callbacks(execute=True):
        reply(candidate, "履歴書を送りました", "700002")
    fresh = recruiter_client.get(poll).content.decode()
    assert "履歴書を送りました" in fresh and "data-unread" in fresh  # shown as new, this once

    for n in range(timeline.TIMELINE_PAGE):
        reply(candidate, f"{n}通目", f"71{n:04d}")
    assert "timeline/live" not in recruiter_client.get(url + "?page=2").content.decode()


def test_a_poll_from_a_visible_tab_marks_what_arrived_as_read(
    recruiter_client, candidate, django_capture_on_commit_callbacks
):
    page = recruiter_client.get(reverse("messaging:line_chat", args=[candidate.pk])).content.decode()
    poll = poll_url(page, "line/live")
    with django_capture_on_commit_callbacks(execute=True):
        reply(candidate, "よろしくお願いします", "700003")
    recruiter_client.get(poll)  # a background tab: still unread
    assert Message.objects.get().read_at is None
    with django_capture_on_commit_callbacks(execute=True):
        recruiter_client.get(poll, headers=SEEN)
    assert Message.objects.get().read_at is not None


def test_the_inbox_and_the_badge_get_204_until_a_reply_arrives(
    recruiter_client, candidate, django_capture_on_commit_callbacks
):
    inbox_poll = poll_url(recruiter_client.get(reverse("messaging:inbox")).content.decode(), "inbox/live")
    first = recruiter_client.get(reverse("messaging:inbox_badge")).content.decode()  # a fresh page's first poll
    badge_poll = poll_url(first, "inbox/badge")
    assert recruiter_client.get(inbox_poll).status_code == 204
    assert recruiter_client.get(badge_poll).status_code == 204

    with django_capture_on_commit_callbacks(execute=True):
        reply(candidate, "質問があります", "700004")
    inbox = recruiter_client.get(inbox_poll).content.decode()
    assert "質問があります" in inbox and f'data-inbox-row="{candidate.pk}"' in inbox
    assert "data-nav-badge>1<" in recruiter_client.get(badge_poll).content.decode()


def test_another_companys_candidate_is_404_whatever_the_version(client, candidate, other_company):
    client.force_login(make_recruiter(other_company, "outsider"))
    for view in ("messaging:line_chat_live", "messaging:timeline_live"):
        assert client.get(reverse(view, args=[candidate.pk]) + "?v=").status_code == 404


def test_another_companys_reply_does_not_wake_our_inbox(
    recruiter_client, other_company, django_capture_on_commit_callbacks
):
    poll = poll_url(recruiter_client.get(reverse("messaging:inbox")).content.decode(), "inbox/live")
    with django_capture_on_commit_callbacks(execute=True):
        reply(make_candidate(other_company, email="other@example.com"), "よその返信", "700005")
    assert recruiter_client.get(poll).status_code == 204


def test_without_a_working_cache_the_tab_renders_twice_a_minute_instead_of_failing(
    recruiter_client, candidate, settings
):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:9/0"}
    }
    with time_machine.travel(timezone.now(), tick=False) as clock:
        page = recruiter_client.get(reverse("messaging:line_chat", args=[candidate.pk])).content.decode()
        poll = poll_url(page, "line/live")
        reply(candidate, "届いています", "700006")  # its renewal is lost with the cache
        assert recruiter_client.get(poll).status_code == 204
        clock.shift(live.WITHOUT_CACHE_EVERY)
        response = recruiter_client.get(poll)
    assert response.status_code == 200 and "届いています" in response.content.decode()
