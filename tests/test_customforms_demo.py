"""The demo seed's forms: an エントリーシート answered by three demo candidates, a survey."""

from io import StringIO

import pytest
from django.core.management import call_command

from customforms.models import Form, FormAnswer, FormLink, FormResponse
from hrmos.models import Company

pytestmark = pytest.mark.django_db


def seed() -> None:
    call_command("seed_demo", stdout=StringIO())


def counts() -> tuple[int, ...]:
    return tuple(model.objects.count() for model in (Form, FormResponse, FormAnswer, FormLink))


def test_the_demo_has_two_forms_one_answered_with_a_file():
    seed()
    company = Company.objects.get(name="株式会社デモ商事")
    forms = {form.name: form for form in Form.objects.filter(company=company)}
    assert set(forms) == {"エントリーシート", "説明会アンケート"}
    assert all(form.is_published and form.live_fields().exists() for form in forms.values())
    assert forms["エントリーシート"].responses.count() == 3 and not forms["説明会アンケート"].responses.exists()
    resumes = FormAnswer.objects.filter(kind="file").exclude(file="")
    assert [resume.file_content_type for resume in resumes] == ["application/pdf"] * 2
    personas = {"hanako.yamada@example.com", "kenta.sato@example.com", "misaki.suzuki@example.com"}
    assert not FormResponse.objects.filter(candidate__email__in=personas).exists()


def test_seeding_twice_changes_nothing():
    seed()
    before = counts()
    seed()
    assert counts() == before
