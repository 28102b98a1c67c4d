"""Pages at a phone's 390 px: nothing wider than the screen, no header one character per line."""

from __future__ import annotations

import pytest
from django.db import connections
from django.urls import reverse

from candidates.models import Agent
from messaging.models import Kind
from messaging.sending import compose
from messaging.sending.compose import Draft
from tests.conftest import PASSWORD, make_candidate
from tests.emulator.test_login import authorize_url

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG_EMAIL = "yukiko.watanabe.shinsotsu2027@graduate-school.example-university.ac.jp"


@pytest.fixture
def phone(chromium):
    context = chromium.new_context(viewport={"width": 390, "height": 844}, locale="ja-JP", is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
    connections.close_all()


def page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_recruiter_lists_keep_headers_on_one_line_and_columns_readable(phone, live_server, company, recruiter):
    agent = Agent.objects.create(company=company, agency_name="株式会社キャリアエージェント・パートナーズ")
    candidate = make_candidate(company, agent=agent)
    compose.create_send(
        Draft(kind=Kind.BULK, subject="一次面接のご案内と当日の持ち物について", body="本文"),
        company=company,
        user=recruiter,
        candidates=[candidate.pk],
    )
    phone.goto(f"{live_server.url}{reverse('login')}")
    phone.get_by_label("ユーザー名").fill(recruiter.username)
    phone.get_by_label("パスワード").fill(PASSWORD)
    phone.get_by_role("button", name="ログイン").click()
    phone.wait_for_url(f"{live_server.url}/candidates/")

    heights = phone.locator(".candidate-table thead th").evaluate_all(
        "cells => cells.map(th => th.getBoundingClientRect().height)"
    )
    line = (
        phone.locator(".candidate-table thead th").nth(1).evaluate("th => parseFloat(getComputedStyle(th).lineHeight)")
    )
    assert max(heights) < 2 * line + 20  # one line plus the cell's padding
    assert page_width(phone) == 390  # the table scrolls inside its card, the page does not

    # Every recruiter list: no column squeezed to a character or two.
    for view in ("candidates:list", "messaging:send_list"):
        phone.goto(f"{live_server.url}{reverse(view)}")
        widths = phone.locator("tbody td:not(:has(> input[type=checkbox]))").evaluate_all(
            "cells => cells.map(td => td.getBoundingClientRect().width)"
        )
        assert widths and min(widths) >= 90, view


def test_the_emulator_phone_and_chat_fit_a_phone(phone, line_emulator):
    pair = line_emulator.create_linked_pair(follow=True)

    for path in (f"/phone/{pair.persona_id}", f"/phone/{pair.persona_id}/chat/{pair.messaging_channel_id}", "/"):
        phone.goto(line_emulator.base_url + path)
        assert page_width(phone) == 390, path


def test_the_emulator_login_page_wraps_a_long_email_address(phone, line_emulator):
    pair = line_emulator.create_linked_pair()
    line_emulator.create_persona("渡辺 由紀子", email=LONG_EMAIL)

    phone.goto(authorize_url(line_emulator.base_url, pair.login_channel_id))

    email = phone.get_by_text(LONG_EMAIL)
    box = email.bounding_box()
    assert page_width(phone) == 390
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
