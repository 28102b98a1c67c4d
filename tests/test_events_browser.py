"""Events in headless Chromium on a phone (390×844): a candidate applies through their
personal link, changes the date and cancels; a visitor applies on the public page."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from candidates.models import Candidate
from events.models import Application
from tests.events_support import make_event, personal_path

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def phone(chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context(
        locale="ja-JP", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=2
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on("dialog", lambda dialog: dialog.accept())  # 「お申し込みをキャンセルしますか？」
    yield page
    context.close()


def fits_the_phone(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= 390


def test_a_candidate_applies_changes_the_date_and_cancels_on_a_phone(phone, live_server, company, candidate):
    event = make_event(company, dates=2, capacity=5)
    first, second = event.dates.order_by("starts_at")
    page = phone
    page.goto(live_server.url + personal_path(candidate, event))
    expect(page.get_by_role("heading", name="会社説明会")).to_be_visible()
    assert fits_the_phone(page)

    page.locator(f'[data-date-option="{first.pk}"]').click()
    page.get_by_role("button", name="この日程で申し込む").click()
    expect(page.get_by_text("お申し込みを受け付けました")).to_be_visible()
    expect(page.locator("[data-my-application]")).to_contain_text("山田 花子 様のお申し込み")
    expect(page.locator(f'[data-date-option="{first.pk}"]')).to_contain_text("申込中")

    page.locator(f'[data-date-option="{second.pk}"]').click()
    page.get_by_role("button", name="この日程に変更する").click()
    expect(page.get_by_text("日程を変更しました")).to_be_visible()
    assert Application.objects.get().date_id == second.pk

    page.get_by_role("button", name="お申し込みをキャンセルする").click()
    expect(page.get_by_text("お申し込みをキャンセルしました")).to_be_visible()
    expect(page.locator("[data-my-application]")).to_contain_text("キャンセル済み")
    assert Application.objects.get().status == Application.Status.CANCELLED
    assert fits_the_phone(page)


def test_a_visitor_applies_on_the_public_page_on_a_phone(phone, live_server, company):
    event = make_event(company)
    page = phone
    page.goto(f"{live_server.url}/e/p/{event.public_id}/")
    assert fits_the_phone(page)
    page.get_by_role("button", name="申し込む").click()
    expect(page.get_by_text("参加する日程を選んでください。")).to_be_visible()
    page.locator(f'[data-date-option="{event.dates.get().pk}"]').click()
    for label, value in (
        ("姓", "佐藤"),
        ("名", "一郎"),
        ("セイ", "サトウ"),
        ("メイ", "イチロウ"),
        ("メールアドレス", "ichiro@example.com"),
        ("大学", "京都大学"),
    ):
        page.get_by_label(re.compile(f"^{label} ")).fill(value)  # 「姓 必須」
    page.get_by_label(re.compile("^卒業予定年")).select_option("2027")
    page.get_by_role("button", name="申し込む").click()
    expect(page.get_by_role("heading", name="お申し込みを受け付けました")).to_be_visible()
    assert Candidate.objects.get().email == "ichiro@example.com"
    assert Application.objects.get().source == Application.Source.PUBLIC
