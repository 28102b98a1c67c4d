"""The automatic confirmation email (kind form_confirmation, email only) sent on each
submission: its default subject and body, and the answer summary it carries.

The send's context names the form and the response (`{"form": pk, "response": pk}`): the
form's placeholders (`{{フォーム名}}`, `{{回答期限}}`, `{{フォームURL}}`) come from links.py,
this kind's own (`{{回答内容}}`, `{{修正のご案内}}`) from the response here, and the candidate
and company ones (`{{候補者氏名}}`, `{{企業名}}`) from messaging, as in any other send.
Messaging inserts values verbatim, so a candidate who types 「{{企業名}}」 into an answer gets
exactly that back, not a substitution.
"""

from __future__ import annotations

from customforms.links import deadline_text
from customforms.models import FormField, FormResponse
from messaging.models import Kind
from messaging.placeholders import Placeholder, Recipient
from messaging.sending.automatic import AutomaticKind

KIND = Kind.FORM_CONFIRMATION
RESPONSE = "response"  # the context key naming the response confirmed

DEFAULT_SUBJECT = "【{{企業名}}】「{{フォーム名}}」へのご回答を受け付けました"
DEFAULT_BODY = """{{候補者氏名}} 様

{{企業名}} 採用担当です。
「{{フォーム名}}」にご回答いただき、ありがとうございました。
以下の内容で受け付けました。

{{回答内容}}

{{修正のご案内}}ご不明な点がございましたら、採用担当までお問い合わせください。
"""
EDIT_NOTE = "回答期限（{deadline}）までは、お送りしたURLから回答を修正できます。\n\n"
BLANK = "（未回答）"


def answers_summary(response: FormResponse) -> str:
    """The answers as plain text: 「■ 項目名」 then the answer, for each field answered under
    the form as the candidate saw it (fields removed later are still listed)."""
    blocks = []
    for answer in response.ordered_answers():
        if answer.kind == FormField.Kind.FILE:
            text = f"{answer.text}（添付ファイル）" if answer.has_file else BLANK
        elif answer.kind == FormField.Kind.MULTIPLE_CHOICE:
            text = "\n".join(f"・{value}" for value in answer.values) or BLANK
        else:
            text = answer.text or BLANK
        blocks.append(f"■ {answer.label}\n{text}")
    return "\n\n".join(blocks)


def edit_note(response: FormResponse) -> str:
    """How to change the answers, for a form that allows it until a deadline; else nothing."""
    form = response.form
    if not (form.is_editable_answers and form.deadline):
        return ""
    return EDIT_NOTE.format(deadline=deadline_text(form))


def _response_of(recipient: Recipient) -> FormResponse | None:
    """The send's response, if it is this recipient's."""
    pk = recipient.scope.context.get(RESPONSE)
    if not isinstance(pk, int) or recipient.candidate_id is None:
        return None
    return (
        FormResponse.objects.filter(pk=pk, company=recipient.company, candidate_id=recipient.candidate_id)
        .select_related("form")
        .prefetch_related("answers__field")
        .first()
    )


def summary_value(recipient: Recipient) -> str | None:
    response = _response_of(recipient)
    return answers_summary(response) if response else None


def edit_note_value(recipient: Recipient) -> str | None:
    response = _response_of(recipient)
    return edit_note(response) if response else None


ONLY_IN_CONFIRMATION = "{{{{{name}}}}} はカスタムフォームの回答完了時の確認メール（自動送信）でのみ使えます。"
PLACEHOLDERS = (
    Placeholder(
        "回答内容",
        "候補者が回答した内容（項目名と回答）",
        needs=RESPONSE,
        needs_label="フォームの回答",
        value=summary_value,
        unavailable=ONLY_IN_CONFIRMATION.format(name="回答内容"),
        order=53,
    ),
    Placeholder(
        "修正のご案内",
        "回答を修正できるフォームのとき、回答期限までの修正方法の案内（それ以外は空欄）",
        needs=RESPONSE,
        needs_label="フォームの回答",
        value=edit_note_value,
        unavailable=ONLY_IN_CONFIRMATION.format(name="修正のご案内"),
        order=54,
    ),
)

AUTOMATIC_KIND = AutomaticKind(
    KIND,
    default_subject=DEFAULT_SUBJECT,
    default_body=DEFAULT_BODY,
    trigger="カスタムフォームの回答完了時",
    placeholders=("フォーム名", "回答内容", "回答期限", "修正のご案内", "フォームURL"),
    can_disable=False,
)
