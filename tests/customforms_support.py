"""Shared helpers for the custom-form tests: forms with given fields, personal links, files."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from candidates.models import Candidate
from customforms.links import issue_form_link
from customforms.models import Form, FormField

Kind = FormField.Kind

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)

EVERY_KIND: list[dict[str, Any]] = [
    {"kind": Kind.SHORT_TEXT, "label": "ニックネーム"},
    {"kind": Kind.LONG_TEXT, "label": "志望動機", "required": True},
    {"kind": Kind.SINGLE_CHOICE, "label": "説明会の満足度", "required": True, "options": ["満足", "ふつう", "不満"]},
    {"kind": Kind.MULTIPLE_CHOICE, "label": "希望職種", "options": ["営業", "企画", "エンジニア"]},
    {"kind": Kind.DATE, "label": "卒業予定日"},
    {"kind": Kind.NUMBER, "label": "TOEICスコア"},
    {"kind": Kind.EMAIL, "label": "大学のメールアドレス"},
    {"kind": Kind.FILE, "label": "履歴書", "file_types": ["pdf"], "max_file_mb": 1},
]


def make_form(company, fields: list[dict[str, Any]] | None = None, **attributes: Any) -> Form:
    """A published form (deadline in a week) with the given fields, in order."""
    defaults: dict[str, Any] = {
        "name": "エントリーシート",
        "deadline": timezone.now() + timedelta(days=7),
        "is_published": True,
    }
    form = Form.objects.create(company=company, **{**defaults, **attributes})
    for position, field in enumerate(fields if fields is not None else EVERY_KIND, start=1):
        FormField.objects.create(company=company, form=form, position=position, **field)
    return form


def answer_path(candidate: Candidate, form: Form) -> str:
    """A fresh personal link, as a path for the test client."""
    url = issue_form_link(candidate, form, timezone.now())
    assert url.startswith(settings.SITE_URL + "/f/")
    return url.removeprefix(settings.SITE_URL)


def field_named(form: Form, label: str) -> FormField:
    return form.fields.get(label=label)


def name_of(form: Form, label: str) -> str:
    return f"field_{field_named(form, label).pk}"
