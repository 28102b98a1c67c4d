"""The recruiter's own profile (the name and department their messages are signed with), and
the plain NUL message every app's forms use."""

from collections.abc import Iterable
from typing import Any

from django import forms
from django.core.validators import ProhibitNullCharactersValidator

from hrmos.models import User

NUL_MESSAGE = "使用できない文字（NUL文字）が含まれています。取り除いてから保存してください。"


def use_plain_nul_message(fields: Iterable[forms.Field]) -> None:
    """Django's own Japanese text for a NUL character does not say what is wrong."""
    for field in fields:
        field.validators = [
            ProhibitNullCharactersValidator(message=NUL_MESSAGE)
            if isinstance(validator, ProhibitNullCharactersValidator)
            else validator
            for validator in field.validators
        ]


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["last_name", "first_name", "department"]
        widgets = {"department": forms.TextInput(attrs={"placeholder": "例：人事部 新卒採用課"})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        use_plain_nul_message(self.fields.values())
