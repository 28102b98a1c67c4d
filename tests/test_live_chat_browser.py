"""The recruiter's LINE tab is live: a reply posted to the webhook, signed as LINE signs it,
goes through the real processing path and appears on the open tab and the open inbox without a
reload; the chat stays at the bottom if it was there, and does not move if it was not; replies
shown on a visible tab count as read; the timeline keeps what is on the screen in place."""

from __future__ import annotations

import time

import pytest
import requests
from django.db import connections
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from line_integration.models import LineIntegration
from messaging.receiving import inbound
from tests.conftest import PASSWORD
from tests.line_webhook_helpers import body_of, event_of, sign, webhook_path

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EARLIER = 25  # enough messages for the chat pane to scroll


@pytest.fixture
def pages(chromium, live_server, recruiter):
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, locale="ja-JP")
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}{reverse('login')}")
    page.get_by_label("ユーザー名").fill(recruiter.username)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url(f"{live_server.url}/candidates/")
    yield page, context.new_page()
    context.close()
    connections.close_all()


def post_reply(live_server, company, line_pair, text: str, n: int) -> None:
    """What LINE posts when the candidate sends `text`: the raw body, signed with the channel secret."""
    event = event_of("message_text")
    event.update(
        timestamp=int(time.time() * 1000),
        webhookEventId=f"01LIVECHAT{n:016d}",
        source={"type": "user", "userId": line_pair.user_id},
        message={"id": f"90000{n}", "type": "text", "quoteToken": f"q{n}", "text": text},
    )
    bot = LineIntegration.objects.get(company=company).bot_user_id
    body = body_of(event, destination=bot)
    response = requests.post(
        f"{live_server.url}{webhook_path(company)}",
        data=body,
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "x-line-signature": sign(line_pair.messaging_channel_secret, body),
        },
        timeout=10,
    )
    assert response.status_code == 200


def chat_position(page: Page) -> dict:
    return page.eval_on_selector(
        "[data-line-chat]",
        "c => ({top: c.scrollTop, fromBottom: c.scrollHeight - c.scrollTop - c.clientHeight})",
    )


TOP_ITEM = """() => {
  const item = [...document.querySelectorAll("#timeline-entries [data-live-item]")].find(
    (each) => each.getBoundingClientRect().bottom > 0,
  );
  return {id: item.id, top: item.getBoundingClientRect().top};
}"""


def test_a_line_reply_appears_on_the_open_line_tab_and_inbox_without_a_reload(
    pages, live_server, linked_company, line_friend_candidate, line_pair
):
    candidate = line_friend_candidate
    for n in range(EARLIER):
        inbound.add_incoming_line_message(
            candidate, line_message_id=f"80000{n}", occurred_at=timezone.now(), text=f"以前のメッセージ {n}"
        )
    chat, inbox = pages
    inbox.goto(f"{live_server.url}{reverse('messaging:inbox')}")
    chat.goto(f"{live_server.url}{reverse('messaging:line_chat', args=[candidate.pk])}")
    chat.evaluate("window.notReloaded = true")
    assert chat_position(chat)["fromBottom"] < 2

    post_reply(live_server, linked_company, line_pair, "面接の件、承知しました！", 1)
    expect(chat.locator("#line-history")).to_contain_text("面接の件、承知しました！")
    assert chat_position(chat)["fromBottom"] < 2  # at the bottom it was, at the bottom it stays
    expect(inbox.locator("[data-inbox]")).to_contain_text("面接の件、承知しました！")

    chat.eval_on_selector("[data-line-chat]", "c => { c.scrollTop = 40; }")  # reading older messages
    post_reply(live_server, linked_company, line_pair, "もう一つ質問があります", 2)
    expect(chat.locator("#line-history")).to_contain_text("もう一つ質問があります")
    assert chat_position(chat)["top"] == 40  # the view did not jump
    assert chat.evaluate("window.notReloaded") is True
    # Both replies were on the screen of a visible tab: read, and the inbox follows.
    expect(inbox.locator('a[href="?state=unread"] .badge')).to_have_text("0")

    # The timeline (newest first), scrolled down: a reply arrives above, what she reads stays put.
    timeline = inbox
    timeline.goto(f"{live_server.url}{reverse('messaging:timeline', args=[candidate.pk])}")
    timeline.locator("[data-live-item]", has_text="以前のメッセージ 20").scroll_into_view_if_needed()
    # Measure once a poll finds nothing new: the page's first redraw (未読 marks) is behind us.
    with timeline.expect_response(lambda response: "/timeline/live/" in response.url and response.status == 204):
        pass
    # What she reads is the item at the top of the view.
    reading = timeline.evaluate(TOP_ITEM)
    post_reply(live_server, linked_company, line_pair, "タイムラインにも届きます", 3)
    expect(timeline.locator("#timeline-entries")).to_contain_text("タイムラインにも届きます")
    top = timeline.evaluate("id => document.getElementById(id).getBoundingClientRect().top", reading["id"])
    # Without the scroll keeping it would move down by the new item's height (~80 px); a few px
    # come and go with the 未読 marks redrawn on the items around it.
    assert abs(top - reading["top"]) < 8
