"""Personal form links (フォームURL): what messaging calls when a message goes out."""

import hashlib
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from customforms.links import find_link, form_choices, issue_form_link, link_for_token
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


def test_the_choices_for_compose_are_the_companys_forms_taking_answers(company, other_company):
    open_form = make_form(company, name="ES")
    make_form(company, name="非公開", is_published=False)
    make_form(company, name="締切済み", deadline=timezone.now() - timedelta(minutes=1))
    make_form(other_company, name="よその会社")
    [(pk, label)] = form_choices(company)
    assert pk == open_form.pk
    assert label == f"ES（回答期限 {timezone.localtime(open_form.deadline):%Y年%-m月%-d日 %H:%M}）"


def test_a_token_given_by_messaging_is_stored_once_however_often_it_comes(company, candidate):
    form = make_form(company)
    token = "t" * 43
    first = link_for_token(candidate, form, token, timezone.now())
    again = link_for_token(candidate, form, token, timezone.now())
    assert first == again and FormLink.objects.count() == 1
    assert first.token_hash == hashlib.sha256(token.encode()).hexdigest() and find_link(token) == first


def test_a_token_for_another_companys_candidate_is_refused(company, other_company):
    with pytest.raises(ValueError):
        link_for_token(make_candidate(other_company), make_form(company), "t" * 43, timezone.now())
    assert not FormLink.objects.exists()
