"""Personal form links (フォームURL): what messaging calls when a message goes out."""

import hashlib
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from customforms.links import find_link, form_choices, issue_form_link, placeholder_values
from customforms.models import FormLink
from tests.conftest import make_candidate
from tests.customforms_support import make_form

pytestmark = pytest.mark.django_db


def test_a_link_is_an_absolute_url_whose_token_is_stored_only_as_its_hash(company, candidate, settings):
    form = make_form(company)
    url = issue_form_link(candidate, form, timezone.now())
    token = url.removeprefix(f"{settings.SITE_URL}/f/").rstrip("/")
    assert url == f"{settings.SITE_URL}/f/{token}/" and len(token) >= 40
    link = FormLink.objects.get()
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(FormLink.objects.values().get())
    assert find_link(token) == link and (link.form, link.candidate) == (form, candidate)


def test_every_send_mints_a_new_link_and_all_lead_to_the_same_answer(company, candidate):
    form = make_form(company)
    first, second = (issue_form_link(candidate, form, timezone.now()) for _ in range(2))
    assert first != second and FormLink.objects.count() == 2


def test_a_link_for_another_companys_candidate_is_refused(company, other_company):
    with pytest.raises(ValueError):
        issue_form_link(make_candidate(other_company), make_form(company), timezone.now())


def test_unknown_or_absurd_tokens_find_nothing(company, candidate):
    issue_form_link(candidate, make_form(company), timezone.now())
    assert find_link("") is None and find_link("x" * 201) is None and find_link("nope") is None


def test_a_link_expires_with_its_forms_deadline_and_follows_a_new_one(client, company, candidate, settings):
    deadline = timezone.now() + timedelta(days=1)
    form = make_form(company, deadline=deadline)
    path = issue_form_link(candidate, form, timezone.now()).removeprefix(settings.SITE_URL)
    with time_machine.travel(deadline + timedelta(hours=1)):
        assert client.get(path).status_code == 410
        form.deadline = timezone.now() + timedelta(days=1)
        form.save()
        assert client.get(path).status_code == 200


def test_placeholder_values_and_the_choices_for_compose(company, other_company):
    open_form = make_form(company, name="ES")
    make_form(company, name="非公開", is_published=False)
    make_form(company, name="締切済み", deadline=timezone.now() - timedelta(minutes=1))
    make_form(other_company, name="よその会社")
    assert [pk for pk, _label in form_choices(company)] == [open_form.pk]
    assert form_choices(company)[0][1].startswith("ES（回答期限 ")
    values = placeholder_values(open_form)
    assert values["フォーム名"] == "ES" and values["回答期限"].endswith(
        timezone.localtime(open_form.deadline).strftime("%H:%M")
    )
