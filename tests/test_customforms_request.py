"""Sending a form (フォームのご案内): every recipient's email and LINE copy carries the form's
name, deadline and a personal URL minted under the delivery's token; opening it answers as
that candidate. Refused where the placeholders have no value."""

import re
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.utils import timezone

from customforms.models import FormLink, FormResponse
from hrmos.personal_links import hash_token
from messaging import placeholders, rendering
from messaging.models import Channel, Delivery, Kind, Message, Send
from messaging.sending import compose
from messaging.sending.compose import ComposeError, Draft
from tests.conftest import make_candidate
from tests.customforms_support import Kind as FieldKind
from tests.customforms_support import make_form

pytestmark = pytest.mark.django_db

URL = re.compile(re.escape(settings.SITE_URL) + r"/f/([A-Za-z0-9_-]+)/")
BODY = "{{候補者氏名}}様\n「{{フォーム名}}」へのご回答をお願いします。\n{{フォームURL}}\n回答期限：{{回答期限}}"


def short_form(company, **attributes):
    return make_form(company, [{"kind": FieldKind.SHORT_TEXT, "label": "ひとこと", "required": True}], **attributes)


def form_request(company, recruiter, candidates, **fields) -> Send:
    values: dict[str, Any] = {
        "kind": Kind.FORM_REQUEST,
        "subject": "【{{企業名}}】{{フォーム名}}のお願い",
        "body": BODY,
    }
    values.update(fields)
    return compose.create_send(Draft(**values), company=company, user=recruiter, candidates=[c.pk for c in candidates])


def deadline(form) -> str:
    return f"{timezone.localtime(form.deadline):%Y年%-m月%-d日 %H:%M}"


def test_the_email_carries_every_form_placeholder_and_a_personal_url(
    company, recruiter, candidate, django_capture_on_commit_callbacks
):
    form = short_form(company)
    with django_capture_on_commit_callbacks(execute=True):
        send = form_request(company, recruiter, [candidate], context={"form": form.pk})
    [email] = mail.outbox
    assert email.subject == "【株式会社テスト】エントリーシートのお願い"
    [token] = URL.findall(str(email.body))
    assert email.body == (
        f"山田 花子様\n「エントリーシート」へのご回答をお願いします。\n"
        f"{settings.SITE_URL}/f/{token}/\n回答期限：{deadline(form)}"
    )
    link = FormLink.objects.get()
    delivery = Delivery.objects.get(send=send)
    assert link.token_hash == hash_token(token) and (link.form, link.candidate) == (form, candidate)
    assert token == placeholders.link_token(delivery.id, "フォームURL")  # the delivery's token, never stored
    assert token not in delivery.rendered_body and token not in Message.objects.get().body
    assert "（フォームURL）" in Message.objects.get().body


def test_a_retried_delivery_mints_the_same_url_and_one_link(company, recruiter, candidate):
    form = short_form(company)
    send = form_request(company, recruiter, [candidate], context={"form": form.pk})
    delivery = Delivery.objects.select_related("send__company").get(send=send)
    body = rendering.render_delivery(delivery).email_body
    attempts = {rendering.fill_links(body, rendering.recipient_of(delivery), timezone.now()) for _ in range(3)}
    assert len(attempts) == 1 and FormLink.objects.count() == 1


def test_a_line_friend_gets_the_url_on_line_and_answers_through_it(
    linked_company, recruiter, line_friend_candidate, line_emulator, line_pair, django_capture_on_commit_callbacks
):
    form = short_form(linked_company)
    with django_capture_on_commit_callbacks(execute=True):
        send = form_request(
            linked_company, recruiter, [line_friend_candidate], context={"form": form.pk}, send_line=True
        )
    line = Delivery.objects.get(send=send, channel=Channel.LINE)
    assert line.status == "sent" and "{{フォームURL}}" in line.line_texts[0]
    [entry] = line_emulator.outbox(line_pair.messaging_channel_id)
    text = entry["messages"][0]["text"]
    assert text.startswith("【株式会社テスト】エントリーシートのお願い\n\n山田 花子様\n")
    assert f"回答期限：{deadline(form)}" in text
    [line_token] = URL.findall(text)
    [email_token] = URL.findall(str(mail.outbox[0].body))
    assert line_token != email_token  # one personal link per delivery, both the candidate's
    phone = Client()
    page = phone.get(f"/f/{line_token}/")
    assert page.status_code == 200 and "山田 花子 様" in page.content.decode()
    field = form.fields.get()
    with django_capture_on_commit_callbacks(execute=True):
        answered = phone.post(f"/f/{line_token}/", {f"field_{field.pk}": "LINEから回答しました"})
    assert answered.status_code == 302
    response = FormResponse.objects.get()
    assert response.candidate == line_friend_candidate
    assert response.answers.get().value == "LINEから回答しました"


def test_a_recipient_who_is_not_a_friend_gets_the_email_only(linked_company, recruiter, line_friend_candidate):
    other = make_candidate(linked_company, email="other@example.com", last_name="佐藤")
    form = short_form(linked_company)
    send = form_request(
        linked_company, recruiter, [line_friend_candidate, other], context={"form": form.pk}, send_line=True
    )
    skipped = Delivery.objects.get(send=send, channel=Channel.LINE, candidate=other)
    assert skipped.status == "skipped" and skipped.reason == "LINE友達ではありません"
    assert Delivery.objects.get(send=send, channel=Channel.EMAIL, candidate=other).status == "queued"


def test_the_form_placeholders_are_refused_without_a_form(company, recruiter, candidate):
    with pytest.raises(ComposeError) as refused:
        form_request(company, recruiter, [candidate], kind=Kind.BULK)
    errors = refused.value.errors["body"]
    assert "{{フォームURL}} はフォームを選んだときだけ使えます。" in errors
    assert "{{フォーム名}} はフォームを選んだときだけ使えます。" in errors
    assert "{{回答期限}} はフォームを選んだときだけ使えます。" in errors
    with pytest.raises(ComposeError) as refused:
        form_request(company, recruiter, [candidate])
    assert refused.value.errors["form"] == ["フォームを選んでください。"]
    assert not Send.objects.exists()


def test_a_closed_or_another_companys_form_cannot_be_sent(company, other_company, recruiter, candidate):
    closed = short_form(company, deadline=timezone.now() - timedelta(minutes=1))
    foreign = short_form(other_company)
    for form in (closed, foreign):
        with pytest.raises(ComposeError) as refused:
            form_request(company, recruiter, [candidate], context={"form": form.pk})
        assert refused.value.errors["form"] == ["フォームを選んでください。"]


def test_the_answers_are_refused_outside_a_confirmation(company, recruiter, candidate):
    form = short_form(company)
    with pytest.raises(ComposeError) as refused:
        form_request(company, recruiter, [candidate], body="{{回答内容}}\n{{フォームURL}}", context={"form": form.pk})
    assert refused.value.errors["body"] == [
        "{{回答内容}} はカスタムフォームの回答完了時の確認メール（自動送信）でのみ使えます。"
    ]


def test_a_form_url_is_refused_in_the_subject(company, recruiter, candidate):
    form = short_form(company)
    with pytest.raises(ComposeError) as refused:
        form_request(company, recruiter, [candidate], subject="{{フォームURL}}", context={"form": form.pk})
    assert "件名にURLは入れられません" in refused.value.errors["subject"][0]
