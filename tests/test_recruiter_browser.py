"""A recruiter in headless Chromium: what only a real browser shows (scripts, images, scrolling)."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from django.db import connections
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from messaging.models import Kind
from messaging.receiving import inbound
from messaging.sending import compose, scheduling
from messaging.sending.compose import Draft
from tests.conftest import PASSWORD
from tests.friend_registration_support import link_company

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STICKER_CDN = "https://stickershop.line-scdn.net/**"


@pytest.fixture
def recruiter_page(chromium, live_server, recruiter):
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, locale="ja-JP")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}{reverse('login')}")
    page.get_by_label("ユーザー名").fill(recruiter.username)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url(f"{live_server.url}/candidates/")
    yield page
    context.close()
    connections.close_all()


def a_sticker_reply(candidate) -> None:
    inbound.add_incoming_line_message(
        candidate,
        line_message_id="500001",
        occurred_at=timezone.now(),
        text="",
        sender_name="山田 花子",
        content_type="sticker",
        sticker_package_id="446",
        sticker_id="1988",
    )


def test_a_sticker_whose_picture_cannot_load_shows_a_sticker_label_not_a_broken_image(
    recruiter_page, live_server, candidate
):
    a_sticker_reply(candidate)
    page = recruiter_page
    page.route(STICKER_CDN, lambda route: route.abort("namenotresolved"))  # LINE's CDN out of reach

    for view in ("messaging:line_chat", "messaging:timeline"):
        page.goto(f"{live_server.url}{reverse(view, args=[candidate.pk])}")
        sticker = page.locator("[data-line-sticker]")
        expect(sticker.locator("[data-sticker-fallback]")).to_have_text("スタンプ")
        expect(sticker.locator("img")).to_have_count(0)


def test_a_sticker_is_drawn_by_the_sticker_base_the_settings_name(
    recruiter_page, live_server, candidate, line_emulator, settings
):
    # `make run` points LINE_STICKER_BASE at the emulator (and so the policy's img-src, as
    # settings.py builds it from the environment): the picture shows with no internet.
    policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
    policy["DIRECTIVES"]["img-src"].append(line_emulator.base_url)
    settings.CONTENT_SECURITY_POLICY = policy
    a_sticker_reply(candidate)
    page = recruiter_page
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))

    page.goto(f"{live_server.url}{reverse('messaging:line_chat', args=[candidate.pk])}")
    image = page.locator("[data-line-sticker] img")
    expect(image).to_have_attribute("src", f"{line_emulator.base_url}/stickershop/v1/sticker/1988/android/sticker.png")
    expect(image).to_have_js_property("complete", True)
    assert image.evaluate("img => img.naturalWidth") == 120
    expect(page.locator("[data-sticker-fallback]")).to_have_count(0)
    assert failed == []


def test_a_failed_relink_brings_the_error_into_view(recruiter_page, live_server, line_emulator, company, recruiter):
    pair = link_company(line_emulator, company, recruiter)
    page = recruiter_page
    page.goto(f"{live_server.url}{reverse('line:settings')}")

    # The two channels' values swapped: LINE is asked, nothing is saved, and the reason shows.
    page.locator("input[name=messaging_channel_id]").fill(pair.login_channel_id)
    page.locator("input[name=messaging_channel_secret]").fill(pair.login_channel_secret)
    page.locator("input[name=login_channel_id]").fill(pair.messaging_channel_id)
    page.locator("input[name=login_channel_secret]").fill(pair.messaging_channel_secret)
    page.get_by_role("button", name="変更して再連携").click()

    error = page.locator("#line-link-error")
    expect(error).to_contain_text("逆に設定されている可能性があります")
    expect(error).to_be_in_viewport()


def test_a_scheduled_send_page_left_open_shows_the_send_going_out(
    recruiter_page, live_server, company, recruiter, candidate
):
    due = timezone.now() + timedelta(minutes=2)
    send = compose.create_send(
        Draft(kind=Kind.CANDIDATE, subject="説明会のリマインド", body="{{候補者氏名}}様", scheduled_at=due),
        company=company,
        user=recruiter,
        candidates=[candidate.pk],
    )
    page = recruiter_page
    page.goto(f"{live_server.url}{reverse('messaging:send_detail', args=[send.pk])}")
    expect(page.get_by_text("送信予約中")).to_be_visible()
    expect(page.get_by_role("button", name="予約をキャンセル")).to_be_visible()

    scheduling.dispatch_due(now=due)  # the beat's tick at the scheduled time (the worker runs inline here)

    # No reload by hand: the page notices, then shows the final state without the 予約 buttons.
    expect(page.locator("#send-progress")).to_contain_text("送信完了", timeout=15_000)
    expect(page.get_by_role("button", name="予約をキャンセル")).to_have_count(0)
    expect(page.get_by_text("送信済み").first).to_be_visible()


def test_the_compose_line_note_follows_the_line_switch(recruiter_page, live_server, line_friend_candidate):
    page = recruiter_page
    page.goto(f"{live_server.url}{reverse('messaging:compose', args=[line_friend_candidate.pk])}")
    friend_note = page.get_by_text("この候補者はLINE友達です。LINEにも届きます。")
    email_only = page.get_by_text("LINEには送信しません（メールのみ）")
    expect(page.locator("#id_send_line")).not_to_be_checked()
    expect(friend_note).to_be_hidden()
    expect(email_only).to_be_visible()

    page.locator("#id_send_line").check()

    expect(friend_note).to_be_visible()
    expect(email_only).to_be_hidden()
