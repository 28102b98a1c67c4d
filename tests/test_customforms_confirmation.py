"""The form_confirmation email: sent once per submission (an edit is one), email only, with
the answers exactly as typed; a template that cannot be sent never costs the answer."""

import logging

import pytest
from django.core import mail
from django.utils import timezone

from customforms import actions, confirmation
from customforms.answer_forms import AnswerInput
from customforms.links import create_link
from customforms.models import Form, FormField, FormLink, FormResponse
from messaging.models import AUTOMATIC_KINDS, AutomaticMessageSetting, Channel, Delivery, Kind, Message, Send
from tests.conftest import make_candidate
from tests.customforms_support import Kind as FieldKind
from tests.customforms_support import answer_path, make_form, name_of

pytestmark = pytest.mark.django_db


def answered(form: Form, candidate, values: dict, link: FormLink | None = None) -> FormResponse:
    link = link or create_link(candidate, form, timezone.now())[0]
    items = [AnswerInput(field, values.get(field.label, "")) for field in form.live_fields()]
    return actions.submit_response(link, items)


def answered_and_sent(form: Form, candidate, values: dict, capture, link: FormLink | None = None) -> FormResponse:
    with capture(execute=True):
        return answered(form, candidate, values, link)


def test_the_summary_lists_each_question_and_answer_in_order(company, candidate):
    form = make_form(company)
    response = answered(
        form, candidate, {"志望動機": "一行目\n二行目", "希望職種": ["営業", "企画"], "TOEICスコア": "850"}
    )
    summary = confirmation.answers_summary(response)
    assert summary.startswith("■ ニックネーム\n（未回答）\n\n■ 志望動機\n一行目\n二行目\n\n")
    assert "■ 希望職種\n・営業\n・企画" in summary and "■ TOEICスコア\n850" in summary
    assert summary.endswith("■ 履歴書\n（未回答）")


def test_the_summary_keeps_the_label_an_answer_was_given_under(company, candidate):
    form = make_form(company)
    response = answered(form, candidate, {"志望動機": "回答"})
    FormField.objects.filter(label="志望動機").update(label="志望理由", deleted_at=timezone.now())
    assert "■ 志望動機\n回答" in confirmation.answers_summary(response)


def test_an_answer_sends_one_confirmation_by_email_with_the_answers(
    company, candidate, django_capture_on_commit_callbacks
):
    form = make_form(company, answer_policy=Form.AnswerPolicy.EDITABLE)
    response = answered_and_sent(form, candidate, {"志望動機": "御社で働きたい"}, django_capture_on_commit_callbacks)
    [send] = Send.objects.all()
    assert send.kind == Kind.FORM_CONFIRMATION and send.context == {"form": form.pk, "response": response.pk}
    assert list(Delivery.objects.filter(send=send).values_list("channel", "status")) == [(Channel.EMAIL, "sent")]
    [email] = mail.outbox
    assert email.to == ['"山田 花子" <hanako@example.com>']
    assert email.subject == "【株式会社テスト】「エントリーシート」へのご回答を受け付けました"
    assert email.body.startswith("山田 花子 様\n\n株式会社テスト 採用担当です。")
    assert "■ 志望動機\n御社で働きたい" in email.body
    assert "までは、お送りしたURLから回答を修正できます。" in email.body
    assert "■ 志望動機\n御社で働きたい" in Message.objects.get(send=send).body  # the timeline's copy


def test_a_candidates_braces_come_back_exactly_as_typed(company, candidate, django_capture_on_commit_callbacks):
    typed = "{{企業名}}で{{フォームURL}}を{{LINE友達登録URL}}"
    answered_and_sent(make_form(company), candidate, {"志望動機": typed}, django_capture_on_commit_callbacks)
    [email] = mail.outbox
    assert f"■ 志望動機\n{typed}\n" in email.body
    assert f"■ 志望動機\n{typed}\n" in Message.objects.get().body
    assert FormLink.objects.count() == 1  # the one answered through: nothing minted from the answer


def test_each_edit_sends_a_new_confirmation_with_the_new_answers(
    company, candidate, django_capture_on_commit_callbacks
):
    form = make_form(company, answer_policy=Form.AnswerPolicy.EDITABLE)
    link = create_link(candidate, form, timezone.now())[0]
    answered_and_sent(form, candidate, {"志望動機": "最初の回答"}, django_capture_on_commit_callbacks, link)
    answered_and_sent(form, candidate, {"志望動機": "修正した回答"}, django_capture_on_commit_callbacks, link)
    assert Send.objects.filter(kind=Kind.FORM_CONFIRMATION).count() == 2
    first, second = mail.outbox
    assert "■ 志望動機\n最初の回答" in first.body and "■ 志望動機\n修正した回答" in second.body


def test_a_once_only_form_confirms_once_and_says_nothing_about_editing(
    company, candidate, django_capture_on_commit_callbacks
):
    form = make_form(company)
    link = create_link(candidate, form, timezone.now())[0]
    answered_and_sent(form, candidate, {"志望動機": "回答"}, django_capture_on_commit_callbacks, link)
    with pytest.raises(actions.SubmitRefused):
        answered_and_sent(form, candidate, {"志望動機": "二度目"}, django_capture_on_commit_callbacks, link)
    [email] = mail.outbox
    assert "修正" not in email.body and "{{" not in email.body


def test_a_confirmation_that_cannot_be_sent_keeps_the_answer(company, candidate, caplog):
    AutomaticMessageSetting.objects.create(
        company=company, kind=Kind.FORM_CONFIRMATION, subject="受付", body="{{回答内容}}\n{{存在しない項目}}"
    )
    form = make_form(company)
    with caplog.at_level(logging.WARNING, logger="customforms.actions"):
        response = answered(form, candidate, {"志望動機": "消えてはいけない回答"})
    assert FormResponse.objects.get(pk=response.pk).answers.get(label="志望動機").value == "消えてはいけない回答"
    assert not Send.objects.exists()
    assert f"Form confirmation not sent: form={form.pk} response={response.pk}" in caplog.text


def test_the_companys_own_text_is_used(company, candidate, django_capture_on_commit_callbacks):
    AutomaticMessageSetting.objects.create(
        company=company, kind=Kind.FORM_CONFIRMATION, subject="{{フォーム名}}の受付", body="回答：\n{{回答内容}}"
    )
    answered_and_sent(make_form(company), candidate, {"志望動機": "はい"}, django_capture_on_commit_callbacks)
    [email] = mail.outbox
    assert email.subject == "エントリーシートの受付" and "■ 志望動機\nはい" in email.body


def test_a_line_friend_gets_the_confirmation_by_email_only(
    linked_company, line_friend_candidate, line_emulator, line_pair, django_capture_on_commit_callbacks
):
    answered_and_sent(make_form(linked_company), line_friend_candidate, {}, django_capture_on_commit_callbacks)
    [send] = Send.objects.all()
    assert not send.send_line
    assert list(Delivery.objects.filter(send=send).values_list("channel", flat=True)) == [Channel.EMAIL]
    assert len(mail.outbox) == 1 and line_emulator.outbox(line_pair.messaging_channel_id) == []


def test_the_thanks_page_mentions_the_email_only_to_a_candidate_who_has_an_address(client, company):
    form = make_form(company, [{"kind": FieldKind.SHORT_TEXT, "label": "ひとこと"}])
    for email, mentioned in (("hanako@example.com", True), ("", False)):
        path = answer_path(make_candidate(company, email=email), form)
        client.post(path, {name_of(form, "ひとこと"): "よろしくお願いします"})
        thanks = client.get(path + "done/").content.decode()
        assert "回答を受け付けました" in thanks
        assert ("確認メールをお送りします" in thanks) is mentioned


def test_the_kind_is_messagings_automatic_form_confirmation():
    assert confirmation.KIND == "form_confirmation" and confirmation.KIND in AUTOMATIC_KINDS
