"""A recruiter records a result on a phone in headless Chromium: the form says what notice the
chosen step and result will send, the delayed notice shows as pending, and a tap cancels it."""

from __future__ import annotations

import pytest
from django.db import connections
from django.urls import reverse
from playwright.sync_api import expect

from messaging.models import Send
from results.models import SelectionResult
from tests.conftest import PASSWORD, make_candidate
from tests.results_support import FAILED, delayed, stage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


@pytest.fixture
def phone_page(chromium, live_server, recruiter):
    context = chromium.new_context(locale="ja-JP", **PHONE)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on("dialog", lambda dialog: dialog.accept())  # 「この通知をキャンセルしますか？」
    page.goto(f"{live_server.url}{reverse('login')}")
    page.get_by_label("ユーザー名").fill(recruiter.username)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url(f"{live_server.url}/candidates/")
    yield page
    context.close()
    connections.close_all()


def test_a_fail_recorded_on_a_phone_is_noticed_later_and_can_be_cancelled(phone_page, live_server, company):
    delayed(company, "一次面接", FAILED, days=3, hour=10)
    candidate = make_candidate(company, stage=stage(company, "一次面接"))
    page = phone_page
    page.goto(live_server.url + reverse("results:candidate_tab", args=[candidate.pk]))
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling

    page.get_by_text("不合格", exact=True).click()
    expect(page.locator("[data-result-notice-text]")).to_have_text(
        "不合格の通知を3日後 10:00にメールで送信します（それまではキャンセルできます）。"
    )
    page.get_by_text("合格", exact=True).click()
    expect(page.locator("[data-result-notice-text]")).to_have_text("合格の通知は送信しない設定です。")
    page.get_by_text("不合格", exact=True).click()
    page.get_by_label("メモ").fill("志望度に課題")
    page.get_by_role("button", name="登録する").click()

    expect(page.get_by_text("一次面接の選考結果を「不合格」で登録しました。")).to_be_visible()
    pending = page.locator(".list-group-item-warning")
    expect(pending).to_contain_text("【株式会社テスト】一次面接の選考結果のご連絡")
    pending.get_by_role("button", name="キャンセル").click()
    expect(page.get_by_text("一次面接の選考結果の通知をキャンセルしました。")).to_be_visible()
    expect(page.get_by_text("通知はキャンセル済み")).to_be_visible()
    notice = SelectionResult.objects.get(candidate=candidate).notice
    assert notice is not None and notice.status == Send.Status.CANCELLED
