"""Custom forms in headless Chromium: a candidate answers on a phone, with a file; a recruiter
reorders fields without the page reloading."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connections
from django.urls import reverse
from playwright.sync_api import Page, expect

from customforms.models import FormAnswer, FormResponse
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, PASSWORD
from tests.customforms_support import PDF, PNG, answer_path, make_form

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


@pytest.fixture
def browser(monkeypatch):
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # the test's ORM calls beside Playwright's loop
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
        connections.close_all()


@pytest.fixture
def phone(browser) -> Iterator[Page]:
    context = browser.new_context(locale="ja-JP", **PHONE)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on("dialog", lambda dialog: dialog.accept())  # 「この内容で送信しますか？」
    yield page
    context.close()


def question(page: Page, label: str):
    return page.locator(".cf-question").filter(has_text=label)


def test_a_candidate_answers_on_a_phone_with_a_file(phone, live_server, company, candidate, tmp_path):
    form = make_form(company)
    page = phone
    page.goto(live_server.url + answer_path(candidate, form))
    expect(page.get_by_role("heading", name="エントリーシート")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling

    # First try: the required reason missing and a PNG named .pdf.
    fake = tmp_path / "履歴書.pdf"
    fake.write_bytes(PNG)
    page.get_by_label("ニックネーム").fill("はなこ")
    question(page, "説明会の満足度").get_by_text("満足", exact=True).click()
    question(page, "希望職種").get_by_text("営業").click()
    question(page, "希望職種").get_by_text("エンジニア").click()
    page.get_by_label("卒業予定日").fill("2027-03-20")
    page.get_by_label("TOEICスコア").fill("８５０")
    page.get_by_label("履歴書").set_input_files(str(fake))
    page.get_by_role("button", name="回答を送信する").click()

    expect(page.get_by_text("2つの項目を確認してください")).to_be_visible()
    expect(question(page, "志望動機")).to_contain_text("この項目は必須です。")
    expect(question(page, "履歴書")).to_contain_text("PDFのファイルを選択してください")
    expect(page.get_by_label("ニックネーム")).to_have_value("はなこ")
    expect(question(page, "希望職種").get_by_label("エンジニア")).to_be_checked()
    expect(page.get_by_label("卒業予定日")).to_have_value("2027-03-20")

    # Second try: fixed, with a real PDF.
    real = tmp_path / "resume.pdf"
    real.write_bytes(PDF)
    page.get_by_label("志望動機").fill("御社の事業に惹かれました。")
    expect(page.locator(".cf-counter")).to_have_text("13 / 4,000文字")
    page.get_by_label("履歴書").set_input_files(str(real))
    page.get_by_role("button", name="回答を送信する").click()

    expect(page.get_by_role("heading", name="回答を受け付けました")).to_be_visible()
    expect(page.locator("[data-form-result=done]")).to_be_visible()
    expect(page.get_by_text("resume.pdf")).to_be_visible()
    response = FormResponse.objects.get(candidate=candidate)
    answers = {answer.label: answer for answer in response.answers.all()}
    assert answers["希望職種"].value == ["営業", "エンジニア"] and answers["TOEICスコア"].value == "850"
    assert answers["履歴書"].file.read() == PDF

    page.goto(live_server.url + answer_path(candidate, form))
    expect(page.get_by_role("heading", name="このフォームには回答済みです")).to_be_visible()
    assert FormAnswer.objects.filter(response=response).count() == 8


def test_fields_move_without_the_page_reloading(browser, live_server, recruiter, company):
    form = make_form(company)
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="ja-JP")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}{reverse('login')}")
    page.get_by_label("ユーザー名").fill(recruiter.username)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url(f"{live_server.url}/candidates/")

    page.goto(f"{live_server.url}{reverse('customforms:detail', args=[form.pk])}")
    page.evaluate("window.stillTheSamePage = true")
    items = page.locator("#field-list [data-field-label]")
    expect(items.first).to_have_text("ニックネーム")
    page.get_by_role("button", name="「ニックネーム」を下へ移動").click()
    expect(items.nth(1)).to_have_text("ニックネーム")
    expect(items.first).to_have_text("志望動機")
    page.get_by_role("button", name="「ニックネーム」を下へ移動").click()
    expect(items.nth(2)).to_have_text("ニックネーム")
    assert page.evaluate("window.stillTheSamePage") is True
    focused = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert focused == "「ニックネーム」を下へ移動"
    assert [field.label for field in form.live_fields()][:3] == ["志望動機", "説明会の満足度", "ニックネーム"]
    context.close()
