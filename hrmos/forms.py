"""The recruiter's own profile: the name and department their messages are signed with."""

from django import forms

from hrmos.models import User


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["last_name", "first_name", "department"]
        widgets = {"department": forms.TextInput(attrs={"placeholder": "例：人事部 新卒採用課"})}
