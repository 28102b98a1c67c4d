"""Where a recruiter starts sending a form: the form's page, the candidate list's bulk action,
the candidate page, and the compose screen with `?kind=form_request`."""

import pytest

from customforms.models import Form
from messaging.models import Kind, Send
from tests.customforms_support import make_form

pytestmark = pytest.mark.django_db

COMPOSE = "/messages/compose/?kind=form_request"


@pytest.fixture
def form(company) -> Form:
    return make_form(company)


def test_the_candidate_list_offers_sending_a_form(recruiter_client, candidate):
    page = recruiter_client.get("/candidates/").content.decode()
    assert f'formaction="{COMPOSE}"' in page and "フォームを送信" in page


def test_the_candidate_page_offers_sending_a_form(recruiter_client, candidate):
    page = recruiter_client.get(f"/candidates/{candidate.pk}/").content.decode()
    assert f'href="/messages/compose/candidate/{candidate.pk}/?kind=form_request"' in page


def test_the_compose_screen_asks_which_form_and_starts_from_a_request(recruiter_client, company, candidate, form):
    draft = make_form(company, name="下書きのフォーム", is_published=False)
    page = recruiter_client.post(COMPOSE, {"ids": [candidate.pk]}).content.decode()
    assert "フォームのご案内" in page and 'name="about"' in page
    assert f'<option value="{form.pk}">エントリーシート（回答期限 ' in page
    assert f'value="{draft.pk}"' not in page
    assert "【{{企業名}}】「{{フォーム名}}」へのご回答のお願い" in page and "{{フォームURL}}\n" in page
    assert "{{回答期限}}" in page and "{{回答内容}}" not in page


def test_one_candidates_compose_screen_asks_too(recruiter_client, candidate, form):
    page = recruiter_client.get(f"/messages/compose/candidate/{candidate.pk}/?kind=form_request").content.decode()
    assert "山田 花子さんにフォームのご案内を送信" in page and f'<option value="{form.pk}">' in page


def test_sending_from_the_compose_screen_makes_a_send_about_the_form(recruiter_client, candidate, form):
    response = recruiter_client.post(
        COMPOSE,
        {
            "compose": "1",
            "kind": Kind.FORM_REQUEST,
            "ids": [candidate.pk],
            "about": form.pk,
            "subject": "{{フォーム名}}",
            "body": "{{フォームURL}}",
            "send_line": "on",
            "timing": "now",
        },
    )
    send = Send.objects.get()
    assert response.status_code == 302
    assert (send.kind, send.context, send.send_line) == (Kind.FORM_REQUEST, {"form": form.pk}, True)


def test_sending_without_choosing_a_form_is_refused_with_a_message(recruiter_client, candidate, form):
    response = recruiter_client.post(
        COMPOSE,
        {"compose": "1", "ids": [candidate.pk], "subject": "件名", "body": "{{フォームURL}}", "timing": "now"},
    )
    assert response.status_code == 200 and "フォームを選んでください。" in response.content.decode()
    assert not Send.objects.exists()


def test_the_forms_page_leads_to_the_candidate_list_to_choose_recipients(recruiter_client, form):
    page = recruiter_client.get(f"/forms/{form.pk}/").content.decode()
    assert f'href="/forms/{form.pk}/send/"' in page and "このフォームを送信" in page
    response = recruiter_client.get(f"/forms/{form.pk}/send/", follow=True)
    assert response.redirect_chain == [("/candidates/", 302)]
    assert "「エントリーシート」を送る候補者にチェックを入れ、「フォームを送信」を押してください。" in (
        response.content.decode()
    )


def test_a_form_not_taking_answers_cannot_be_sent(recruiter_client, company):
    draft = make_form(company, is_published=False)
    assert f'href="/forms/{draft.pk}/send/"' not in recruiter_client.get(f"/forms/{draft.pk}/").content.decode()
    response = recruiter_client.get(f"/forms/{draft.pk}/send/", follow=True)
    assert response.redirect_chain == [(f"/forms/{draft.pk}/", 302)]
    assert "回答を受け付けていないフォームは送信できません。" in response.content.decode()
