"""Demo forms for `manage.py seed_demo` (received through candidates.signals.demo_seeded):
an エントリーシート answered by three demo candidates, and an unanswered 説明会アンケート.

Idempotent: a form is created only if the company has none of that name, and the answers
only with the form.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from candidates.models import Candidate
from customforms import actions, uploads
from customforms.answer_forms import AnswerInput
from customforms.links import create_link
from customforms.models import Form, FormField
from hrmos.models import Company

Kind = FormField.Kind

ENTRY_SHEET = "エントリーシート"
SURVEY = "説明会アンケート"
JOBS = ["営業", "企画・マーケティング", "エンジニア", "コーポレート（人事・経理）"]

ENTRY_SHEET_FIELDS: list[dict[str, Any]] = [
    {"kind": Kind.LONG_TEXT, "label": "志望動機", "required": True, "help_text": "400字程度でご記入ください。"},
    {"kind": Kind.LONG_TEXT, "label": "学生時代に最も力を入れたこと", "required": True},
    {"kind": Kind.MULTIPLE_CHOICE, "label": "希望する職種", "required": True, "options": JOBS},
    {"kind": Kind.DATE, "label": "卒業予定日", "required": True},
    {
        "kind": Kind.NUMBER,
        "label": "TOEICスコア",
        "help_text": "受験していない場合は空欄で構いません。",
    },
    {
        "kind": Kind.FILE,
        "label": "履歴書",
        "file_types": ["pdf"],
        "max_file_mb": 5,
        "help_text": "PDFでお送りください。",
    },
]
SURVEY_FIELDS: list[dict[str, Any]] = [
    {
        "kind": Kind.SINGLE_CHOICE,
        "label": "参加した説明会",
        "required": True,
        "options": ["会社説明会（オンライン）", "会社説明会（東京会場）", "職種別座談会"],
    },
    {
        "kind": Kind.SINGLE_CHOICE,
        "label": "説明会の満足度",
        "required": True,
        "options": ["とても満足", "満足", "ふつう", "やや不満", "不満"],
    },
    {"kind": Kind.MULTIPLE_CHOICE, "label": "興味を持った点", "options": ["事業内容", "社風・働き方", "研修制度"]},
    {"kind": Kind.EMAIL, "label": "説明会資料の送付先メールアドレス", "help_text": "登録と異なる場合のみ"},
    {"kind": Kind.LONG_TEXT, "label": "ご質問・ご意見"},
]
ANSWERS = [
    (
        "御社の「現場に任せる」文化に惹かれました。ゼミで地域の商店街と協働した経験から、"
        "お客様の課題に寄り添う営業として成長したいと考えています。",
        "学園祭実行委員として、来場者数を前年比1.5倍にする企画を立案・運営しました。",
        ["営業", "企画・マーケティング"],
        "2027-03-20",
        "820",
    ),
    (
        "データで意思決定を支える仕事がしたく、御社のプロダクト開発に関わりたいと考えました。",
        "研究室で画像認識の研究に取り組み、学会で発表しました。",
        ["エンジニア"],
        "2027-03-25",
        "",
    ),
    (
        "説明会で伺った若手社員の方のお話から、挑戦を後押しする環境だと感じ志望しました。",
        "体育会ラクロス部で主将を務め、チームをリーグ昇格に導きました。",
        ["営業", "コーポレート（人事・経理）"],
        "2027-03-18",
        "905",
    ),
]
# A one-page PDF, small enough to live here.
DEMO_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def _ensure_form(company: Company, name: str, fields: list[dict[str, Any]], **settings: Any) -> tuple[Form, bool]:
    """The company's form of that name, or a new published one; True if new."""
    form = Form.objects.for_company(company).filter(name=name).order_by("pk").first()
    if form is not None:
        return form, False
    form = Form.objects.create(company=company, name=name, **settings)
    for position, attributes in enumerate(fields, start=1):
        FormField.objects.create(company=company, form=form, position=position, **attributes)
    form.is_published = True
    form.save(update_fields=["is_published"])
    return form, True


def _answer(form: Form, candidate: Candidate, values: tuple, when: datetime, with_file: bool) -> None:
    link, _token = create_link(candidate, form, when)
    items = []
    for field, value in zip(form.live_fields(), (*values, ""), strict=True):
        if field.kind == Kind.FILE and with_file:
            upload = SimpleUploadedFile("履歴書.pdf", DEMO_PDF, content_type="application/pdf")
            checked = uploads.check_upload(upload, field.file_types, field.max_file_mb)
            items.append(AnswerInput(field, checked.name, upload, checked))
        else:
            items.append(AnswerInput(field, value))
    actions.submit_response(link, items, when)


@transaction.atomic
def seed_demo_forms(company: Company, now: datetime) -> None:
    entry_sheet, created = _ensure_form(
        company,
        ENTRY_SHEET,
        ENTRY_SHEET_FIELDS,
        description="選考に進むにあたり、以下の項目にご回答ください。回答期限までは内容を修正できます。",
        deadline=now + timedelta(days=30),
        answer_policy=Form.AnswerPolicy.EDITABLE,
    )
    _ensure_form(
        company,
        SURVEY,
        SURVEY_FIELDS,
        description="本日はご参加いただきありがとうございました。今後の説明会の改善に活用させていただきます。",
        deadline=now + timedelta(days=14),
    )
    if not created:
        return  # answered on the first run; the recruiter may have changed the form since
    # The earliest-registered demo candidates answer; the LINE personas (the newest) stay free
    # to answer on their phones in the walk-through.
    respondents = Candidate.objects.for_company(company).order_by("created_at", "pk")[: len(ANSWERS)]
    for index, (candidate, values) in enumerate(zip(respondents, ANSWERS, strict=False)):
        _answer(entry_sheet, candidate, values, now - timedelta(days=3 - index, hours=index * 5), with_file=index != 1)


def on_demo_seeded(sender: object, *, company: Company, now: datetime, **kwargs: object) -> None:
    seed_demo_forms(company, now)
