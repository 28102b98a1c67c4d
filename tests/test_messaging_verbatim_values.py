"""A placeholder's value goes into every copy exactly as given: a `{{…}}` inside it (a name
imported from CSV, a candidate's answer) is never read as a placeholder by the later passes
that mint personal links or put in stand-ins."""

import uuid
from datetime import datetime

import pytest
from django.utils import timezone

from hrmos.models import Company
from messaging import placeholders, rendering
from messaging.placeholders import Placeholder, Recipient, SendScope

TYPED = "{{企業名}}と{{メモURL}}と{{LINE友達登録URL}}と{{{三重}}}"
minted: list[str] = []


def typed_text(recipient: Recipient) -> str:
    return TYPED


def memo_link(recipient: Recipient, token: str, now: datetime) -> str:
    minted.append(token)
    return f"https://example.com/m/{token}/"


@pytest.fixture(autouse=True)
def registered(monkeypatch):
    minted.clear()
    monkeypatch.setitem(placeholders._registry, "メモ", Placeholder("メモ", "候補者のメモ", value=typed_text))
    monkeypatch.setitem(placeholders._registry, "メモURL", Placeholder("メモURL", "URL", link=memo_link))


def recipient_context(**names: str) -> rendering.RecipientContext:
    scope = SendScope(company=Company(name="株式会社テスト"), sender_name="採用 太郎")
    return rendering.RecipientContext(
        last_name=names.get("last_name", "山田"),
        first_name=names.get("first_name", "花子"),
        company_name="株式会社テスト",
        sender_name="採用 太郎",
        scope=scope,
    )


def test_a_value_is_inserted_verbatim_in_the_timeline_email_and_line_copies():
    context = recipient_context()
    rendered = rendering.render_for_recipient(
        "件名", "回答：{{メモ}}\nURL：{{メモURL}}", context, friend_invitation=False
    )
    assert rendered.timeline_body == f"回答：{TYPED}\nURL：（メモURL）"
    recipient = Recipient(context.scope, None, delivery_id=uuid.uuid4())
    email = rendering.fill_links(rendered.email_body, recipient, timezone.now())
    [line] = [rendering.fill_links(text, recipient, timezone.now()) for text in rendered.line_texts]
    token = minted[0]
    assert email == f"回答：{TYPED}\nURL：https://example.com/m/{token}/"
    assert line == f"件名\n\n{email}"


def test_a_name_with_braces_stays_as_typed_beside_a_friend_invitation():
    context = recipient_context(last_name="{{LINE友達登録URL}}")
    rendered = rendering.render_for_recipient("{{姓}}様", "{{姓}}様", context, friend_invitation=True)
    assert rendered.subject == "{{LINE友達登録URL}}様"
    assert rendered.timeline_body.startswith("{{LINE友達登録URL}}様\n\n")
    assert rendered.timeline_body.endswith(rendering.FRIEND_URL_STANDIN + "\n")


def test_text_without_braces_is_untouched():
    rendered = rendering.render_for_recipient("件名", "{{候補者氏名}}様", recipient_context(), friend_invitation=False)
    assert rendered.email_body == rendered.timeline_body == "山田 花子様"
    assert rendering.VALUE_GUARD not in "".join(rendered.line_texts)


@pytest.mark.django_db
def test_a_name_holding_the_friend_url_placeholder_is_sent_as_typed(
    company, recruiter, django_capture_on_commit_callbacks
):
    from django.core import mail

    from line_integration.models import LineIntegration
    from messaging.models import Kind
    from messaging.sending import compose
    from tests.conftest import make_candidate

    LineIntegration.objects.create(company=company, status=LineIntegration.Status.LINKED, bot_user_id="U" + "a" * 32)
    candidate = make_candidate(company, first_name="{{LINE友達登録URL}}")
    draft = compose.Draft(
        kind=Kind.BULK, subject="ご案内", body="{{名}}様\n{{LINE友達登録URL}}", include_friend_invitation=True
    )
    with django_capture_on_commit_callbacks(execute=True):
        compose.create_send(draft, company=company, user=recruiter, candidates=[candidate.pk])
    [email] = mail.outbox
    assert email.body.startswith("{{LINE友達登録URL}}様\nhttp")  # the name as typed, then the real link
