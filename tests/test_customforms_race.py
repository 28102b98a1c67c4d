"""Two submissions of the same candidate's answer racing on PostgreSQL (a double tap, two
tabs): a once-only form keeps exactly one answer; an editable form ends with one whole answer,
never a mix of the two."""

import threading

import pytest
from django.db import connections
from django.utils import timezone

from customforms import actions
from customforms.answer_forms import AnswerInput
from customforms.links import create_link
from customforms.models import Form, FormAnswer, FormResponse
from tests.conftest import make_candidate
from tests.customforms_support import Kind, make_form

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

FIELDS = [{"kind": Kind.SHORT_TEXT, "label": "一"}, {"kind": Kind.SHORT_TEXT, "label": "二"}]
ROUNDS = 30


def race(form: Form, candidate) -> dict[str, object]:
    links = [create_link(candidate, form, timezone.now())[0] for _ in range(2)]
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def submit(name: str, link) -> None:
        items = [AnswerInput(field, f"{name}-{field.label}") for field in form.live_fields()]
        barrier.wait()
        try:
            actions.submit_response(link, items)
            outcomes[name] = "stored"
        except actions.SubmitRefused as refused:
            outcomes[name] = refused.reason
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=(name, link)) for name, link in zip("ab", links, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def stored_values(candidate) -> set[str]:
    return set(FormAnswer.objects.filter(response__candidate=candidate).values_list("value", flat=True))


def test_a_once_only_form_keeps_exactly_one_of_two_racing_answers(company):
    form = make_form(company, FIELDS)
    for round_number in range(ROUNDS):
        candidate = make_candidate(company, email=f"once{round_number}@example.com")
        outcomes = race(form, candidate)
        assert sorted(map(str, outcomes.values())) == ["answered", "stored"], outcomes
        winner = next(name for name, outcome in outcomes.items() if outcome == "stored")
        assert FormResponse.objects.filter(candidate=candidate).count() == 1
        assert stored_values(candidate) == {f"{winner}-一", f"{winner}-二"}


def test_an_editable_form_ends_with_one_whole_answer_of_two_racing(company):
    form = make_form(company, FIELDS, answer_policy=Form.AnswerPolicy.EDITABLE)
    for round_number in range(ROUNDS):
        candidate = make_candidate(company, email=f"edit{round_number}@example.com")
        assert race(form, candidate) == {"a": "stored", "b": "stored"}
        response = FormResponse.objects.get(candidate=candidate)
        assert response.edit_count == 1
        assert stored_values(candidate) in ({"a-一", "a-二"}, {"b-一", "b-二"})


def test_two_racing_edits_of_an_answer_are_both_counted_and_one_wins_whole(company):
    form = make_form(company, FIELDS, answer_policy=Form.AnswerPolicy.EDITABLE)
    for round_number in range(ROUNDS):
        candidate = make_candidate(company, email=f"again{round_number}@example.com")
        link, _token = create_link(candidate, form, timezone.now())
        actions.submit_response(link, [AnswerInput(field, "最初") for field in form.live_fields()])
        assert race(form, candidate) == {"a": "stored", "b": "stored"}
        assert FormResponse.objects.get(candidate=candidate).edit_count == 2
        assert stored_values(candidate) in ({"a-一", "a-二"}, {"b-一", "b-二"})
