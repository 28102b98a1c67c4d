"""The candidate's scheduling page in headless Chromium at phone size: pick a slot and book,
move it to another slot, cancel."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from selection.models import Interview
from tests.conftest import make_recruiter
from tests.selection_support import in_days, make_request, make_schedule, make_slot, make_token

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


@pytest.fixture
def phone(chromium) -> Iterator[Page]:
    context = chromium.new_context(locale="ja-JP", **PHONE)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on("dialog", lambda dialog: dialog.accept())  # 「面接をキャンセルしますか？」
    yield page
    context.close()


def test_a_candidate_books_changes_and_cancels_on_a_phone(phone, live_server, company, candidate):
    schedule = make_schedule(company, [make_recruiter(company, "mensetsu")], online_url="https://meet.example.com/x")
    first, second = make_slot(schedule, in_days(3, 10)), make_slot(schedule, in_days(4, 14))
    page = phone
    page.goto(f"{live_server.url}/s/{make_token(make_request(candidate, schedule))}/")
    expect(page.get_by_role("heading", name="一次面接")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling

    page.get_by_text("10:00〜11:00").click()
    page.get_by_role("button", name="この日時で予約する").click()
    expect(page.get_by_text("面接のご予約が確定しました。")).to_be_visible()
    expect(page.locator("[data-scheduling=booked]")).to_contain_text("10:00〜11:00")
    assert Interview.objects.get().slot == first

    page.get_by_text("14:00〜15:00").click()
    page.get_by_role("button", name="この日時に変更する").click()
    expect(page.get_by_text("面接の日時を変更しました。")).to_be_visible()
    expect(page.locator("[data-scheduling=booked]")).to_contain_text("14:00〜15:00")
    assert Interview.objects.get().slot == second

    page.get_by_role("button", name="予約をキャンセルする").click()
    expect(page.get_by_text("面接をキャンセルしました。")).to_be_visible()
    expect(page.get_by_role("button", name="この日時で予約する")).to_be_visible()
    assert Interview.objects.get().status == "cancelled"
