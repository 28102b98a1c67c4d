"""The automatic confirmation email (kind form_confirmation, email only) sent on each
submission: its default subject and body, and the answer summary it carries.

The kind's own placeholders (`{{フォーム名}}`, `{{回答内容}}`, `{{回答期限}}`, `{{修正のご案内}}`)
take their values from the response; the candidate and company ones (`{{候補者氏名}}`,
`{{企業名}}`) are messaging's, as in any other send.
"""

from __future__ import annotations

import re

from customforms.links import deadline_text
from customforms.models import FormField, FormResponse
from messaging.models import Kind

KIND = Kind.FORM_CONFIRMATION

DEFAULT_SUBJECT = "【{{企業名}}】「{{フォーム名}}」へのご回答を受け付けました"
DEFAULT_BODY = """{{候補者氏名}} 様

{{企業名}} 採用担当です。
「{{フォーム名}}」にご回答いただき、ありがとうございました。
以下の内容で受け付けました。

{{回答内容}}

{{修正のご案内}}ご不明な点がございましたら、採用担当までお問い合わせください。
"""
EDIT_NOTE = "回答期限（{{回答期限}}）までは、お送りしたURLから回答を修正できます。\n\n"
BLANK = "（未回答）"
PLACEHOLDER = re.compile(r"\{\{\s*([^{}\s][^{}]*?)\s*\}\}")


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


def response_placeholder_values(response: FormResponse) -> dict[str, str]:
    """The values of this kind's own placeholders for one response. Messaging renders them in
    one pass with the candidate's (the send's context names the response), so a candidate
    who types 「{{企業名}}」 into an answer gets exactly that back, not a substitution."""
    form = response.form
    return {
        "フォーム名": form.name,
        "回答内容": answers_summary(response),
        "回答期限": deadline_text(form),
        "修正のご案内": EDIT_NOTE.replace("{{回答期限}}", deadline_text(form))
        if form.is_editable_answers and form.deadline
        else "",
    }


def confirmation_message(response: FormResponse, common: dict[str, str]) -> tuple[str, str]:
    """(subject, body) as the candidate receives them; `common` holds the values messaging
    supplies (候補者氏名, 企業名). One pass: values are never scanned for placeholders."""
    values = {**common, **response_placeholder_values(response)}

    def fill(match: re.Match[str]) -> str:
        return values.get(match.group(1), match.group(0))

    return PLACEHOLDER.sub(fill, DEFAULT_SUBJECT), PLACEHOLDER.sub(fill, DEFAULT_BODY)
