"""The template picker on every compose screen: the company's templates, grouped by category,
filling subject and body (the LINE tab: body only; a reply keeps its quote), and the text it
fills in. In a real browser the preview then shows the first recipient."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from messaging import kinds
from messaging.kinds import ComposeKind
from messaging.models import Kind, MessageTemplate
from messaging.receiving import inbound
from messaging.sending import compose
from messaging.sending.compose import Draft
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, PASSWORD, make_candidate

pytestmark = pytest.mark.django_db


@pytest.fixture
def interview_template(company) -> MessageTemplate:
    return MessageTemplate.objects.create(
        company=company,
        name="一次面接のご案内",
        category=MessageTemplate.Category.INTERVIEW,
        subject="【{{企業名}}】一次面接のご案内",
        body="{{候補者氏名}}様\n一次面接のご案内です。",
    )


@pytest.fixture
def scheduling_kind(monkeypatch):
    kind = ComposeKind(
        Kind.SCHEDULING_REQUEST, "日程調整", context_key="schedule", context_label="日程", choices=lambda c: []
    )
    monkeypatch.setitem(kinds._registry, kind.kind, kind)


def picker_of(page: str) -> str:
    start = page.index("data-template-picker")
    return page[start : page.index("</div>", page.index("template-picker-status", start))]


def a_received_email(candidate):
    received, _ = inbound.add_incoming_email(
        candidate,
        subject="面接について",
        body="よろしくお願いします。",
        from_address="hanako@example.com",
        sender_name="山田 花子",
        email_message_id="<q@mail.example>",
        occurred_at=timezone.now(),
    )
    return received


def a_scheduled_send(company, recruiter, candidate, **fields):
    return compose.create_send(
        Draft(kind=Kind.BULK, subject="予約", body="本文", scheduled_at=timezone.now() + timedelta(days=1), **fields),
        company=company,
        user=recruiter,
        candidates=[candidate.pk],
    )


def test_every_email_compose_screen_offers_the_picker_for_subject_and_body(
    recruiter_client, company, recruiter, candidate, interview_template, scheduling_kind
):
    content_url = reverse("messaging:template_content", args=[interview_template.pk])
    screens = {
        "bulk": recruiter_client.post(reverse("messaging:compose_bulk"), {"ids": [candidate.pk]}),
        "one candidate": recruiter_client.get(reverse("messaging:compose", args=[candidate.pk])),
        "registered kind": recruiter_client.post(
            reverse("messaging:compose_bulk") + "?kind=scheduling_request", {"ids": [candidate.pk]}
        ),
        "reply": recruiter_client.get(reverse("messaging:reply", args=[a_received_email(candidate).pk])),
        "scheduled send": recruiter_client.get(
            reverse("messaging:send_edit", args=[a_scheduled_send(company, recruiter, candidate).pk])
        ),
    }
    for screen, response in screens.items():
        picker = picker_of(response.content.decode())
        assert 'data-fill-subject="#id_subject"' in picker and 'data-fill-body="#id_body"' in picker, screen
        assert f'data-url="{content_url}">一次面接のご案内</option>' in picker, screen
        assert '<optgroup label="面接">' in picker, screen


def test_a_reply_keeps_the_quoted_email_under_the_template(recruiter_client, candidate, interview_template):
    page = recruiter_client.get(reverse("messaging:reply", args=[a_received_email(candidate).pk])).content.decode()
    assert 'data-fill-keep="\n\n' in picker_of(page) and "&gt; よろしくお願いします。" in picker_of(page)


def test_the_line_tab_picker_fills_the_body_only(recruiter_client, candidate, interview_template):
    from tests.test_messaging_compose import befriend, linked

    linked(candidate.company)
    befriend(candidate, 1)
    picker = picker_of(recruiter_client.get(reverse("messaging:line_chat", args=[candidate.pk])).content.decode())
    assert 'data-fill-body="[data-line-input]"' in picker and "data-fill-subject" not in picker
    assert "一次面接のご案内</option>" in picker


def test_a_line_only_scheduled_send_fills_the_body_only(recruiter_client, company, recruiter, candidate):
    from tests.test_messaging_compose import befriend, linked

    MessageTemplate.objects.create(company=company, name="LINE用", body="こんにちは")
    linked(company)
    befriend(candidate, 2)
    send = compose.create_send(
        Draft(
            kind=Kind.LINE_CHAT,
            subject="",
            body="本文",
            send_line=True,
            send_email=False,
            scheduled_at=timezone.now() + timedelta(days=1),
        ),
        company=company,
        user=recruiter,
        candidates=[candidate.pk],
    )
    picker = picker_of(recruiter_client.get(reverse("messaging:send_edit", args=[send.pk])).content.decode())
    assert 'data-fill-body="#id_body"' in picker and "data-fill-subject" not in picker


def test_the_picker_lists_only_the_companys_templates(recruiter_client, candidate, other_company, interview_template):
    MessageTemplate.objects.create(company=other_company, name="よその会社の案内", body="本文")
    page = recruiter_client.get(reverse("messaging:compose", args=[candidate.pk])).content.decode()
    assert "一次面接のご案内</option>" in page and "よその会社の案内" not in page


def test_without_templates_the_picker_invites_to_create_one(recruiter_client, candidate):
    page = recruiter_client.get(reverse("messaging:compose", args=[candidate.pk])).content.decode()
    assert "よく送る文面はテンプレートに登録しておくと" in page
    assert reverse("messaging:template_create") in page


def test_the_picker_gets_the_saved_subject_and_body(recruiter_client, interview_template):
    response = recruiter_client.get(reverse("messaging:template_content", args=[interview_template.pk]))
    assert response.json() == {
        "name": "一次面接のご案内",
        "subject": "【{{企業名}}】一次面接のご案内",
        "body": "{{候補者氏名}}様\n一次面接のご案内です。",
    }


@pytest.fixture
def browser_page(monkeypatch, live_server, recruiter):
    from django.db import connections
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP")
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{live_server.url}{reverse('login')}")
        page.get_by_label("ユーザー名").fill(recruiter.username)
        page.get_by_label("パスワード").fill(PASSWORD)
        page.get_by_role("button", name="ログイン").click()
        page.wait_for_url(f"{live_server.url}/candidates/")
        yield page
        context.close()
        browser.close()
        connections.close_all()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_choosing_a_template_fills_the_form_and_the_preview_shows_the_first_recipient(
    browser_page, live_server, company, interview_template
):
    candidate = make_candidate(company, last_name="青木", first_name="一郎", email="aoki@example.com")
    page = browser_page
    page.goto(f"{live_server.url}{reverse('messaging:compose', args=[candidate.pk])}")
    page.locator("#template-picker").select_option(label="一次面接のご案内")
    expect(page.locator("#id_subject")).to_have_value("【{{企業名}}】一次面接のご案内")
    expect(page.locator("#id_body")).to_have_value("{{候補者氏名}}様\n一次面接のご案内です。")
    expect(page.locator("#preview")).to_contain_text("【株式会社テスト】一次面接のご案内")
    expect(page.locator("#preview")).to_contain_text("青木 一郎様")

    # Edited text is not replaced without asking; declining keeps it.
    page.locator("#id_body").fill("書きかけの本文")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.locator("#template-picker").select_option(value="")
    page.locator("#template-picker").select_option(label="一次面接のご案内")
    expect(page.locator("#id_body")).to_have_value("書きかけの本文")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_on_the_line_tab_a_template_fills_the_message_box(browser_page, live_server, company, interview_template):
    from tests.test_messaging_compose import befriend, linked

    candidate = make_candidate(company, email="line@example.com")
    linked(company)
    befriend(candidate, 3)
    page = browser_page
    page.goto(f"{live_server.url}{reverse('messaging:line_chat', args=[candidate.pk])}")
    page.locator("#template-picker").select_option(label="一次面接のご案内")
    expect(page.locator("[data-line-input]")).to_have_value("{{候補者氏名}}様\n一次面接のご案内です。")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_reply_keeps_its_quote_and_a_scheduled_send_is_refilled(
    browser_page, live_server, company, recruiter, interview_template
):
    candidate = make_candidate(company, email="reply@example.com")
    page = browser_page
    page.goto(f"{live_server.url}{reverse('messaging:reply', args=[a_received_email(candidate).pk])}")
    page.locator("#template-picker").select_option(label="一次面接のご案内")
    expect(page.locator("#id_subject")).to_have_value("【{{企業名}}】一次面接のご案内")
    body = page.locator("#id_body").input_value()
    assert body.startswith("{{候補者氏名}}様\n一次面接のご案内です。\n\n") and body.endswith(
        "> よろしくお願いします。\n"
    )

    send = a_scheduled_send(company, recruiter, candidate)
    page.goto(f"{live_server.url}{reverse('messaging:send_edit', args=[send.pk])}")
    page.locator("#template-picker").select_option(label="一次面接のご案内")
    expect(page.locator("#id_subject")).to_have_value("【{{企業名}}】一次面接のご案内")
    expect(page.locator("#id_body")).to_have_value("{{候補者氏名}}様\n一次面接のご案内です。")
