"""The candidate's answer form, built from a custom form's fields.

Every refusal is a Japanese message next to the field, and what was typed is rendered back
(files cannot be: the page says to choose them again). NUL characters are taken out of the
typed text before anything else, and the field says so, so that a resubmit just works.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.forms import BoundField
from django.http import QueryDict

from customforms import uploads
from customforms.models import FormAnswer, FormField

Kind = FormField.Kind

# Per-field limits. A long answer (an エントリーシート's 志望動機) runs to a few hundred characters;
# 4,000 leaves room for any real one and refuses pasted junk with a message.
TEXT_LIMITS: dict[str, int] = {Kind.SHORT_TEXT: 200, Kind.LONG_TEXT: 4000, Kind.EMAIL: 254}
NUMBER_MAX_DIGITS = 15

REQUIRED = "この項目は必須です。"
REQUIRED_CHOICE = "選択してください。"
REQUIRED_FILE = "ファイルを選択してください。"
INVALID_CHOICE = "選択肢にない値です。表示されている選択肢から選んでください。"
INVALID_DATE = "日付の形式が正しくありません（例：2027-04-01）。"
INVALID_NUMBER = "数値で入力してください（例：850、3.5、-2）。"
INVALID_EMAIL = "メールアドレスの形式が正しくありません（例：taro@example.com）。"
NUL_REMOVED = (
    "使用できない文字（NUL文字）が含まれていたため取り除きました。内容をご確認のうえ、もう一度送信してください。"
)
DATE_RANGE = (date(1900, 1, 1), date(2100, 12, 31))


def field_name(field: FormField) -> str:
    return f"field_{field.pk}"


def _nfkc(value: Any) -> Any:
    return unicodedata.normalize("NFKC", value).strip() if isinstance(value, str) else value


class LimitedTextField(forms.CharField):
    """A text field whose over-long answer is refused with the count, and kept on the page."""

    def __init__(self, *, limit: int, **kwargs: Any) -> None:
        self.limit = limit
        super().__init__(**kwargs)

    def validate(self, value: str) -> None:
        super().validate(value)
        if len(value) > self.limit:
            raise ValidationError(
                f"{self.limit:,}文字以内で入力してください（現在{len(value):,}文字）。", code="max_length"
            )


class NumberField(forms.CharField):
    """A number as the candidate wrote it, normalised (全角 digits, thousands commas) to a
    plain decimal string."""

    def to_python(self, value: Any) -> str:
        text = _nfkc(super().to_python(value) or "").replace(",", "")
        if not text:
            return ""
        if not re.fullmatch(r"[+-]?\d+(\.\d+)?", text) or len(re.sub(r"\D", "", text)) > NUMBER_MAX_DIGITS:
            raise ValidationError(INVALID_NUMBER, code="invalid")
        try:
            return format(Decimal(text), "f")
        except InvalidOperation as exc:
            raise ValidationError(INVALID_NUMBER, code="invalid") from exc


class AnswerDateField(forms.DateField):
    input_formats = ["%Y-%m-%d", "%Y/%m/%d"]

    def to_python(self, value: Any) -> date | None:
        parsed = super().to_python(_nfkc(value))
        if parsed is not None and not DATE_RANGE[0] <= parsed <= DATE_RANGE[1]:
            raise ValidationError(INVALID_DATE, code="invalid")
        return parsed


class AnswerEmailField(forms.EmailField):
    def to_python(self, value: Any) -> str:
        return super().to_python(_nfkc(value)) or ""


def _text_input(**attrs: str) -> forms.TextInput:
    return forms.TextInput(attrs={"class": "form-control", **attrs})


def _django_field(field: FormField, *, has_file: bool) -> forms.Field:
    common: dict[str, Any] = {"label": field.label, "required": field.required, "help_text": field.help_text}
    messages = {"required": REQUIRED, "invalid_choice": INVALID_CHOICE}
    options = [(option, option) for option in field.options]
    limit = TEXT_LIMITS.get(field.kind, 0)
    if field.kind == Kind.SHORT_TEXT:
        return LimitedTextField(limit=limit, widget=_text_input(), error_messages=messages, **common)
    if field.kind == Kind.LONG_TEXT:
        textarea = forms.Textarea(attrs={"class": "form-control", "rows": 6, "data-count-limit": limit})
        return LimitedTextField(limit=limit, widget=textarea, error_messages=messages, **common)
    if field.kind == Kind.SINGLE_CHOICE:
        messages["required"] = REQUIRED_CHOICE
        return forms.ChoiceField(choices=options, widget=forms.RadioSelect, error_messages=messages, **common)
    if field.kind == Kind.MULTIPLE_CHOICE:
        messages["required"] = "1つ以上選択してください。"
        boxes = forms.CheckboxSelectMultiple
        return forms.MultipleChoiceField(choices=options, widget=boxes, error_messages=messages, **common)
    if field.kind == Kind.DATE:
        picker = forms.DateInput(attrs={"class": "form-control", "type": "date"}, format="%Y-%m-%d")
        return AnswerDateField(widget=picker, error_messages={**messages, "invalid": INVALID_DATE}, **common)
    if field.kind == Kind.NUMBER:
        number = _text_input(inputmode="decimal", autocomplete="off")
        return NumberField(widget=number, error_messages=messages, **common)
    if field.kind == Kind.EMAIL:
        email = forms.EmailInput(attrs={"class": "form-control", "autocomplete": "email"})
        return AnswerEmailField(widget=email, error_messages={**messages, "invalid": INVALID_EMAIL}, **common)
    if field.kind == Kind.FILE:
        chooser = forms.FileInput(attrs={"class": "form-control", "accept": uploads.accept_attribute(field.file_types)})
        common["required"] = field.required and not has_file
        return forms.FileField(widget=chooser, error_messages={**messages, "required": REQUIRED_FILE}, **common)
    raise ValueError(f"Unknown field kind {field.kind!r}")


def _without_nul(data: QueryDict | None) -> tuple[QueryDict | None, set[str]]:
    if data is None:
        return None, set()
    cleaned = data.copy()
    touched = set()
    for name, values in data.lists():
        if any("\x00" in value for value in values):
            cleaned.setlist(name, [value.replace("\x00", "") for value in values])
            touched.add(name)
    return cleaned, touched


def _initial(fields: list[FormField], existing: dict[int, FormAnswer]) -> dict[str, Any]:
    initial: dict[str, Any] = {}
    for field in fields:
        answer = existing.get(field.pk)
        if answer is None or field.kind == Kind.FILE:
            continue
        initial[field_name(field)] = answer.values if field.kind == Kind.MULTIPLE_CHOICE else answer.text
    return initial


@dataclass(frozen=True)
class Question:
    """What the answer page shows for one field."""

    field: FormField
    bound: BoundField
    file_types_label: str = ""
    current_file: str = ""  # the file given before, in an editable answer


@dataclass(frozen=True)
class AnswerInput:
    """One field's validated answer. For a file field, `upload` is None when nothing new was
    chosen (an existing file, if any, stays)."""

    field: FormField
    value: str | list[str]
    upload: UploadedFile | None = None
    checked: uploads.CheckedFile | None = None


class AnswerForm(forms.Form):
    def __init__(
        self,
        fields: list[FormField],
        data: QueryDict | None = None,
        files: Any = None,
        *,
        existing: dict[int, FormAnswer] | None = None,
    ) -> None:
        self.form_fields = fields
        self.existing = existing or {}
        self.posted, self.nul_removed = _without_nul(data)
        super().__init__(self.posted, files, initial=_initial(fields, self.existing))
        self.checked_files: dict[int, uploads.CheckedFile] = {}
        for field in fields:
            answer = self.existing.get(field.pk)
            self.fields[field_name(field)] = _django_field(field, has_file=answer is not None and answer.has_file)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in self.nul_removed & set(self.fields):
            self.add_error(name, NUL_REMOVED)
        for field in self.form_fields:
            upload = cleaned.get(field_name(field)) if field.kind == Kind.FILE else None
            if not upload:
                continue
            try:
                self.checked_files[field.pk] = uploads.check_upload(upload, field.file_types, field.max_file_mb)
            except ValidationError as error:
                self.add_error(field_name(field), error)
        return cleaned

    def questions(self) -> list[Question]:
        questions = []
        for field in self.form_fields:
            bound = self[field_name(field)]
            if bound.errors and "class" in bound.field.widget.attrs:
                bound.field.widget.attrs["class"] += " is-invalid"
            answer = self.existing.get(field.pk)
            questions.append(
                Question(
                    field,
                    bound,
                    file_types_label=uploads.types_label(field.file_types),
                    current_file=answer.text if answer is not None and answer.has_file else "",
                )
            )
        return questions

    @property
    def has_file_fields(self) -> bool:
        return any(field.kind == Kind.FILE for field in self.form_fields)

    def answers(self) -> list[AnswerInput]:
        """The validated answers, one per field (call after is_valid())."""
        result = []
        for field in self.form_fields:
            value = self.cleaned_data.get(field_name(field))
            if field.kind == Kind.FILE:
                checked = self.checked_files.get(field.pk)
                result.append(AnswerInput(field, checked.name if checked else "", value or None, checked))
            elif field.kind == Kind.MULTIPLE_CHOICE:
                result.append(AnswerInput(field, list(value or [])))
            elif isinstance(value, date):
                result.append(AnswerInput(field, value.isoformat()))
            else:
                result.append(AnswerInput(field, value or ""))
        return result

    def typed_values(self) -> list[tuple[str, str]]:
        """(label, what was typed) for each field with text in it, unvalidated: shown back to a
        candidate whose answer could not be accepted (deadline passed, already answered)."""
        typed = []
        for field in self.form_fields:
            if self.posted is None or field.kind == Kind.FILE:
                continue
            values = [value for value in self.posted.getlist(field_name(field)) if value.strip()]
            if values:
                typed.append((field.label, "、".join(values)))
        return typed
