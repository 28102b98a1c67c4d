"""Forms: the recruiter's event settings with its 日程 rows, and the public application form."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any, cast

from django import forms
from django.core.validators import ProhibitNullCharactersValidator
from django.utils import timezone

from candidates.models import graduation_year_bounds
from events import notices
from events.actions import Applicant, DateInput
from events.models import Event, EventDate

NUL_MESSAGE = "使用できない文字（NUL文字）が含まれています。取り除いてから保存してください。"
MAX_LENGTH_MESSAGE = "%(limit_value)s文字以内で入力してください（現在%(show_value)s文字）。"
DESCRIPTION_MAX = 5000
MAX_DATES = 30
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]


def _plain_messages(form: forms.BaseForm) -> None:
    """Django's Japanese messages for a NUL character and over-long text do not say what is
    wrong; these do."""
    for field in form.fields.values():
        field.error_messages["max_length"] = MAX_LENGTH_MESSAGE
        field.validators = [
            ProhibitNullCharactersValidator(message=NUL_MESSAGE)
            if isinstance(validator, ProhibitNullCharactersValidator)
            else validator
            for validator in field.validators
        ]


def _datetime_field(label: str, required: bool = True, help_text: str = "") -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=required,
        input_formats=DATETIME_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "class": "form-control"}, format="%Y-%m-%dT%H:%M"),
        help_text=help_text,
        error_messages={"invalid": "日時の形式が正しくありません。", "required": "入力してください。"},
    )


class EventForm(forms.ModelForm):
    description = forms.CharField(
        label="説明",
        required=False,
        max_length=DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 5}),
        help_text="申込ページに表示されます。改行とURLはそのまま表示されます（5,000文字まで）。",
    )

    online_url = forms.URLField(
        label="オンラインURL",
        required=False,
        max_length=500,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"class": "form-control", "placeholder": "https://"}),
        error_messages={"invalid": "URLの形式が正しくありません（https:// から入力してください）。"},
    )

    class Meta:
        model = Event
        fields = [
            "title",
            "description",
            "place",
            "online_url",
            "belongings",
            "contact",
            "is_published",
            "reminder_enabled",
            "confirmation_subject",
            "confirmation_body",
            "reminder_subject",
            "reminder_body",
        ]
        widgets = {
            "title": forms.TextInput(attrs={"class": "form-control", "placeholder": "例：会社説明会（オンライン）"}),
            "place": forms.TextInput(
                attrs={"class": "form-control", "placeholder": "例：本社 10階セミナールーム（東京都千代田区…）"}
            ),
            "belongings": forms.TextInput(attrs={"class": "form-control", "placeholder": "例：筆記用具"}),
            "contact": forms.TextInput(
                attrs={"class": "form-control", "placeholder": "例：人事部 新卒採用担当 recruit@example.com"}
            ),
            "confirmation_subject": forms.TextInput(
                attrs={"class": "form-control", "placeholder": "空欄：自動送信メール設定の件名"}
            ),
            "confirmation_body": forms.Textarea(
                attrs={
                    "class": "form-control font-monospace-ja",
                    "rows": 6,
                    "placeholder": "空欄：自動送信メール設定の本文",
                }
            ),
            "reminder_subject": forms.TextInput(
                attrs={"class": "form-control", "placeholder": "空欄：自動送信メール設定の件名"}
            ),
            "reminder_body": forms.Textarea(
                attrs={
                    "class": "form-control font-monospace-ja",
                    "rows": 6,
                    "placeholder": "空欄：自動送信メール設定の本文",
                }
            ),
            "is_published": forms.CheckboxInput(attrs={"class": "form-check-input"}),
            "reminder_enabled": forms.CheckboxInput(attrs={"class": "form-check-input"}),
        }
        labels = {
            "is_published": "公開する（申込を受け付ける）",
            "reminder_enabled": "開催前日にリマインドメールを送る",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _plain_messages(self)
        self.fields["title"].error_messages["required"] = "イベント名を入力してください。"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for kind, prefix in ((notices.CONFIRMATION_KIND, "confirmation"), (notices.REMINDER_KIND, "reminder")):
            names = notices.refused_placeholders(
                kind, data.get(f"{prefix}_subject") or "", data.get(f"{prefix}_body") or ""
            )
            for name in dict.fromkeys(names):
                self.add_error(f"{prefix}_body", f"{{{{{name}}}}} はこのメールでは使えません。")
        return data


def default_deadline(starts_at: datetime, now: datetime) -> datetime:
    """The day before at 23:59 (Asia/Tokyo); the start itself when that is already past."""
    day_before = timezone.localtime(starts_at).date() - timedelta(days=1)
    deadline = timezone.make_aware(datetime.combine(day_before, time(23, 59)))
    return deadline if deadline > now else starts_at


class DateForm(forms.Form):
    pk = forms.IntegerField(required=False, widget=forms.HiddenInput)
    starts_at = _datetime_field("開始日時")
    ends_at = _datetime_field("終了日時")
    capacity = forms.IntegerField(
        label="定員",
        min_value=1,
        max_value=100000,
        widget=forms.NumberInput(attrs={"class": "form-control", "min": 1}),
        error_messages={
            "required": "定員を入力してください。",
            "min_value": "定員は1名以上にしてください。",
            "invalid": "定員は数字で入力してください。",
        },
    )
    application_deadline = _datetime_field("申込締切", required=False, help_text="空欄：前日23:59")
    cancel_deadline = _datetime_field("キャンセル締切", required=False, help_text="空欄：前日23:59")
    place = forms.CharField(
        label="会場（この日程のみ）",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"class": "form-control", "placeholder": "空欄：イベントの会場"}),
    )

    def __init__(self, *args: Any, now: datetime | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.now = now or timezone.now()
        _plain_messages(self)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("starts_at"), data.get("ends_at")
        if self.errors or start is None or end is None:
            return data
        if end <= start:
            self.add_error("ends_at", "終了日時は開始日時より後にしてください。")
        if data.get("pk") is None and start <= self.now:
            self.add_error("starts_at", "過去の日時には日程を作成できません。")
        for name in ("application_deadline", "cancel_deadline"):
            if data.get(name) is None:
                data[name] = default_deadline(start, self.now)
            elif data[name] > start:
                self.add_error(name, "締切は開始日時より前にしてください。")
        return data

    def date_input(self) -> DateInput:
        data = self.cleaned_data
        return DateInput(
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            capacity=data["capacity"],
            application_deadline=data["application_deadline"],
            cancel_deadline=data["cancel_deadline"],
            place=data.get("place") or "",
            pk=data.get("pk"),
        )


class BaseDateFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        if not self.date_inputs():
            raise forms.ValidationError("日程を1つ以上登録してください。")

    def date_inputs(self) -> list[DateInput]:
        """The rows to save: new rows filled in and the existing dates (not deleted)."""
        return [
            form.date_input()
            for form in self.forms
            if not _deleted(form) and (form.has_changed() or form.cleaned_data.get("pk"))
        ]

    def deleted_ids(self) -> list[int]:
        return [pk for form in self.forms if _deleted(form) and (pk := _int(form["pk"].value())) is not None]


def _deleted(form: forms.Form) -> bool:
    return bool(getattr(form, "cleaned_data", {}).get("DELETE"))


def _int(value: object) -> int | None:
    text = str(value or "")
    return int(text) if text.isdigit() and len(text) < 18 else None


DateFormSet = forms.formset_factory(
    DateForm,
    formset=BaseDateFormSet,
    extra=1,
    can_delete=True,
    max_num=MAX_DATES,
    validate_max=True,
    absolute_max=MAX_DATES,
)


def date_initial(date: EventDate) -> dict[str, Any]:
    return {
        "pk": date.pk,
        "starts_at": timezone.localtime(date.starts_at),
        "ends_at": timezone.localtime(date.ends_at),
        "capacity": date.capacity,
        "application_deadline": timezone.localtime(date.application_deadline),
        "cancel_deadline": timezone.localtime(date.cancel_deadline),
        "place": date.place,
    }


def date_formset(
    data: Any = None, dates: list[EventDate] | None = None, now: datetime | None = None
) -> BaseDateFormSet:
    initial = [date_initial(date) for date in dates or []]
    return cast(BaseDateFormSet, DateFormSet(data, initial=initial, prefix="dates", form_kwargs={"now": now}))


class PublicApplicationForm(forms.Form):
    last_name = forms.CharField(label="姓", max_length=50)
    first_name = forms.CharField(label="名", max_length=50)
    last_name_kana = forms.CharField(label="セイ", max_length=50)
    first_name_kana = forms.CharField(label="メイ", max_length=50)
    email = forms.EmailField(
        label="メールアドレス", max_length=254, error_messages={"invalid": "メールアドレスの形式が正しくありません。"}
    )
    university = forms.CharField(label="大学", max_length=100)
    graduation_year = forms.TypedChoiceField(label="卒業予定年", coerce=int)
    date = forms.TypedChoiceField(label="参加する日程", coerce=int, widget=forms.RadioSelect)

    def __init__(self, *args: Any, dates: list[EventDate], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _plain_messages(self)
        for field in self.fields.values():
            field.error_messages["required"] = f"{field.label}を入力してください。"
            if not isinstance(field.widget, forms.RadioSelect | forms.Select):
                field.widget.attrs.setdefault("class", "form-control form-control-lg")
        self.fields["date"].error_messages["required"] = "参加する日程を選んでください。"
        cast(forms.ChoiceField, self.fields["date"]).choices = [(date.pk, str(date.pk)) for date in dates]
        low, high = graduation_year_bounds()
        years = [(year, f"{year}年") for year in range(low + 4, high)]
        cast(forms.ChoiceField, self.fields["graduation_year"]).choices = [("", "選択してください"), *years]
        self.fields["graduation_year"].widget.attrs["class"] = "form-select form-select-lg"
        self.fields["graduation_year"].error_messages["required"] = "卒業予定年を選んでください。"
        self.fields["email"].widget.attrs.update({"autocomplete": "email", "inputmode": "email"})
        for name in ("last_name_kana", "first_name_kana"):
            self.fields[name].widget.attrs["placeholder"] = "カタカナ"

    def applicant(self) -> Applicant:
        data = self.cleaned_data
        return Applicant(
            last_name=data["last_name"],
            first_name=data["first_name"],
            last_name_kana=data["last_name_kana"],
            first_name_kana=data["first_name_kana"],
            email=data["email"],
            university=data["university"],
            graduation_year=data["graduation_year"],
        )
