"""Recording a result (one candidate or the list's selection) and one stage and result's
notice setting."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import ProhibitNullCharactersValidator

from candidates.models import Stage
from hrmos.forms import NUL_MESSAGE
from messaging.message_templates.forms import HOUR_CHOICES, AutomaticSettingForm
from results import notices
from results.models import NOTE_MAX, NoticeSetting, Outcome

MAX_DELAY_DAYS = 30
NOTE_TOO_LONG = f"メモは{NOTE_MAX:,}文字以内で入力してください（%(show_value)d文字あります）。"


def _note_field() -> forms.CharField:
    field = forms.CharField(
        label="メモ",
        required=False,
        max_length=NOTE_MAX,
        error_messages={"max_length": NOTE_TOO_LONG},
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": "評価のポイント、面接官のコメントなど（候補者には送られません）"}
        ),
    )
    field.validators = [
        ProhibitNullCharactersValidator(message=NUL_MESSAGE)
        if isinstance(validator, ProhibitNullCharactersValidator)
        else validator
        for validator in field.validators
    ]
    return field


def _outcome_field() -> forms.ChoiceField:
    return forms.ChoiceField(
        label="選考結果",
        choices=Outcome.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "選考結果（合格・不合格・保留）を選んでください。",
            "invalid_choice": "選考結果（合格・不合格・保留）を選んでください。",
        },
    )


class RecordForm(forms.Form):
    """The candidate page's form: which step, the result, a note, and whether a 合格 moves
    the candidate on."""

    stage = forms.ModelChoiceField(
        label="選考ステップ",
        queryset=Stage.objects.none(),
        empty_label=None,
        error_messages={
            "required": "選考ステップを選んでください。",
            "invalid_choice": "この選考ステップには選考結果を登録できません。選択肢から選んでください。",
        },
    )
    outcome = _outcome_field()
    note = _note_field()
    move = forms.BooleanField(label="合格の場合、次の選考ステップに進める", required=False, initial=True)

    def __init__(self, *args: Any, stages: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["stage"].queryset = stages  # type: ignore[attr-defined]


class BulkRecordForm(forms.Form):
    """The list's bulk action: one result for every selected candidate at their own step."""

    outcome = _outcome_field()
    note = _note_field()
    move = forms.BooleanField(label="合格の場合、次の選考ステップに進める", required=False, initial=True)


class NoticeSettingForm(AutomaticSettingForm):
    """A stage and result's notice: on/off, when, and its text (checked like the 自動送信メール
    設定 page's: only the placeholders this email can fill)."""

    timing = forms.ChoiceField(
        label="送信タイミング",
        choices=NoticeSetting.Timing.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "送信タイミングを選んでください。",
            "invalid_choice": "送信タイミングを選んでください。",
        },
    )
    delay_days = forms.IntegerField(
        label="日後",
        min_value=0,
        max_value=MAX_DELAY_DAYS,
        error_messages={
            "required": "何日後に送るかを入力してください。",
            "invalid": "日数は半角数字で入力してください。",
            "min_value": "日数は0〜30で入力してください（0は当日）。",
            "max_value": "日数は0〜30で入力してください（0は当日）。",
        },
    )
    notice_hour = forms.TypedChoiceField(
        label="送信時刻",
        choices=HOUR_CHOICES,
        coerce=int,
        error_messages={
            "invalid_choice": "送信時刻は0時〜23時から選んでください。",
            "required": "送信時刻を選んでください。",
        },
    )

    def __init__(self, *args: Any, outcome: str, **kwargs: Any) -> None:
        super().__init__(*args, info=notices.AUTOMATIC_KIND, **kwargs)
        self.outcome = outcome
        # Several outcomes share one page: ids must not collide.
        self.auto_id = f"id_{outcome}_%s"
        self.fields["subject"].error_messages["required"] = "件名を入力してください。"
        self.fields["body"].error_messages["required"] = "本文を入力してください。"
        for field in ("subject", "body"):
            self.fields[field].widget.attrs["id"] = f"id_{outcome}_{field}"

    def setting_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "enabled": self.chosen_enabled(),
            "timing": data["timing"],
            "delay_days": data["delay_days"],
            "hour": data["notice_hour"],
            "subject": data["subject"],
            "body": data["body"],
        }


def notice_initial(notice: notices.Notice) -> dict[str, Any]:
    return {
        "enabled": "1" if notice.switched_on else "0",
        "timing": notice.timing,
        "delay_days": notice.delay_days,
        "notice_hour": notice.hour,
        "subject": notice.subject,
        "body": notice.body,
    }
