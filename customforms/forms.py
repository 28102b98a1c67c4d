"""The recruiter's builder forms: a form's settings and one field."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.utils import timezone

from customforms import uploads
from customforms.models import Form, FormField
from hrmos.forms import use_plain_nul_message

DESCRIPTION_MAX = 2000
OPTION_MAX = 100
OPTIONS_MAX = 50


MAX_LENGTH_MESSAGE = "%(limit_value)s文字以内で入力してください（現在%(show_value)s文字）。"


class PlainMessagesMixin:
    """Django's Japanese messages for a NUL character (「何か文字を入力してください」) and for
    over-long text do not read well; these say what is wrong."""

    fields: dict[str, forms.Field]

    def _use_plain_messages(self) -> None:
        for field in self.fields.values():
            field.error_messages["max_length"] = MAX_LENGTH_MESSAGE
        use_plain_nul_message(self.fields.values())


class FormSettingsForm(PlainMessagesMixin, forms.ModelForm):
    description = forms.CharField(
        label="説明文",
        required=False,
        max_length=DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 4}),
        help_text="回答ページの冒頭に表示されます（2,000文字まで）。",
    )
    deadline = forms.DateTimeField(
        label="回答期限",
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "class": "form-control"}, format="%Y-%m-%dT%H:%M"),
        help_text="期限を過ぎると回答できなくなります。空欄にすると期限なし（受付を停止するまで回答できます）。",
        error_messages={"invalid": "日時の形式が正しくありません。"},
    )

    class Meta:
        model = Form
        fields = ["name", "description", "deadline", "answer_policy"]
        widgets = {
            "name": forms.TextInput(attrs={"class": "form-control", "autocomplete": "off"}),
            "answer_policy": forms.RadioSelect,
        }
        error_messages = {"name": {"required": "フォーム名を入力してください。"}}

    def __init__(self, *args: Any, now: datetime | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.now = now or timezone.now()
        self.fields["name"].help_text = "例：エントリーシート（候補者にも表示されます）"
        self._use_plain_messages()

    def clean_deadline(self) -> datetime | None:
        deadline = self.cleaned_data.get("deadline")
        if deadline is not None and deadline != self.instance.deadline and deadline <= self.now:
            raise forms.ValidationError("回答期限には現在より後の日時を指定してください。")
        return deadline


class FieldForm(PlainMessagesMixin, forms.ModelForm):
    options_text = forms.CharField(
        label="選択肢",
        required=False,
        widget=forms.Textarea(
            attrs={"class": "form-control", "rows": 5, "placeholder": "営業\n企画・マーケティング\nエンジニア"}
        ),
        help_text=f"1行に1つずつ入力します（{OPTIONS_MAX}個まで、各{OPTION_MAX}文字まで）。",
    )
    file_types = forms.MultipleChoiceField(
        label="許可するファイル形式",
        required=False,
        choices=uploads.FILE_TYPE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        help_text="ファイルの形式は拡張子ではなく中身で判定します。",
        error_messages={"invalid_choice": "選択肢にない形式です。"},
    )
    max_file_mb = forms.TypedChoiceField(
        label="ファイルサイズの上限",
        coerce=int,
        choices=[(size, f"{size}MB") for size in uploads.SIZE_CHOICES_MB],
        initial=uploads.DEFAULT_SIZE_MB,
        widget=forms.Select(attrs={"class": "form-select"}),
        error_messages={"invalid_choice": "選択肢にないサイズです。"},
    )

    class Meta:
        model = FormField
        fields = ["kind", "label", "help_text", "required", "file_types", "max_file_mb"]
        widgets = {
            "kind": forms.Select(attrs={"class": "form-select"}),
            "label": forms.TextInput(attrs={"class": "form-control", "autocomplete": "off"}),
            "help_text": forms.TextInput(attrs={"class": "form-control", "autocomplete": "off"}),
            "required": forms.CheckboxInput(attrs={"class": "form-check-input"}),
        }
        labels = {"label": "項目名", "help_text": "説明（任意）", "required": "回答を必須にする"}
        error_messages = {
            "label": {"required": "項目名を入力してください。"},
            "kind": {"invalid_choice": "選択肢にない種類です。"},
        }

    def __init__(self, *args: Any, kind_locked: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind_locked = kind_locked
        self.fields["kind"].label = "種類"
        self.fields["help_text"].help_text = "項目の下に小さく表示されます。例：400字程度でご記入ください。"
        if kind_locked:
            self.fields["kind"].disabled = True
            self.fields["kind"].help_text = "回答がある項目の種類は変更できません。"
        if self.instance.pk:
            self.fields["options_text"].initial = "\n".join(self.instance.options)
        self._use_plain_messages()

    @property
    def kind_value(self) -> str:
        return str(self["kind"].value() or "")

    def clean_options_text(self) -> list[str]:
        lines = [line.strip() for line in self.cleaned_data.get("options_text", "").splitlines()]
        options = [line for line in lines if line]
        if self.kind_value not in FormField.CHOICE_KINDS:
            return []
        if not options:
            raise forms.ValidationError("選択肢を1つ以上入力してください。")
        if len(options) > OPTIONS_MAX:
            raise forms.ValidationError(f"選択肢は{OPTIONS_MAX}個までです（現在{len(options)}個）。")
        if too_long := [option for option in options if len(option) > OPTION_MAX]:
            raise forms.ValidationError(f"選択肢は各{OPTION_MAX}文字までです：「{too_long[0][:20]}…」")
        duplicates = sorted({option for option in options if options.count(option) > 1})
        if duplicates:
            raise forms.ValidationError(f"同じ選択肢が複数あります：{'、'.join(duplicates)}")
        return options

    def clean_file_types(self) -> list[str]:
        chosen = self.cleaned_data.get("file_types") or []
        if self.kind_value == FormField.Kind.FILE and not chosen:
            raise forms.ValidationError("許可するファイル形式を1つ以上選んでください。")
        return list(chosen) if self.kind_value == FormField.Kind.FILE else []

    def attributes(self) -> dict[str, Any]:
        """What the actions store (call after is_valid())."""
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "label": data["label"],
            "help_text": data["help_text"],
            "required": data["required"],
            "options": data["options_text"],
            "file_types": data["file_types"],
            "max_file_mb": data["max_file_mb"] if data["kind"] == FormField.Kind.FILE else uploads.DEFAULT_SIZE_MB,
        }
