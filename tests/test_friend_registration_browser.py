"""A candidate in headless Chromium: from the invitation link through the emulator's LINE
Login, consent and add-friend pages to our completion page."""

from __future__ import annotations

import pytest
from django.db import connections

from line_integration.models import LineAccount
from tests.friend_registration_support import COMPLETE_TEXT, invite, link_company

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def chromium_page(chromium):
    context = chromium.new_context(viewport={"width": 390, "height": 844}, locale="ja-JP", is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
    # ORM calls made while Playwright's loop runs get a connection of their own (another
    # context): close it here, or PostgreSQL refuses to drop the test database at the end.
    connections.close_all()


def log_in_and_consent(page, line_emulator, pair) -> None:
    """From the landing page through the emulator's LINE Login: the pair's persona logs in and consents."""
    page.get_by_role("button", name="LINEでログインして友達登録").click()
    page.wait_for_url(f"{line_emulator.base_url}/**")
    page.locator(f"input[name=persona_id][value='{pair.persona_id}']").check()
    page.get_by_role("button", name="ログイン", exact=True).click()
    page.get_by_role("button", name="許可する").click()


def test_a_candidate_registers_as_a_line_friend_in_a_real_browser(
    chromium_page, live_server, settings, line_emulator, company, recruiter, candidate
):
    settings.SITE_URL = live_server.url
    line_emulator.set_settings(follow_webhook_delay_ms=-50)
    pair = link_company(line_emulator, company, recruiter)
    page = chromium_page

    page.goto(invite(candidate))
    assert page.get_by_role("heading", name="LINE友達登録").is_visible()
    log_in_and_consent(page, line_emulator, pair)
    page.get_by_role("button", name="友だち追加").click()

    page.wait_for_url(f"{live_server.url}/line/friend/result/**")
    assert page.get_by_role("heading", name=COMPLETE_TEXT).is_visible()
    assert page.get_by_text("山田 花子").is_visible()
    account = LineAccount.objects.get(candidate=candidate)
    assert account.friend_state == LineAccount.FriendState.FRIEND
    assert account.line_user_id == pair.user_id


def test_a_candidate_who_declined_adds_the_account_from_the_add_friend_button(
    chromium_page, live_server, settings, line_emulator, company, recruiter, candidate
):
    settings.SITE_URL = live_server.url
    pair = link_company(line_emulator, company, recruiter)
    page = chromium_page

    page.goto(invite(candidate))
    log_in_and_consent(page, line_emulator, pair)
    page.get_by_role("button", name="追加しない").click()

    page.wait_for_url(f"{live_server.url}/line/friend/result/**")
    result_url = page.url
    assert LineAccount.objects.get(candidate=candidate).friend_state == LineAccount.FriendState.NOT_FRIEND
    page.get_by_role("link", name="友だち追加する").click()

    # LINE_WEB_BASE: the emulator's add-friend page, already logged in as the persona from LINE Login.
    page.wait_for_url(f"{line_emulator.base_url}/R/ti/p/**")
    assert page.get_by_text("でログイン中").is_visible()
    page.get_by_role("button", name="友だち追加").click()
    assert page.get_by_role("heading", name="友だち追加しました").is_visible()

    assert line_emulator.wait_for_webhooks(timeout=10)  # the follow webhook links the candidate
    account = LineAccount.objects.get(candidate=candidate)
    assert account.friend_state == LineAccount.FriendState.FRIEND
    assert account.line_user_id == pair.user_id
    page.goto(result_url)  # 「登録状況を確認する」
    assert page.get_by_role("heading", name=COMPLETE_TEXT).is_visible()
