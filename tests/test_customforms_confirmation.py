"""The form_confirmation email's content: the default subject/body and the answer summary."""

import pytest
from django.utils import timezone

from customforms import actions, confirmation
from customforms.answer_forms import AnswerInput
from customforms.links import create_link
from customforms.models import Form, FormField
from messaging.models import AUTOMATIC_KINDS
from tests.customforms_support import make_form

pytestmark = pytest.mark.django_db


def answered(form: Form, candidate, values: dict):
    link, _token = create_link(candidate, form, timezone.now())
    items = [AnswerInput(field, values.get(field.label, "")) for field in form.live_fields()]
    return actions.submit_response(link, items)


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


def test_the_default_message_fills_the_forms_values_and_messagings(company, candidate):
    form = make_form(company, answer_policy=Form.AnswerPolicy.EDITABLE)
    response = answered(form, candidate, {"志望動機": "{{企業名}}で働きたい"})
    subject, body = confirmation.confirmation_message(response, {"企業名": "株式会社テスト", "候補者氏名": "山田 花子"})
    assert subject == "【株式会社テスト】「エントリーシート」へのご回答を受け付けました"
    assert body.startswith("山田 花子 様\n\n株式会社テスト 採用担当です。")
    assert "■ 志望動機\n{{企業名}}で働きたい" in body  # a candidate's text is never substituted
    assert "までは、お送りしたURLから回答を修正できます。" in body


def test_a_once_only_form_says_nothing_about_editing(company, candidate):
    response = answered(make_form(company), candidate, {})
    _subject, body = confirmation.confirmation_message(response, {})
    assert "修正" not in body and "{{" not in body.replace("{{企業名}}", "").replace("{{候補者氏名}}", "")


def test_the_kind_is_messagings_automatic_form_confirmation():
    assert confirmation.KIND == "form_confirmation" and confirmation.KIND in AUTOMATIC_KINDS
