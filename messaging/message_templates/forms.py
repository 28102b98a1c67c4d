"""The message template form and the automatic email form. Both refuse, on save, a placeholder
name that cannot work there, listing them; neither can judge values (there is no send yet)."""

from __future__ import annotations

from typing import Any

from django import forms

from hrmos.forms import use_plain_nul_message
from hrmos.models import Company
from messaging import rendering
from messaging.message_templates import texts
from messaging.models import MessageTemplate
from messaging.sending import compose
from messaging.sending.automatic import AutomaticKind

BODY_MAX = 20_000
HOUR_CHOICES = [(hour, f"{hour}:00") for hour in range(24)]


def _body_field() -> forms.CharField:
    return forms.CharField(
        label="本文",
        max_length=BODY_MAX,
        error_messages={"max_length": f"本文は{BODY_MAX:,}文字以内で入力してください（%(show_value)d文字あります）。"},
        widget=forms.Textarea(attrs={"rows": 14, "data-body": "", "data-placeholder-target": ""}),
    )


def _subject_field(*, required: bool) -> forms.CharField:
    return forms.CharField(
        label="件名",
        required=required,
        max_length=compose.SUBJECT_MAX,
        widget=forms.TextInput(attrs={"autocomplete": "off", "data-placeholder-target": ""}),
    )


class MessageTemplateForm(forms.ModelForm):
    subject = _subject_field(required=False)
    body = _body_field()

    class Meta:
        model = MessageTemplate
        fields = ["name", "category", "subject", "body"]

    def __init__(self, *args: Any, company: Company, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.company = company
        use_plain_nul_message(self.fields.values())
        self.fields[
            "subject"
        ].help_text = "LINEメッセージ用のテンプレートなら空欄でもかまいません（LINEには本文だけが入ります）。"

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        taken = MessageTemplate.objects.filter(company=self.company, name=name).exclude(pk=self.instance.pk)
        if name and taken.exists():
            raise forms.ValidationError("同じ名前のテンプレートがすでにあります。別の名前を付けてください。")
        return name

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        subject, body = data.get("subject") or "", data.get("body") or ""
        for field, text in (("subject", subject), ("body", body)):
            unknown = rendering.unknown_placeholders(text)
            if unknown:
                self.add_error(
                    field,
                    f"使用できない差し込み項目があります：{texts.codes(unknown)}"
                    "（使える項目は「差し込み項目」の一覧から選べます）",
                )
        links = texts.link_names_in_subject(subject)
        if links:
            self.add_error("subject", f"{texts.codes(links)} は本文でのみ使えます（件名にURLは入れられません）。")
        return data


class AutomaticSettingForm(forms.Form):
    """One automatic kind's text, and its switch and hour where the kind has them."""

    subject = _subject_field(required=True)
    body = _body_field()
    enabled = forms.TypedChoiceField(
        label="自動送信",
        choices=[("1", "送信する"), ("0", "送信しない")],
        coerce=lambda value: value == "1",
        widget=forms.RadioSelect,
    )
    hour = forms.TypedChoiceField(
        label="送信時刻",
        choices=HOUR_CHOICES,
        coerce=int,
        error_messages={
            "invalid_choice": "送信時刻は0時〜23時から選んでください。",
            "required": "送信時刻を選んでください。",
        },
    )

    def __init__(self, *args: Any, info: AutomaticKind, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.info = info
        use_plain_nul_message(self.fields.values())
        # A kind the reference never lets a company turn off has no switch: whatever is
        # posted, it stays on.
        if not info.can_disable:
            del self.fields["enabled"]
        if not info.has_hour:
            del self.fields["hour"]
        for field in ("subject", "body"):
            self.fields[field].widget.attrs["id"] = f"id_{info.kind}_{field}"

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        allowed = set(texts.automatic_allowed(self.info.placeholders))
        for field in ("subject", "body"):
            text = data.get(field) or ""
            refused = [name for name in rendering.placeholders_in(text) if name not in allowed]
            for _, message in compose.sender_problems(compose.Draft(self.info.kind, "", text), ""):
                self.add_error(field, message)
            refused = [name for name in refused if name != rendering.SENDER_DEPARTMENT]
            if refused:
                self.add_error(field, f"このメールでは使えない差し込み項目があります：{texts.codes(refused)}")
        links = texts.link_names_in_subject(data.get("subject") or "")
        if links:
            self.add_error("subject", f"{texts.codes(links)} は本文でのみ使えます（件名にURLは入れられません）。")
        return data

    def chosen_enabled(self) -> bool:
        """Off only where the kind has a switch and it was turned off."""
        return bool(self.cleaned_data.get("enabled", True))

    def chosen_hour(self) -> int | None:
        return self.cleaned_data.get("hour")
