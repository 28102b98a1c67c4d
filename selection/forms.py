"""The recruiter's forms: a schedule, one slot, slots in bulk, a room, an interview."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms

from candidates.models import Stage
from hrmos.models import Company, User
from selection.actions import BulkSlots
from selection.models import Interview, Room, Schedule

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
WEEKDAY_CHOICES = [(str(i), name) for i, name in enumerate("月火水木金土日")]


def _datetime_field(label: str) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        input_formats=DATETIME_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "class": "form-control"}, format="%Y-%m-%dT%H:%M"),
        error_messages={"invalid": "日時の形式が正しくありません。", "required": f"{label}を入力してください。"},
    )


def _url_field() -> forms.URLField:
    return forms.URLField(
        label="オンライン面接URL",
        required=False,
        max_length=500,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"class": "form-control", "placeholder": "https://"}),
        error_messages={"invalid": "URLの形式が正しくありません（https:// から入力してください）。"},
    )


def recruiters(company: Company) -> Any:
    return User.objects.filter(company=company, is_active=True).order_by("last_name", "first_name", "pk")


class InterviewerChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.display_name


class CompanyChoicesMixin:
    fields: dict[str, forms.Field]

    def _scope(self, company: Company) -> None:
        self.fields["stage"].queryset = Stage.objects.filter(company=company)  # type: ignore[attr-defined]
        self.fields["room"].queryset = Room.objects.filter(company=company)  # type: ignore[attr-defined]
        self.fields["interviewers"].queryset = recruiters(company)  # type: ignore[attr-defined]


class ScheduleForm(CompanyChoicesMixin, forms.ModelForm):
    online_url = _url_field()
    interviewers = InterviewerChoice(
        queryset=User.objects.none(),
        required=False,
        label="面接官",
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )

    class Meta:
        model = Schedule
        fields = [
            "name",
            "stage",
            "duration_minutes",
            "interviewers",
            "room",
            "place",
            "online_url",
            "deadline_days",
            "reminder_days",
        ]
        widgets = {
            "name": forms.TextInput(attrs={"class": "form-control"}),
            "stage": forms.Select(attrs={"class": "form-select"}),
            "duration_minutes": forms.NumberInput(attrs={"class": "form-control", "min": 5, "max": 480, "step": 5}),
            "room": forms.Select(attrs={"class": "form-select"}),
            "place": forms.TextInput(attrs={"class": "form-control"}),
            "deadline_days": forms.NumberInput(attrs={"class": "form-control", "min": 0, "max": 14}),
            "reminder_days": forms.NumberInput(attrs={"class": "form-control", "min": 1, "max": 14}),
        }
        error_messages = {"name": {"required": "日程調整名を入力してください。"}}
        help_texts = {
            "name": "例：一次面接（候補者にも表示されます）",
            "deadline_days": "1なら面接の前日まで、0なら開始時刻まで候補者が予約・変更・キャンセルできます。",
            "reminder_days": "依頼してからこの日数たっても未回答の候補者に、リマインドメールを送ります（最大3回）。",
        }

    def __init__(self, *args: Any, company: Company, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._scope(company)

    def clean_duration_minutes(self) -> int:
        minutes = self.cleaned_data["duration_minutes"]
        if not 5 <= minutes <= 480:
            raise forms.ValidationError("所要時間は5〜480分で指定してください。")
        return minutes

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("interviewers") and not data.get("room"):
            raise forms.ValidationError("面接官か会議室のどちらかを指定してください（重複予約を防ぐため）。")
        return data


class SlotForm(forms.Form):
    start_at = _datetime_field("開始")

    def start(self) -> datetime:
        return self.cleaned_data["start_at"]


class BulkSlotForm(forms.Form):
    first_day = forms.DateField(label="開始日", widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}))
    last_day = forms.DateField(label="終了日", widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}))
    weekdays = forms.MultipleChoiceField(
        label="曜日",
        choices=WEEKDAY_CHOICES,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        initial=["0", "1", "2", "3", "4"],
        error_messages={"required": "曜日を1つ以上選んでください。"},
    )
    day_start = forms.TimeField(
        label="時間帯（開始）", widget=forms.TimeInput(attrs={"type": "time", "class": "form-control"})
    )
    day_end = forms.TimeField(
        label="時間帯（終了）", widget=forms.TimeInput(attrs={"type": "time", "class": "form-control"})
    )
    minutes = forms.IntegerField(
        label="1枠の長さ（分）", min_value=5, max_value=480, widget=forms.NumberInput(attrs={"class": "form-control"})
    )

    def spec(self) -> BulkSlots:
        data = self.cleaned_data
        return BulkSlots(
            first_day=data["first_day"],
            last_day=data["last_day"],
            weekdays=frozenset(int(day) for day in data["weekdays"]),
            day_start=data["day_start"],
            day_end=data["day_end"],
            minutes=data["minutes"],
        )


class RoomForm(forms.ModelForm):
    class Meta:
        model = Room
        fields = ["name"]
        widgets = {"name": forms.TextInput(attrs={"class": "form-control", "placeholder": "例：本社 5F 会議室A"})}
        error_messages = {"name": {"required": "会議室名を入力してください。"}}


class InterviewForm(CompanyChoicesMixin, forms.ModelForm):
    online_url = _url_field()
    start_at = _datetime_field("開始")
    end_at = _datetime_field("終了")
    interviewers = InterviewerChoice(
        queryset=User.objects.none(),
        required=False,
        label="面接官",
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )
    status = forms.ChoiceField(
        label="状態",
        choices=[(Interview.Status.CONFIRMED, "確定"), (Interview.Status.ADJUSTING, "調整中")],
        widget=forms.Select(attrs={"class": "form-select"}),
        help_text="「調整中」は面接官・会議室の予定を押さえません（確定にすると重複がないか確認します）。",
    )

    class Meta:
        model = Interview
        fields = ["stage", "start_at", "end_at", "interviewers", "room", "place", "online_url", "status", "note"]
        widgets = {
            "stage": forms.Select(attrs={"class": "form-select"}),
            "room": forms.Select(attrs={"class": "form-select"}),
            "place": forms.TextInput(attrs={"class": "form-control"}),
            "note": forms.Textarea(attrs={"class": "form-control", "rows": 3}),
        }

    def __init__(self, *args: Any, company: Company, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._scope(company)
        if self.instance.pk and self.instance.status not in (Interview.Status.CONFIRMED, Interview.Status.ADJUSTING):
            current = (self.instance.status, self.instance.get_status_display())
            self.fields["status"].choices = [*self.fields["status"].choices, current]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start_at"), data.get("end_at")
        if start and end and end <= start:
            self.add_error("end_at", "終了は開始より後の時刻にしてください。")
        return data
