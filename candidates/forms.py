"""Forms for the candidate screens. Each takes the recruiter's company; choices never leak across."""

import re
import unicodedata
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile

from candidates import csv_io
from candidates.models import Agent, Candidate, Stage, graduation_year_bounds
from candidates.search import to_katakana
from hrmos.models import Company

NEW_AGENT = "new"
_PHONE = re.compile(r"^[0-9+\-() ]+$")

# For mypy the mixin is a form (it is only ever mixed into one); at run time it stays a plain mixin.
if TYPE_CHECKING:
    _MixinBase = forms.BaseForm
else:
    _MixinBase = object


class BootstrapFormMixin(_MixinBase):
    """Bootstrap classes on every widget, and `is-invalid` on fields with errors."""

    def _style_widgets(self) -> None:
        errors = getattr(self, "_errors", None) or {}
        for name, form_field in self.fields.items():
            widget = form_field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            if name in errors:
                css += " is-invalid"
            widget.attrs["class"] = css

    def full_clean(self) -> None:
        super().full_clean()
        self._style_widgets()


class CandidateForm(BootstrapFormMixin, forms.ModelForm):
    agent_choice = forms.ChoiceField(label="エージェント", required=False)
    new_agent_agency_name = forms.CharField(label="エージェント会社名", max_length=200, required=False)
    new_agent_contact_name = forms.CharField(label="担当者名", max_length=100, required=False)
    new_agent_contact_email = forms.EmailField(label="担当者メールアドレス", required=False)

    class Meta:
        model = Candidate
        fields = [
            "last_name",
            "first_name",
            "last_name_kana",
            "first_name_kana",
            "email",
            "phone",
            "university",
            "faculty",
            "graduation_year",
            "stage",
            "memo",
        ]
        widgets = {
            "memo": forms.Textarea(attrs={"rows": 4}),
            "email": forms.EmailInput(attrs={"placeholder": "例: hanako.yamada@example.com", "autocomplete": "off"}),
            "phone": forms.TextInput(attrs={"placeholder": "例: 090-1234-5678", "inputmode": "tel"}),
            "last_name": forms.TextInput(attrs={"placeholder": "例: 山田"}),
            "first_name": forms.TextInput(attrs={"placeholder": "例: 花子"}),
            "last_name_kana": forms.TextInput(attrs={"placeholder": "例: ヤマダ"}),
            "first_name_kana": forms.TextInput(attrs={"placeholder": "例: ハナコ"}),
            "university": forms.TextInput(attrs={"placeholder": "例: 東京大学"}),
            "faculty": forms.TextInput(attrs={"placeholder": "例: 経済学部 経済学科"}),
        }
        error_messages = {"last_name": {"required": "姓を入力してください。"}}

    def __init__(self, *args: Any, company: Company, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.company = company
        stage_field = self.fields["stage"]
        assert isinstance(stage_field, forms.ModelChoiceField)
        stage_field.queryset = Stage.objects.for_company(company)
        stage_field.empty_label = None
        if not self.instance.pk:
            stage_field.initial = stage_field.queryset.first()
        low, high = graduation_year_bounds()
        year_field = self.fields["graduation_year"]
        year_field.widget = forms.NumberInput(attrs={"min": low, "max": high, "placeholder": f"例: {low + 7}"})
        self.agents = {str(agent.pk): agent for agent in Agent.objects.for_company(company)}
        agent_field = self.fields["agent_choice"]
        assert isinstance(agent_field, forms.ChoiceField)
        agent_field.choices = [
            ("", "なし"),
            *((pk, str(agent)) for pk, agent in self.agents.items()),
            (NEW_AGENT, "＋ 新しいエージェントを登録…"),
        ]
        if self.instance.agent_id:
            agent_field.initial = str(self.instance.agent_id)
        self._style_widgets()

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if (
            email
            and Candidate.objects.for_company(self.company).filter(email=email).exclude(pk=self.instance.pk).exists()
        ):
            raise ValidationError(csv_io.DUPLICATE_EMAIL_MESSAGE, code="duplicate")
        return email

    def clean_last_name_kana(self) -> str:
        return to_katakana(self.cleaned_data["last_name_kana"])

    def clean_first_name_kana(self) -> str:
        return to_katakana(self.cleaned_data["first_name_kana"])

    def clean_phone(self) -> str:
        phone = unicodedata.normalize("NFKC", self.cleaned_data["phone"]).strip()
        if phone and not _PHONE.match(phone):
            raise ValidationError("電話番号は数字とハイフンで入力してください。")
        return phone

    def clean_graduation_year(self) -> int | None:
        year = self.cleaned_data["graduation_year"]
        low, high = graduation_year_bounds()
        if year is not None and not low <= year <= high:
            raise ValidationError(f"卒業年度は{low}〜{high}の範囲で入力してください。")
        return year

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        choice = cleaned.get("agent_choice") or ""
        if choice == NEW_AGENT:
            if not cleaned.get("new_agent_agency_name", "").strip():
                self.add_error("new_agent_agency_name", "エージェント会社名を入力してください。")
        else:
            # The choice list is built from the company's agents, so an unknown pk cannot get here.
            self.instance.agent = self.agents.get(choice)
        return cleaned

    @property
    def wants_new_agent(self) -> bool:
        return self.cleaned_data.get("agent_choice") == NEW_AGENT

    def new_agent(self) -> Agent:
        return Agent(
            company=self.company,
            agency_name=self.cleaned_data["new_agent_agency_name"].strip(),
            contact_name=self.cleaned_data["new_agent_contact_name"].strip(),
            contact_email=self.cleaned_data["new_agent_contact_email"].strip().lower(),
        )


class AgentForm(BootstrapFormMixin, forms.ModelForm):
    class Meta:
        model = Agent
        fields = ["agency_name", "contact_name", "contact_email"]
        widgets = {
            "agency_name": forms.TextInput(attrs={"placeholder": "例: 株式会社キャリアブリッジ"}),
            "contact_name": forms.TextInput(attrs={"placeholder": "例: 佐藤 健"}),
            "contact_email": forms.EmailInput(attrs={"placeholder": "例: sato@agent.example.com"}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style_widgets()


class ImportUploadForm(BootstrapFormMixin, forms.Form):
    file = forms.FileField(
        label="CSVファイル",
        error_messages={"required": "CSVファイルを選んでください。", "empty": "ファイルが空です。"},
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style_widgets()

    def clean_file(self) -> UploadedFile:
        upload = self.cleaned_data["file"]
        if upload.size > csv_io.MAX_UPLOAD_BYTES:
            raise ValidationError(
                f"ファイルが大きすぎます（{csv_io.MAX_UPLOAD_BYTES // (1024 * 1024)}MBまで）。分割してください。"
            )
        return upload


class ImportMappingForm(BootstrapFormMixin, forms.Form):
    """One select per CSV column: which candidate field it fills, or none."""

    def __init__(self, *args: Any, header: list[str], mapping: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "（取り込まない）"), *((t.key, t.label) for t in csv_io.TARGETS)]
        for index, title in enumerate(header):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                label=title or f"（{index + 1}列目）",
                choices=choices,
                required=False,
                initial=mapping[index] if index < len(mapping) else "",
            )
        self._style_widgets()

    def mapping(self) -> list[str]:
        return [self.cleaned_data.get(f"col_{index}", "") for index in range(len(self.fields))]


class BulkStageForm(forms.Form):
    stage = forms.ModelChoiceField(
        queryset=Stage.objects.none(), error_messages={"required": "選考ステップを選んでください。"}
    )

    def __init__(self, *args: Any, company: Company, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        stage_field = self.fields["stage"]
        assert isinstance(stage_field, forms.ModelChoiceField)
        stage_field.queryset = Stage.objects.for_company(company)
